import pytest

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


# Lines a big feed may hold: plain names and every way a line can differ from one.
TRICKY_LINES = [
    "a.example.org", "x7k2m9q-secure.top", "_dmarc.example.org", "-edge-.example.org", "a.b.c.d.e.f.example",
    "Example.ORG", "example.org.", "*.example.org", "xn--bcher-kva.example", "bücher.example", "example",
    "1.2.3.4", "192.0.2.1.example", "a.123", "a.1b", "a..b", ".a.b", "a.b # comment", "# comment", "! comment",
    "two words.example", "a.b\r", "\ufeffa.b", "", "   ", "\ta.b", "a" * 63 + ".example", "a" * 64 + ".example",
    ".".join(["abcdefghi"] * 25) + ".example", ".".join(["abcdefghi"] * 30), "x" * 5000, "2a00:1450::9", "a.b:53",
]


def _expanded(items):
    from fraudwall.blocklists.formats import DomainEntry
    from fraudwall.blocklists.verdict import Action

    for item in items:
        if isinstance(item, domains.PlainNames):
            for offset, name in enumerate(item.names):
                yield DomainEntry(name, Mode.SUBTREE, Action.BLOCK, item.first + offset, "")
        else:
            yield item


def _blocks_of(data: bytes, rng) -> list[bytes]:
    """`data` cut after a newline here and there, as the importer reads a feed."""
    cuts = sorted(rng.sample(range(len(data)), min(5, len(data))))
    blocks, start = [], 0
    for cut in cuts:
        end = data.find(b"\n", cut) + 1
        if end > start:
            blocks.append(data[start:end])
            start = end
    blocks.append(data[start:])
    return [block for block in blocks if block]


def _same_as_line_by_line(lines: list[str], rng, end: str | None = None) -> None:
    from fraudwall.blocklists.formats import parse_lines

    data = ("\n".join(lines) + (end if end is not None else rng.choice(["\n", ""]))).encode()
    first = rng.choice([1, 7])
    expected = list(parse_lines(domains.parse, data.decode().split("\n"), first))
    assert list(_expanded(domains.parse_blocks(_blocks_of(data, rng), first))) == expected


@pytest.mark.parametrize("odd", TRICKY_LINES)
def test_one_odd_line_among_plain_names_parses_as_it_does_line_by_line(odd):
    """The importer's fast path for plain names gives the entries and skips of `parse`, line numbers included."""
    import random

    rng = random.Random(odd)
    for attempt in range(6):
        lines = [f"n{rng.randrange(10**6)}.example.org" for _ in range(rng.randrange(1, 60))]
        # First, last (with and without a newline after it), anywhere.
        where = (0, len(lines), len(lines))[attempt] if attempt < 3 else rng.randrange(len(lines) + 1)
        lines.insert(where, odd)
        _same_as_line_by_line(lines, rng, "\n" if attempt == 1 else "" if attempt == 2 else None)


@pytest.mark.parametrize("seed", range(20))
def test_a_feed_of_many_odd_lines_read_in_blocks_parses_as_it_does_line_by_line(seed):
    import random

    rng = random.Random(seed)
    lines = [rng.choice(TRICKY_LINES) if rng.random() < 0.3 else f"n{rng.randrange(10**6)}.example.org"
             for _ in range(rng.randrange(1, 400))]
    _same_as_line_by_line(lines, rng)


def test_a_clean_block_of_plain_names_is_one_run():
    assert list(domains.parse_blocks([b"a.example.org\nb-2.example.net\n"], 3)) == [
        domains.PlainNames(3, ["a.example.org", "b-2.example.net"])]
