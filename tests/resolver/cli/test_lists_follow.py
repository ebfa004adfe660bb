"""`fraudwall lists` ends with a line per followed list; one followed with a TSIG key says which."""

from types import SimpleNamespace

from fraudwall.blocklists.settings import BlocklistSettings, Follow

from tests.blocklists.blocklist_helpers import cli


def test_a_followed_list_with_a_key_names_it_after_its_primary(tmp_path, capsys):
    follows = (Follow("phish", "phish.rpz.example.org", "192.0.2.53:5353", "transfer-key", str(tmp_path / "xfr.key")),
               Follow("plain", "plain.rpz.example.org", "192.0.2.54"))
    config = SimpleNamespace(blocklists=BlocklistSettings(db=str(tmp_path / "store.db"), follow=follows),
                             scorer=SimpleNamespace(brands_file=""))
    assert cli("lists", config=config) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "phish follows phish.rpz.example.org. at 192.0.2.53:5353 key transfer-key: no transfer yet (`serve` refreshes it)",
        "plain follows plain.rpz.example.org. at 192.0.2.54: no transfer yet (`serve` refreshes it)",
    ]
