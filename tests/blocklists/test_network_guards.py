"""Address and network entries cannot take the network down (issue 11, defect 2).

`0.0.0.0/0` in a feed (or `0.0.0.0.0.rpz-ip CNAME .`) would block every A/AAAA answer; a
feed entry covering the lab's own networks or the sinkhole would break the network itself.
"""

import pytest
from fraudwall.blocklists.guards import Guard, load_guards
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.resolver.cli import main

from .blocklist_helpers import import_text

PUBLIC = "100.128.0.0/24"      # just above CGNAT's 100.64.0.0/10: an ordinary public range


def fraudwall(*argv) -> int:
    return main([str(arg) for arg in argv])


@pytest.fixture
def guards():
    return load_guards(brands=lambda extra: [], public_suffixes=frozenset({"com"}), sinkhole=("100.130.0.53",))


@pytest.mark.parametrize("network, guard", [
    ("0.0.0.0/0", Guard.BROAD_NETWORK), ("::/0", Guard.BROAD_NETWORK), ("100.0.0.0/8", Guard.BROAD_NETWORK),
    ("100.128.0.0/15", Guard.BROAD_NETWORK), ("2a00::/16", Guard.BROAD_NETWORK),
    ("0.0.0.0", Guard.SPECIAL_NETWORK), ("10.20.0.0/16", Guard.SPECIAL_NETWORK),
    ("172.16.4.0/24", Guard.SPECIAL_NETWORK), ("192.168.1.1", Guard.SPECIAL_NETWORK),
    ("100.64.0.0/24", Guard.SPECIAL_NETWORK), ("127.0.0.1", Guard.SPECIAL_NETWORK),
    ("169.254.169.254", Guard.SPECIAL_NETWORK), ("192.0.2.0/24", Guard.SPECIAL_NETWORK),
    ("198.51.100.7", Guard.SPECIAL_NETWORK), ("203.0.113.0/25", Guard.SPECIAL_NETWORK),
    ("224.0.0.251", Guard.SPECIAL_NETWORK), ("255.255.255.255", Guard.SPECIAL_NETWORK),
    ("::", Guard.SPECIAL_NETWORK), ("::1", Guard.SPECIAL_NETWORK), ("fd12:3456::/48", Guard.SPECIAL_NETWORK),
    ("fe80::1", Guard.SPECIAL_NETWORK), ("2001:db8::/48", Guard.SPECIAL_NETWORK), ("ff02::fb", Guard.SPECIAL_NETWORK),
    ("100.130.0.0/24", Guard.SINKHOLE), ("100.130.0.53", Guard.SINKHOLE),
    # Covering a special network is as bad as sitting in one.
    ("192.168.0.0/16", Guard.SPECIAL_NETWORK), ("172.0.0.0/16", None),
    (PUBLIC, None), ("100.128.0.9", None), ("100.127.255.255", Guard.SPECIAL_NETWORK),
    ("2a00:1450:4001::/48", None), ("2a00:1450::/32", None),
])
def test_each_network_guard(guards, network, guard):
    assert guards.check_network(network) is guard


def test_the_bound_is_configurable():
    narrow = load_guards(brands=lambda extra: [], public_suffixes=frozenset(), broadest_prefix=(24, 48))
    assert narrow.check_network("100.128.0.0/23") is Guard.BROAD_NETWORK
    assert narrow.check_network(PUBLIC) is None
    assert narrow.check_network("2a00:1450::/47") is Guard.BROAD_NETWORK


def test_guarded_networks_are_counted_with_file_and_line(tmp_path, guards):
    db = tmp_path / "b.db"
    good = "".join(f"100.128.{index}.0/24\n" for index in range(4))
    summary = import_text(db, tmp_path, "ips", good + "0.0.0.0/0\n10.0.0.0/8\n", format="iplist", guards=guards)
    assert summary.totals.networks == 4
    assert summary.totals.guarded == {"network too broad": 2}
    assert summary.totals.guard_samples == [f"{tmp_path / 'feed.txt'}:5: network too broad: 0.0.0.0/0",
                                            f"{tmp_path / 'feed.txt'}:6: network too broad: 10.0.0.0/8"]
    blocklist = StoreBlocklist(db)
    assert blocklist.match_address("100.128.3.1").list == "ips"
    assert blocklist.match_address("10.1.2.3") is None and blocklist.match_address("8.8.8.8") is None


