import json
from types import SimpleNamespace

from fraudwall.blocklists.settings import BlocklistSettings

from tests.blocklists.blocklist_helpers import cli


def config(tmp_path, **settings):
    return SimpleNamespace(blocklists=BlocklistSettings(db=str(tmp_path / "store.db"), **settings),
                           scorer=SimpleNamespace(brands_file=""))


def test_import_prints_a_summary_and_check_finds_the_entry(tmp_path, capsys):
    feed = tmp_path / "feed.txt"
    feed.write_text("[Adblock Plus 2.0]\n! Title: t\n||phish.example.org^$document\n||x.example.org^$script\nexample.org##.ad\n")
    assert cli("import", feed, "--list", "phishing", config=config(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "list phishing (created): 1 names" in out
    assert "skipped lines: 2" in out and f"{feed}:4: modifier DNS cannot enforce" in out
    assert cli("check", "a.phish.example.org", "b.example.org", "--json", config=config(tmp_path)) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["verdict"] == "blocked" and first["list"] == "phishing"
    assert first["rule"] == "||phish.example.org^$document" and first["source"] == f"{feed}:3"
    assert set(first) >= {"name", "verdict", "action", "list", "rule", "source", "added"}
    assert second["verdict"] == "allowed" and second["list"] is None


def test_the_default_store_holds_the_demo_list_and_takes_blocks(tmp_path, capsys):
    settings = config(tmp_path)
    assert cli("check", "icbc-tuikuan.example.com", config=settings) == 0
    assert capsys.readouterr().out.startswith("blocked icbc-tuikuan.example.com by list demo")
    assert cli("block", "Bad.Example.NET", "--reason", "phone scam", config=settings) == 0
    assert cli("check", "bad.example.net", "x.bad.example.net", config=settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("blocked bad.example.net by list manual: phone scam")
    assert out[-1].startswith("blocked x.bad.example.net by list manual")   # a block covers the names below
    assert cli("allow", "icbc-tuikuan.example.com", config=settings) == 0
    assert cli("unblock", "bad.example.net", config=settings) == 0
    assert cli("check", "icbc-tuikuan.example.com", "bad.example.net", config=settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("allowed icbc-tuikuan.example.com by list manual")
    assert out[-1].startswith("allowed bad.example.net (no entry)")


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    settings = config(tmp_path)
    assert cli("import", tmp_path / "missing.txt", "--list", "x", config=settings) == 2
    assert cli("export", "--list", "nosuch", "--format", "hosts", config=settings) == 2
    assert cli("block", "bad..name", config=settings) == 2
    assert cli("block", "github.io", "--subtree", config=settings) == 2
    assert cli("block", "github.io", config=settings) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 5 and all(line.startswith("fraudwall: error: ") for line in errors)
    assert "no such file" in errors[0] and "no list named 'nosuch'" in errors[1]
    assert "public suffix" in errors[3] and "public suffix" in errors[4] and "--exact" in errors[4]


def test_export_round_trips_through_each_format(tmp_path, capsys):
    settings = config(tmp_path)
    feed = tmp_path / "zone.rpz"
    feed.write_text("$ORIGIN rpz.example.\nbad.example.org CNAME .\n*.bad.example.org CNAME .\n"
                    "ok.example.org CNAME rpz-passthru.\n24.0.0.128.100.rpz-ip CNAME .\n")
    assert cli("import", feed, "--list", "zone", config=settings) == 0
    for format in ("rpz", "hosts", "domains"):
        out = tmp_path / f"out.{format}"
        assert cli("export", "--list", "zone", "--format", format, "--output", out, config=settings) == 0
        assert cli("import", out, "--list", f"again-{format}", "--format", format if format != "domains" else "domains",
                   config=settings) == 0
    capsys.readouterr()
    assert cli("check", "x.bad.example.org", "--json", config=settings) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "blocked"
    rpz = (tmp_path / "out.rpz").read_text()
    assert "ok.example.org CNAME rpz-passthru." in rpz and "24.0.0.128.100.rpz-ip CNAME ." in rpz


def test_quarantined_entries_are_listed_and_confirmed(tmp_path, capsys):
    settings = config(tmp_path)
    feed = tmp_path / "feed.txt"
    feed.write_text("wikipedia.org\nfraud.example.org\n")
    assert cli("import", feed, "--list", "feed", config=settings) == 0
    assert "quarantined (popular sites, not enforced until confirmed): 1" in capsys.readouterr().out
    assert cli("check", "wikipedia.org", config=settings) == 0
    assert capsys.readouterr().out.startswith("allowed wikipedia.org")
    assert cli("quarantine", config=settings) == 0
    assert capsys.readouterr().out.startswith("feed\twikipedia.org\tblock\tpopular site")
    assert cli("quarantine", "--confirm", "wikipedia.org", config=settings) == 0
    assert cli("check", "wikipedia.org", config=settings) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("blocked wikipedia.org by list feed")


def test_block_creates_a_store_named_with_db(tmp_path, capsys):
    db = tmp_path / "new" / "b.db"
    assert cli("block", "fresh.example.org", "--db", db) == 0
    assert cli("check", "fresh.example.org", "--db", db) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("blocked fresh.example.org by list manual")
    assert cli("check", "fresh.example.org", "--db", tmp_path / "missing.db") == 2


def test_a_confirmed_entry_stays_enforced_through_later_imports(tmp_path, capsys):
    settings = config(tmp_path)
    feed = tmp_path / "feed.txt"
    feed.write_text("wikipedia.org\nfraud.example.org\n")
    assert cli("import", feed, "--list", "feed", config=settings) == 0
    assert cli("quarantine", "--confirm", "wikipedia.org", config=settings) == 0
    for _ in range(2):
        assert cli("import", feed, "--list", "feed", config=settings) == 0
        assert "quarantined (popular sites, not enforced until confirmed): 0" in capsys.readouterr().out
    assert cli("check", "wikipedia.org", config=settings) == 0
    assert capsys.readouterr().out.startswith("blocked wikipedia.org by list feed")


def test_check_prints_a_hostile_rpz_cname_target_escaped(tmp_path, capsys):
    # Whitespace (CR, LF, tab) splits a zone file's tokens, so it cannot reach a target; ESC, C1 and
    # bidirectional controls can, and the walled garden's name is shown as the rule.
    settings = config(tmp_path)
    feed = tmp_path / "zone.rpz"
    feed.write_text("$ORIGIN rpz.example.\n@ SOA ns hostmaster 1 1 1 1 1\n"
                    "evil.example.com CNAME walled\x1b[31m\x9b\u202e.example.net.\n", encoding="utf-8")
    assert cli("import", feed, "--list", "rpz", config=settings) == 0
    capsys.readouterr()
    assert cli("check", "evil.example.com", config=settings) == 0
    text = capsys.readouterr().out
    assert cli("check", "evil.example.com", "--json", config=settings) == 0
    record = json.loads(capsys.readouterr().out)
    assert text.startswith("blocked evil.example.com")
    assert "CNAME walled\\027[31m\\155\\u202e.example.net." in text
    assert record["rule"] == "evil.example.com CNAME walled\\027[31m\\155\\u202e.example.net."
    assert all(char.isprintable() for char in text.rstrip("\n"))


def test_the_import_progress_bar_is_drawn_on_a_terminal_only():
    import io

    from fraudwall.resolver.cli.lists import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    now = [0.0]
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = ProgressBar(stream, clock=lambda: now[0])
        now[0] += 1.0
        bar(50, 100)
        bar.end()
    assert "importing [###############" in terminal.getvalue() and " 50.0%" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_lists_shows_the_generation_and_a_block_moves_it(tmp_path, capsys):
    def generation() -> int:
        assert cli("lists", config=config(tmp_path)) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith(f"store {tmp_path / 'store.db'}, generation ")
        return int(first.rsplit(" ", 1)[1])

    before = generation()
    assert cli("block", "phish.example.org", config=config(tmp_path)) == 0
    capsys.readouterr()
    assert generation() > before


def test_block_allow_and_import_cover_the_names_below_unless_exact(tmp_path, capsys):
    """One default for the three verbs that add entries: the name and the names below it."""
    settings = config(tmp_path)
    feed = tmp_path / "feed.txt"
    feed.write_text("imported.example.org\n")
    assert cli("import", feed, "--list", "feed", config=settings) == 0
    exact_feed = tmp_path / "exact.txt"
    exact_feed.write_text("imported-exact.example.org\n")
    assert cli("import", exact_feed, "--list", "exact", "--exact", config=settings) == 0
    assert cli("block", "sub.example.org", config=settings) == 0
    assert cli("block", "alias.example.org", "--subtree", config=settings) == 0     # the old flag, a no-op
    assert cli("block", "one.example.org", "--exact", config=settings) == 0
    assert cli("block", "github.io", "--exact", config=settings) == 0               # a suffix, by itself
    assert cli("allow", "ok.sub.example.org", config=settings) == 0
    capsys.readouterr()
    names = ["x.imported.example.org", "x.imported-exact.example.org", "x.sub.example.org", "x.alias.example.org",
             "one.example.org", "x.one.example.org", "y.ok.sub.example.org", "github.io", "x.github.io"]
    assert cli("check", *names, config=settings) == 0
    verdicts = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert verdicts == ["blocked", "allowed", "blocked", "blocked", "blocked", "allowed", "allowed", "blocked",
                        "allowed"]


def test_each_verb_says_its_default_coverage_in_help(capsys):
    import pytest

    for verb in ("block", "allow", "import"):
        with pytest.raises(SystemExit):
            cli(verb, "--help")
        text = " ".join(capsys.readouterr().out.split())
        assert "--exact" in text, verb
        assert "default: the name and the names below" in text or "default: subtree" in text, verb


def test_lists_and_quarantine_agree_on_what_is_held(tmp_path, capsys):
    settings = config(tmp_path)
    feed = tmp_path / "feed.txt"
    feed.write_text("wikipedia.org\nreddit.com\nfraud.example.org\n")
    assert cli("import", feed, "--list", "feed", config=settings) == 0

    def held() -> tuple[int, int]:
        capsys.readouterr()
        assert cli("lists", config=settings) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("feed "))
        assert cli("quarantine", config=settings) == 0
        shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("feed\t")]
        return int(row.split()[4]), len(shown)

    assert held() == (2, 2)
    assert cli("quarantine", "--confirm", "wikipedia.org", config=settings) == 0
    assert held() == (1, 1)
    assert cli("quarantine", "--confirm", "reddit.com", config=settings) == 0
    assert held() == (0, 0)
    assert cli("import", feed, "--list", "feed", config=settings) == 0     # the confirmed stay enforced
    assert held() == (0, 0)


def test_lists_remove_drops_a_list_and_its_entries(tmp_path, capsys):
    from fraudwall.blocklists.lookup import StoreBlocklist

    settings = config(tmp_path, files=())
    db = tmp_path / "store.db"
    feed = tmp_path / "feed.txt"
    feed.write_text("phish.example.org\n100.128.0.9\nwikipedia.org\n")
    other = tmp_path / "other.txt"
    other.write_text("scam.example.net\n")
    assert cli("import", feed, "--list", "phishing", config=settings) == 0
    assert cli("import", other, "--list", "other", config=settings) == 0
    assert cli("quarantine", "--confirm", "wikipedia.org", config=settings) == 0
    running = StoreBlocklist(db)            # a server's view, before the removal
    assert running.match_name("phish.example.org").list == "phishing"
    before = running.generation
    capsys.readouterr()

    assert cli("lists", "remove", "phishing", config=settings) == 0
    assert capsys.readouterr().out.startswith("removed list phishing (1 names, 1 addresses and networks, 0 URLs")
    assert running.refresh() and running.generation > before
    assert running.match_name("phish.example.org") is None and running.match_address("100.128.0.9") is None
    assert running.match_name("wikipedia.org") is None
    assert running.match_name("scam.example.net").list == "other"
    running.close()
    assert cli("lists", config=settings) == 0
    out = capsys.readouterr().out
    assert "phishing" not in out and "\nother " in out
    assert cli("quarantine", config=settings) == 0
    assert capsys.readouterr().out == "nothing in quarantine\n"
    assert not list((tmp_path / "store.db.d").glob("*phishing*"))
    # Imported again, it starts afresh (its confirmations went with it).
    assert cli("import", feed, "--list", "phishing", config=settings) == 0
    assert "quarantined (popular sites, not enforced until confirmed): 1" in capsys.readouterr().out


def test_lists_remove_refuses_unknown_names_and_the_manual_list(tmp_path, capsys):
    settings = config(tmp_path, files=())
    assert cli("block", "phish.example.org", config=settings) == 0
    capsys.readouterr()
    assert cli("lists", "remove", "nosuch", config=settings) == 2
    assert cli("lists", "remove", "manual", config=settings) == 2
    assert cli("lists", "remove", config=settings) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("fraudwall: error: ") for line in errors)
    assert "no list named 'nosuch'" in errors[0]
    assert "fraudwall unblock" in errors[1]
    assert "lists remove NAME" in errors[2]
    assert cli("check", "phish.example.org", config=settings) == 0
    assert capsys.readouterr().out.startswith("blocked phish.example.org by list manual")


def test_removing_a_list_the_config_imports_says_it_comes_back(tmp_path, capsys):
    settings = config(tmp_path)            # files = ["demo"]
    assert cli("lists", "remove", "demo", config=settings) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("removed list demo")
    assert "[blocklists] files" in captured.err
