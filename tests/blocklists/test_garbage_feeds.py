"""Imports do not take garbage quietly (issue 11, defect 10).

Every skipped line is counted, a line too long to be an entry is skipped without being
copied around, a feed made mostly of bad lines fails and leaves the list as it was, and an
export says exactly what each entry covers.
"""

import json
import random
import tracemalloc

import pytest
from fraudwall.blocklists.formats import MAX_LINE, SkipReason, domains, excerpt, hosts, parse_lines
from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.resolver.cli import main

from .blocklist_helpers import fake_guards, import_text, run


def fraudwall(*argv) -> int:
    return main([str(arg) for arg in argv])


GOOD = "".join(f"phish{index}.example.org\n" for index in range(10))


def test_single_label_names_are_refused_and_counted():
    entries, skips = run(domains.parse, "localhost\nintranet.\n*.com\nphish.example.org\n")
    assert [e.name for e in entries] == ["phish.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(1, SkipReason.SINGLE_LABEL), (2, SkipReason.SINGLE_LABEL),
                                                   (3, SkipReason.SINGLE_LABEL)]
    entries, skips = run(hosts.parse, "0.0.0.0 router phish.example.org\n")
    assert [e.name for e in entries] == ["phish.example.org"]
    assert [s.reason for s in skips] == [SkipReason.SINGLE_LABEL]


def test_a_hosts_line_with_one_field_is_counted():
    entries, skips = run(hosts.parse, "0.0.0.0\nphish.example.org\n0.0.0.0 a.example.org\n")
    assert [e.name for e in entries] == ["a.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(1, SkipReason.SYNTAX), (2, SkipReason.SYNTAX)]


def test_a_line_too_long_is_skipped_before_the_parser_sees_it():
    parsed = list(parse_lines(domains.parse, ["a.example.org", "x" * (MAX_LINE + 1), "b.example.org"]))
    assert [getattr(item, "name", None) or item.reason for item in parsed] == [
        "a.example.org", SkipReason.TOO_LONG, "b.example.org"]
    assert parsed[1].line == 2


def test_quoted_text_is_cut_to_a_readable_length(tmp_path):
    db = tmp_path / "b.db"
    summary = import_text(db, tmp_path, "feed", GOOD + "bad!" + "x" * 3000 + ".example.org\n", format="domains")
    (sample,) = summary.totals.samples
    assert "…" in sample and len(sample) < len(str(tmp_path)) + 200
    assert excerpt("x" * 100) == "x" * 79 + "…" and excerpt("short") == "short"


def test_a_ten_megabyte_line_is_skipped_and_not_echoed(tmp_path, capsys):
    feed = tmp_path / "feed.txt"
    feed.write_text("a.example.org\n" + "y" * (10 << 20) + "\nb.example.org\n")
    assert fraudwall("import", feed, "--list", "feed", "--format", "domains", "--db", tmp_path / "b.db") == 0
    out = capsys.readouterr().out
    assert "2 names" in out and "line too long: 1" in out and f"{feed}:2: line too long" in out
    assert max(len(line) for line in out.splitlines()) < 300


@pytest.mark.parametrize("text", [b"a.example.org\n" + b"y" * (10 << 20) + b"\nb.example.org\n",
                                  b"z" * (10 << 20)], ids=["long line", "no line end"])
def test_a_huge_line_is_read_a_block_at_a_time(tmp_path, text):
    feed = tmp_path / "feed.txt"
    feed.write_bytes(text)
    guards = fake_guards()
    tracemalloc.start()
    try:
        try:
            import_list(tmp_path / "b.db", ImportRequest("feed", (str(feed),), format="domains", workers=1), guards)
        except ImportFailed as error:
            assert "1 of its 1 entries are invalid" in str(error)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak >> 20} MB"


def test_random_binary_fails_and_leaves_the_list_as_it_was(tmp_path, capsys):
    db = tmp_path / "b.db"
    feed = tmp_path / "feed.txt"
    feed.write_text(GOOD)
    assert fraudwall("import", feed, "--list", "feed", "--db", db) == 0
    feed.write_bytes(random.Random(11).randbytes(200_000))
    assert fraudwall("import", feed, "--list", "feed", "--db", db) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "invalid or refused" in error and "nothing was changed" in error
    assert max(len(line) for line in error.splitlines()) < 500
    assert fraudwall("check", "phish3.example.org", "--db", db) == 0
    assert capsys.readouterr().out.startswith("blocked phish3.example.org by list feed")