def test_an_allow_of_a_special_network_is_kept(tmp_path, guards):
    """Only what blocks is guarded: `rpz-passthru` for the lab's own network harms nobody."""
    db = tmp_path / "b.db"
    zone = "$ORIGIN rpz.example.org.\n@ SOA ns. h. 1 2 3 4 5\n8.0.0.0.10.rpz-ip CNAME rpz-passthru.\n"
    summary = import_text(db, tmp_path, "zone", zone, "zone.rpz", guards=guards)
    assert summary.totals.networks == 1 and not summary.totals.guarded


def test_url_feeds_do_not_block_special_addresses(tmp_path, guards):
    db = tmp_path / "b.db"
    text = "http://100.128.0.9/x\nhttp://login.example.net/\nhttp://127.0.0.1:8080/admin\n"
    summary = import_text(db, tmp_path, "urls", text, format="openphish", guards=guards)
    assert summary.totals.urls == 3 and summary.totals.addresses == 1
    assert summary.totals.guarded == {"special-use network": 1}
    assert StoreBlocklist(db).match_address("127.0.0.1") is None


@pytest.mark.parametrize("filename, text", [
    ("ipfeed.txt", "0.0.0.0/0\n::/0\n"),
    ("zone.rpz", "$TTL 300\n@ SOA ns.rpz.example.org. h.example.org. 1 3600 600 86400 60\n@ NS ns.rpz.example.org.\n"
                 "0.0.0.0.0.rpz-ip CNAME .\n"),
])
def test_a_feed_that_would_block_every_answer_is_refused(tmp_path, capsys, filename, text):
    db = tmp_path / "store.db"
    feed = tmp_path / filename
    feed.write_text(text)
    assert fraudwall("import", feed, "--list", "ipfeed", "--db", db) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("fraudwall: error: ")
    assert f"{feed}:" in error and "network too broad" in error and "nothing was changed" in error
    assert fraudwall("check", "192.0.2.1", "100.128.0.1", "2a00:1450::1", "--db", db) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["allowed"] * 3


def test_a_public_24_is_accepted(tmp_path, capsys):
    db = tmp_path / "store.db"
    feed = tmp_path / "ipfeed.txt"
    feed.write_text(f"{PUBLIC}\n")
    assert fraudwall("import", feed, "--list", "ipfeed", "--db", db) == 0
    assert "1 networks" in capsys.readouterr().out
    assert fraudwall("check", "100.128.0.77", "--db", db) == 0
    assert capsys.readouterr().out.startswith("blocked 100.128.0.77 by list ipfeed")


def test_the_configured_sinkhole_address_is_never_blocked(tmp_path, capsys):
    db = tmp_path / "store.db"
    config = tmp_path / "fraudwall.toml"
    config.write_text('[sinkhole]\nipv4 = "100.130.0.53"\nipv6 = "2a00:1450:4001::53"\n'
                      '[blocklists]\nbroadest_ipv4_prefix = 24\n')
    feed = tmp_path / "ipfeed.txt"
    feed.write_text("".join(f"100.128.{index}.0/24\n" for index in range(5)) +
                    "100.130.0.0/24\n2a00:1450:4001::/48\n100.129.0.0/20\n")
    assert fraudwall("import", feed, "--list", "ipfeed", "--db", db, "--config", config) == 0
    out = capsys.readouterr().out
    assert "guarded (not blocked): 3 (the sinkhole's own address: 2, network too broad: 1)" in out
    assert f"{feed}:6: the sinkhole's own address: 100.130.0.0/24" in out


def test_an_empty_reimport_of_a_network_list_is_held_back(tmp_path, capsys):
    db = tmp_path / "store.db"
    feed = tmp_path / "ipfeed.txt"
    feed.write_text("".join(f"100.128.{index}.0/24\n" for index in range(300)))
    assert fraudwall("import", feed, "--list", "ipfeed", "--db", db) == 0
    feed.write_text("")
    assert fraudwall("import", feed, "--list", "ipfeed", "--db", db) == 1
    captured = capsys.readouterr()
    assert "changed: 100% (256 entries removed, 0 added, of 256 old and new)" in captured.out
    assert "held back" in captured.err and "--force" in captured.err
    assert fraudwall("check", "100.128.42.1", "--db", db) == 0
    assert capsys.readouterr().out.startswith("blocked 100.128.42.1 by list ipfeed")


