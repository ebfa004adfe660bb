from fraudwall.blocklists.formats import Mode, SkipReason, domains

from .blocklist_helpers import run


def test_plain_names_cover_their_subtree_and_wildcards_the_names_below():
    text = "# comment\n! also a comment\nExample.ORG\n*.example.net\nbücher.example # inline\n"
    entries, skips = run(domains.parse, text)
    assert [(e.name, e.mode) for e in entries] == [
        ("example.org", Mode.SUBTREE), ("example.net", Mode.BELOW), ("xn--bcher-kva.example", Mode.SUBTREE)]
    assert entries[1].rule == "*.example.net"
    assert skips == []


def test_a_line_that_is_no_name_is_skipped_with_its_number():
    entries, skips = run(domains.parse, "good.example.org\ntwo words.example\nbad_é..x\n")
    assert [e.name for e in entries] == ["good.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(2, SkipReason.SYNTAX), (3, SkipReason.INVALID_NAME)]


def test_an_exported_list_reads_back_to_its_blocks_without_the_allows():
    from fraudwall.blocklists.formats import DomainEntry
    from fraudwall.blocklists.verdict import Action

    entries, _ = run(domains.parse, "a.example.org\n*.b.example.org\n")
    allow = DomainEntry("ok.example.org", Mode.SUBTREE, Action.ALLOW, 0, "")
    lines = list(domains.export("feed", [*entries, allow]))
    assert lines[1:] == ["a.example.org", "*.b.example.org"]
    again, _ = run(domains.parse, "\n".join(lines))
    assert [(e.name, e.mode) for e in again] == [(e.name, e.mode) for e in entries]


def test_an_address_line_is_an_address_entry_and_a_scoped_one_is_refused():
    from fraudwall.blocklists.formats import NetworkEntry
    from fraudwall.blocklists.verdict import Action

    entries, skips = run(domains.parse, "100.128.0.9\n2A00:1450::9\n[2a00:1450::10]\n2a00:1450::11%eth0\n1.2.3\n")
    assert entries == [NetworkEntry("100.128.0.9", Action.BLOCK, 1, ""),
                       NetworkEntry("2a00:1450::9", Action.BLOCK, 2, "2A00:1450::9"),
                       NetworkEntry("2a00:1450::10", Action.BLOCK, 3, "[2a00:1450::10]")]
    assert [(s.line, s.reason) for s in skips] == [(4, SkipReason.INVALID_NAME), (5, SkipReason.INVALID_NAME)]
