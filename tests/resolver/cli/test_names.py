"""`faß.de` is one name everywhere: the block, the check and the score all speak of xn--fa-hia.de."""

import json

from fraudwall.resolver.cli import main


def test_block_check_and_score_speak_of_one_spelling_of_an_idn(tmp_path, capsys, monkeypatch):
    # No config file: the defaults, with the state directory (and the store) under tmp_path.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "store.db")
    assert main(["block", "faß.de", "--db", db]) == 0
    blocked = capsys.readouterr().out
    assert "xn--fa-hia.de" in blocked and "fass.de" not in blocked
    assert main(["check", "xn--fa-hia.de", "--db", db, "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["verdict"] == "blocked" and checked["name"] == "xn--fa-hia.de"
    assert main(["check", "fass.de", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "allowed"
    assert main(["score", "faß.de"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["name"] == "xn--fa-hia.de" and "fass" not in json.dumps(scored)
