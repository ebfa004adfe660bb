from fraudwall.blocklists.formats import Mode, SkipReason, hosts
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import run


def test_any_sink_address_blocks_every_name_of_the_line():
    text = "\ufeff# StevenBlack-style\r\n0.0.0.0 a.example.org b.example.org\r\n127.0.0.1\tc.example.org\r\n:: d.example.org\r\n"
    entries, skips = run(hosts.parse, text)
    assert [e.name for e in entries] == ["a.example.org", "b.example.org", "c.example.org", "d.example.org"]
    assert all(e.action is Action.BLOCK and e.mode is Mode.SUBTREE for e in entries)
    assert skips == []


def test_localhost_boilerplate_is_never_an_entry():
    text = """127.0.0.1 localhost
127.0.0.1 localhost.localdomain
255.255.255.255 broadcasthost
::1 localhost ip6-localhost ip6-loopback
fe80::1%lo0 localhost
ff02::1 ip6-allnodes
0.0.0.0 0.0.0.0
0.0.0.0 bad.example.org localhost
"""
    entries, skips = run(hosts.parse, text)
    assert [e.name for e in entries] == ["bad.example.org"]
    assert skips == []


def test_inline_comments_and_bad_lines_are_reported_with_their_line():
    text = "0.0.0.0 a.example.org # tracker\n0.0.0.0 b.example.org#no space\nnot-an-ip c.example.org\n0.0.0.0 bad..name\n"
    entries, skips = run(hosts.parse, text)
    assert [e.name for e in entries] == ["a.example.org", "b.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(3, SkipReason.SYNTAX), (4, SkipReason.INVALID_NAME)]


def test_a_real_address_is_local_data_served_as_a_redirect():
    entries, _ = run(hosts.parse, "192.0.2.7 portal.example.org\n")
    assert entries[0].action is Action.REDIRECT and entries[0].redirect == ("192.0.2.7",)


def test_an_exported_hosts_file_holds_the_blocks_and_reads_back():
    from fraudwall.blocklists.formats import DomainEntry

    entries = [DomainEntry("a.example.org", Mode.SUBTREE, Action.BLOCK, 0, ""),
               DomainEntry("b.example.org", Mode.BELOW, Action.BLOCK, 0, ""),
               DomainEntry("ok.example.org", Mode.SUBTREE, Action.ALLOW, 0, "")]
    lines = list(hosts.export("feed", entries))
    assert lines[1:] == ["0.0.0.0 a.example.org"]
    again, skips = run(hosts.parse, "\n".join(lines))
    assert [(e.name, e.mode, e.action) for e in again] == [("a.example.org", Mode.SUBTREE, Action.BLOCK)] and not skips
