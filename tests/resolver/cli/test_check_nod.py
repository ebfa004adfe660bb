"""`fraudwall check` says whether a name's domain is new to this network, and asking never makes it seen."""

import dataclasses
import json

from fraudwall.blocklists.seen import FILE_NAME, open_seen
from fraudwall.resolver.config import from_document

from tests.blocklists.blocklist_helpers import cli

MIDDLING = "account-verify.example.org"   # ~0.5: warned only when its domain is new


def store_config(tmp_path):
    config = from_document({}, "test.toml")
    return dataclasses.replace(config, blocklists=dataclasses.replace(config.blocklists, db=str(tmp_path / "s.db"),
                                                                      files=()))


def test_check_says_which_domains_are_new_and_leaves_them_new(tmp_path, capsys):
    config = store_config(tmp_path)
    assert cli("check", "www.example.net", config=config) == 0
    assert "new to this network" not in capsys.readouterr().out   # the resolver kept no memory yet: nothing said
    with open_seen(tmp_path / FILE_NAME, config.nod.size, config.nod.days) as seen:
        seen.observe("example.net")                             # the resolver was asked for it
    for _ in range(2):
        assert cli("check", "www.example.net", MIDDLING, "--json", config=config) == 0
        known, new = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert (known["domain"], known["newly_observed"], known["verdict"]) == ("example.net", False, "allowed")
        assert (new["domain"], new["newly_observed"], new["verdict"]) == ("example.org", True, "warned")
        assert new["reason"].startswith("newly observed: example.org is new to this network; scored 0.")
    assert cli("check", MIDDLING, "www.example.net", config=config) == 0
    new, known = capsys.readouterr().out.splitlines()
    assert new.startswith(f"warned {MIDDLING} by the scorer (words); newly observed: example.org is new")
    assert new.endswith("; example.org is new to this network")
    assert known == "allowed www.example.net (no entry); example.net was asked for here lately"