def test_a_mostly_invalid_feed_fails_but_a_few_bad_lines_do_not(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", GOOD)
    with pytest.raises(ImportFailed, match=r"6 of its 10 entries are invalid or refused \(read as hosts"):
        import_text(db, tmp_path, "feed", "0.0.0.0 new.example.org\n" * 4 + "0.0.0.0 bad..name\n" * 6)
    assert StoreBlocklist(db).match_name("phish1.example.org") is not None
    summary = import_text(db, tmp_path, "feed", GOOD + "bad..name\n", force=True)
    assert summary.totals.names == 10 and summary.totals.skipped == {"invalid name": 1}


def test_rules_a_resolver_cannot_enforce_do_not_make_a_feed_bad(tmp_path):
    db = tmp_path / "b.db"
    rules = "||phish.example.org^\n" + "example.org##.banner\n" * 20 + "||ads.example.net^$script\n" * 5
    summary = import_text(db, tmp_path, "ads", rules, format="adblock")
    assert summary.totals.names == 1


def test_column_zero_is_a_one_line_usage_error(tmp_path, capsys):
    feed = tmp_path / "feed.csv"
    feed.write_text("id,url\n1,http://phish.example.org/\n")
    assert fraudwall("import", feed, "--list", "csv", "--format", "csv", "--column", "0", "--db", tmp_path / "b.db") == 2
    error = capsys.readouterr().err
    assert error == "fraudwall: error: --column 0: columns count from 1; nothing was changed\n"
    assert fraudwall("import", feed, "--list", "csv", "--format", "csv", "--column", "2", "--db", tmp_path / "b.db") == 0
    assert fraudwall("import", feed, "--list", "csv", "--format", "csv", "--column", "link", "--db",
                     tmp_path / "b.db") == 2
    assert "header without a 'link' column" in capsys.readouterr().err


def test_column_needs_the_csv_format(tmp_path, capsys):
    feed = tmp_path / "feed.txt"
    feed.write_text(GOOD)
    assert fraudwall("import", feed, "--list", "x", "--column", "2", "--db", tmp_path / "b.db") == 2
    assert "only --format csv reads a column" in capsys.readouterr().err


@pytest.fixture
def exact_and_subtree(tmp_path, capsys):
    db = tmp_path / "b.db"
    exact, subtree = tmp_path / "exact.txt", tmp_path / "subtree.txt"
    exact.write_text("login.example.org\n")
    subtree.write_text("phish.example.net\n")
    assert fraudwall("import", exact, "--list", "exact", "--match", "exact", "--db", db) == 0
    assert fraudwall("import", subtree, "--list", "subtree", "--db", db) == 0
    capsys.readouterr()
    return db


@pytest.mark.parametrize("format", ["hosts", "domains"])
def test_exact_entries_are_not_exported_where_they_would_come_back_as_subtrees(exact_and_subtree, tmp_path, capsys,
                                                                              format):
    db = exact_and_subtree
    out = tmp_path / f"out.{format}"
    assert fraudwall("export", "--list", "exact", "--format", format, "--output", out, "--db", db) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "login.example.org" in error and "--format rpz" in error
    assert not out.exists()
    assert fraudwall("export", "--list", "subtree", "--format", format, "--output", out, "--db", db) == 0


def test_an_rpz_export_keeps_what_each_entry_covers(exact_and_subtree, tmp_path, capsys):
    db = exact_and_subtree
    for name in ("exact", "subtree"):
        out = tmp_path / f"{name}.rpz"
        assert fraudwall("export", "--list", name, "--format", "rpz", "--output", out, "--db", db) == 0
        assert fraudwall("import", out, "--list", f"again-{name}", "--db", tmp_path / "again.db") == 0
    capsys.readouterr()
    names = ("login.example.org", "www.login.example.org", "phish.example.net", "www.phish.example.net")
    assert fraudwall("check", *names, "--json", "--db", tmp_path / "again.db") == 0
    verdicts = [json.loads(line)["verdict"] for line in capsys.readouterr().out.splitlines()]
    assert verdicts == ["blocked", "allowed", "blocked", "blocked"]
