"""`fraudwall check` gives the resolver's verdict and the very reason its EDE, page and log give."""

import dataclasses
import json

import dns.message
import pytest
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.resolver.config import Config, from_document
from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.upstream_policy import Upstream
from fraudwall.resolver.server.worker import Resolver

from tests.blocklists.blocklist_helpers import cli, import_text
from tests.resolver.helpers import ede_of

UPSTREAMS = (Upstream("127.0.0.1", 9),)
POLICIES = {
    "access": {"allow": ["127.0.0.0/8", "192.0.2.0/24"]},
    "policy": [
        {"name": "security", "clients": ["192.0.2.0/28"], "mode": "off"},
        {"name": "staff", "clients": ["192.0.2.16/28"], "scorer": "warn"},
        {"name": "guests", "clients": ["192.0.2.128/25"], "sinkhole": {"policy": "nxdomain"}},
    ],
}


def store_config(tmp_path, document=None) -> Config:
    config = from_document(document or {}, "test.toml")
    return dataclasses.replace(config, blocklists=dataclasses.replace(config.blocklists, db=str(tmp_path / "s.db"),
                                                                      files=()))


def checked(capsys, config, *argv) -> list[dict]:
    assert cli("check", *argv, "--json", config=config) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def resolver_says(resolver: Resolver, name: str, client: str = "127.0.0.1") -> dns.message.Message:
    """What the resolver sends for `name`: answered at once for every name `check` blocks or answers itself."""
    sent = []
    resolver.handler.handle(dns.message.make_query(name, "A", use_edns=0).to_wire(), client, Transport.UDP,
                            sent.append)
    assert sent, f"{name} went upstream"
    return dns.message.from_wire(sent[0])


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "s.db"
    import_text(db, tmp_path, "phishing", "login.phish.example.net\n")
    return db


def test_check_and_the_resolver_give_one_verdict_and_one_reason(tmp_path, store, capsys):
    config = store_config(tmp_path)
    assert cli("block", "bad.example.net", "--reason", "reported by helpdesk ticket 42", config=config) == 0
    capsys.readouterr()
    names = ("paypa1.com", "login.phish.example.net", "bad.example.net")
    records = checked(capsys, config, *names)
    resolver = Resolver(config, StoreBlocklist(store), UPSTREAMS)
    for name, record in zip(names, records):
        assert record["verdict"] == "blocked"
        assert [text for _, text in ede_of(resolver_says(resolver, name))] == [record["reason"]]
    assert records[0]["reason"].startswith("scored 0.9") and "homoglyph of paypal.com" in records[0]["reason"]
    assert records[0]["score"]["rule"] == "homoglyph" and records[0]["ede"] == 17
    assert records[1]["reason"] == "listed in phishing (feed.txt:1)" and records[1]["list"] == "phishing"
    # The operator's --reason is what the EDE (and so the page and the log) says, not only check.
    assert records[2]["reason"] == "listed in manual (cli): reported by helpdesk ticket 42"


def test_check_text_names_the_entry_and_the_reason_people_see(tmp_path, store, capsys):
    config = store_config(tmp_path)
    assert cli("check", "paypa1.com", "www.example.org", "use-application-dns.net", config=config) == 0
    scorer, allowed, canary = capsys.readouterr().out.splitlines()
    assert scorer.startswith("blocked paypa1.com by the scorer (homoglyph); EDE 17: scored 0.9")
    assert allowed == "allowed www.example.org (no entry)"
    assert canary == "local use-application-dns.net; DoH canary: browsers keep using this resolver"


def test_the_doh_canary_gets_nxdomain_unless_turned_off(tmp_path, store, capsys):
    config = store_config(tmp_path)
    reply = resolver_says(Resolver(config, StoreBlocklist(store), UPSTREAMS), "use-application-dns.net")
    assert reply.rcode() == dns.rcode.NXDOMAIN
    quiet = store_config(tmp_path, {"server": {"doh_canary": False}})
    assert checked(capsys, quiet, "use-application-dns.net")[0]["verdict"] == "allowed"


def test_check_with_a_client_runs_its_policy(tmp_path, store, capsys):
    config = store_config(tmp_path, POLICIES)
    resolver = Resolver(config, StoreBlocklist(store), UPSTREAMS)
    for client, verdict, policy in (("192.0.2.1", "unfiltered", "security"), ("192.0.2.17", "warned", "staff"),
                                    ("192.0.2.200", "blocked", "guests"), ("127.0.0.1", "blocked", "default")):
        record, = checked(capsys, config, "paypa1.com", "--client", client)
        assert (record["verdict"], record["policy"]) == (verdict, policy), client
        if verdict == "blocked":
            reply = resolver_says(resolver, "paypa1.com", client)
            assert [text for _, text in ede_of(reply)] == [record["reason"]]
            assert record["reason"].endswith(f"(policy {policy})")
    assert resolver_says(resolver, "paypa1.com", "192.0.2.200").rcode() == dns.rcode.NXDOMAIN
    record, = checked(capsys, config, "login.phish.example.net", "--client", "192.0.2.17")
    assert record["verdict"] == "blocked"      # staff are warned for scorer hits only


def test_check_with_a_client_outside_access_says_refused(tmp_path, store, capsys):
    config = store_config(tmp_path)
    record, = checked(capsys, config, "www.example.org", "--client", "198.51.100.1")
    assert record["verdict"] == "refused" and record["reason"] == "client network not served"
    assert cli("check", "x.example.org", "--client", "not-an-address", config=config) == 2
    assert "--client 'not-an-address' is not an IP address" in capsys.readouterr().err


def test_check_says_what_the_client_is_sent(tmp_path, store, capsys):
    config = store_config(tmp_path, POLICIES)
    answers = {client: checked(capsys, config, "paypa1.com", "www.example.org", "--client", client)
               for client in ("127.0.0.1", "192.0.2.200", "192.0.2.1")}
    assert [record["answer"] for record in answers["127.0.0.1"]] == ["NOERROR 0.0.0.0", "forwarded"]
    assert [record["answer"] for record in answers["192.0.2.200"]] == ["NXDOMAIN", "forwarded"]
    assert [record["answer"] for record in answers["192.0.2.1"]] == ["forwarded", "forwarded"]