def test_a_reimport_replacing_most_urls_is_held_back(tmp_path, capsys):
    db = tmp_path / "store.db"
    # The hosts are shared platforms: only the URL entries change.
    feed = tmp_path / "urls.txt"
    feed.write_text("".join(f"https://drive.google.com/file/d/{index}/view\n" for index in range(200)))
    assert fraudwall("import", feed, "--list", "urls", "--format", "openphish", "--db", db) == 0
    feed.write_text("".join(f"https://drive.google.com/file/d/other{index}/view\n" for index in range(200)))
    assert fraudwall("import", feed, "--list", "urls", "--format", "openphish", "--db", db) == 1
    # 200 URLs removed and 200 added: all of the 400 the two imports hold, not "200 %" of the old list.
    assert "changed: 100% (200 entries removed, 200 added, of 400 old and new)" in capsys.readouterr().out


def test_block_refuses_a_network_broader_than_the_bound(tmp_path, capsys):
    db = tmp_path / "store.db"
    assert fraudwall("block", "0.0.0.0/0", "--db", db) == 2
    assert "broader than /16 ([blocklists] broadest_ipv4_prefix)" in capsys.readouterr().err
    assert fraudwall("block", "::/1", "--db", db) == 2
    assert fraudwall("block", "100.128.0.0/24", "2a00:1450::/32", "--db", db) == 0


def test_addresses_in_domain_feeds_are_address_entries_of_the_list(tmp_path, guards, capsys):
    """A phishing domain feed's bare addresses mean "this host serves fraud": the answers holding them
    are blocked, `check ADDRESS` names the list, and the summary counts them apart; the address
    guards still hold."""
    db = tmp_path / "b.db"
    text = ("login-verify.example.net\n100.128.0.9\n2a00:1450:4001::9\n[2a00:1450:4001::10]\n"
            "127.0.0.1\n100.130.0.53\n10.1.2.3\n")
    summary = import_text(db, tmp_path, "phish", text, format="domains", guards=guards)
    assert (summary.totals.names, summary.totals.addresses, summary.totals.networks) == (1, 3, 0)
    assert summary.totals.skipped == {}
    assert summary.totals.guarded == {"special-use network": 2, "the sinkhole's own address": 1}
    assert next(summary.lines()).startswith("list phish (created): 1 names, 3 addresses, 0 networks, 0 URLs")
    blocklist = StoreBlocklist(db)
    for address in ("100.128.0.9", "2a00:1450:4001::9", "2a00:1450:4001::10"):
        match = blocklist.match_address(address)
        assert match.list == "phish" and match.blocks, address
    assert blocklist.match_address("100.128.0.10") is None
    assert blocklist.match_address("127.0.0.1") is None and blocklist.match_address("100.130.0.53") is None
    blocklist.close()
    assert fraudwall("check", "100.128.0.9", "--db", db) == 0
    assert capsys.readouterr().out.startswith("blocked 100.128.0.9 by list phish: 100.128.0.9 [")


@pytest.mark.parametrize("format, text", [
    ("hosts", "0.0.0.0 login.example.net 100.128.0.9\n"),
    ("adblock", "||login.example.net^\n||100.128.0.9^\n"),
    ("openphish", "https://login.example.net/x\nhttp://100.128.0.9:8080/x\n"),
])
def test_an_address_host_in_any_format_is_an_address_entry(tmp_path, guards, format, text):
    db = tmp_path / "b.db"
    summary = import_text(db, tmp_path, "feed", text, format=format, guards=guards)
    assert (summary.totals.addresses, summary.totals.skipped) == (1, {})
    assert StoreBlocklist(db).match_address("100.128.0.9").list == "feed"


def test_a_hosts_line_redirecting_an_address_says_it_cannot():
    from fraudwall.blocklists.formats import SkipReason, hosts

    from .blocklist_helpers import run

    entries, skips = run(hosts.parse, "192.0.2.80 portal.example.net 100.128.0.9\n")
    assert [entry.name for entry in entries] == ["portal.example.net"]
    assert [(skip.reason, skip.detail) for skip in skips] == [
        (SkipReason.SYNTAX, "'100.128.0.9': an address cannot be redirected to '192.0.2.80'")]
