"""`fraudwall ca init` and `fraudwall report mistakes`, through an argparse parser built from add_parsers."""

import argparse
import json
import stat
from types import SimpleNamespace

import pytest
from fraudwall.resolver.cli import report as report_commands
from fraudwall.resolver.cli import warning as commands
from fraudwall.resolver.warning import reports
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.reports import ReportStore
from fraudwall.resolver.warning.settings import WarningSettings


def cli(argv, config=None) -> int:
    parser = argparse.ArgumentParser(prog="fraudwall")
    subparsers = parser.add_subparsers(required=True)
    commands.add_parsers(subparsers)
    report_commands.add_parsers(subparsers)
    args = parser.parse_args(argv)
    args.config = config
    return args.run(args)


def test_ca_init_creates_and_refuses_to_overwrite(tmp_path, capsys):
    directory = tmp_path / "ca"
    assert cli(["ca", "init", "--dir", str(directory)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE((directory / "ca.key").stat().st_mode) == 0o600
    for platform in ("Debian", "Windows", "macOS", "Android", "iOS", "Firefox", "spki-list="):
        assert platform in out
    before = (directory / "ca.crt").read_bytes()
    assert cli(["ca", "init", "--dir", str(directory)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (directory / "ca.crt").read_bytes() == before
    assert cli(["ca", "init", "--dir", str(directory), "--force"]) == 0
    assert (directory / "ca.crt").read_bytes() != before


def test_ca_init_default_dir_from_config(tmp_path):
    config = SimpleNamespace(warning=WarningSettings(ca_dir=str(tmp_path / "cfg-ca"), organisation="Example"))
    assert cli(["ca", "init"], config) == 0
    assert (tmp_path / "cfg-ca" / "ca.crt").exists()


def reason(host="icbc-tuikuan.example.com"):
    return BlockReason(host, "list", "demo", "listed in demo (demo.txt:3)", "icbc.com.cn", None)


def store_config(db):
    from fraudwall.blocklists.settings import BlocklistSettings
    return SimpleNamespace(blocklists=BlocklistSettings(db=str(db)), warning=None)


def add(db, host="icbc-tuikuan.example.com", comment="my bank"):
    store = ReportStore(db)
    report_id = store.add_report(host=host, path="/login", reference="FW-AAAA-BBBB", reason=reason(host),
                                 client="192.0.2.7", comment=comment, language="en", now=1_800_000_000.0,
                                 per_hour=10)
    store.record_view("FW-AAAA-BBBB", reason(host), 1_800_000_000.0)
    store.close()
    return report_id


def test_reports_lists_text_and_json(tmp_path, capsys):
    db = tmp_path / "blocklists.db"
    add(tmp_path / "reports.db")
    assert cli(["report", "mistakes"], store_config(db)) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "icbc-tuikuan.example.com/login" in out and "my bank" in out and "192.0.2.7" in out
    assert cli(["report", "mistakes", "--json"], store_config(db)) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["host"] == "icbc-tuikuan.example.com" and row["reference"] == "FW-AAAA-BBBB"


def test_reports_reference_lookup(tmp_path, capsys):
    db = tmp_path / "blocklists.db"
    add(tmp_path / "reports.db")
    assert cli(["report", "mistakes", "--ref", "fw-aaaa-bbbb"], store_config(db)) == 0
    assert "icbc-tuikuan.example.com" in capsys.readouterr().out
    assert cli(["report", "mistakes", "--ref", "FW-NONE-NONE"], store_config(db)) == 1


def test_reports_without_a_file_or_without_open_reports_say_so(tmp_path, capsys):
    assert cli(["report", "mistakes"], store_config(tmp_path / "none.db")) == 0
    assert "no reports: " in capsys.readouterr().out
    db = tmp_path / "blocklists.db"
    report_id = add(tmp_path / "reports.db")
    ReportStore(tmp_path / "reports.db").close_reports("icbc-tuikuan.example.com", "allowed", 1_800_000_001.0)
    assert cli(["report", "mistakes"], store_config(db)) == 0
    assert capsys.readouterr().out == "no open reports (--all shows those dealt with)\n"
    assert cli(["report", "mistakes", "--all"], store_config(db)) == 0
    assert f"#{report_id} " in capsys.readouterr().out
    assert cli(["report", "mistakes", "--json"], store_config(db)) == 0
    assert capsys.readouterr().out == ""


def test_ca_init_install_text_names_the_file_it_wrote(tmp_path, capsys):
    assert cli(["ca", "init", "--dir", str(tmp_path / "ca")]) == 0
    out = capsys.readouterr().out
    # Every step names ca.crt; only Debian's copy takes another name, in its own directory.
    assert out.count("ca.crt") >= 7
    assert "warning-ca.crt" not in out.replace("/usr/local/share/ca-certificates/fraudwall-warning-ca.crt", "")


def test_allow_adds_an_exact_allow_entry_to_the_store(tmp_path, capsys):
    from fraudwall.blocklists import store
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = tmp_path / "blocklists.db"
    connection = store.connect_catalogue(db)
    store.set_manual(connection, [("example.com", store.Mode.SUBTREE, store.Action.BLOCK, "test")])
    connection.close()
    assert StoreBlocklist(db, cache_size=0).match_name("icbc-tuikuan.example.com").blocks
    report_id = add(tmp_path / "reports.db")
    assert cli(["report", "mistakes", "--allow", str(report_id)], store_config(db)) == 0
    assert "allowed: icbc-tuikuan.example.com" in capsys.readouterr().out
    match = StoreBlocklist(db, cache_size=0).match_name("icbc-tuikuan.example.com")
    assert match is None or not match.blocks
    reports = ReportStore(tmp_path / "reports.db")
    assert reports.report(report_id).status == "allowed"
    assert reports.reports("open") == []
    assert cli(["report", "mistakes", "--allow", "99"], store_config(db)) == 2


def test_allow_without_a_store_says_what_to_do(tmp_path, capsys):
    from fraudwall.blocklists.settings import BlocklistSettings
    config = SimpleNamespace(blocklists=BlocklistSettings(store=False),
                             warning=WarningSettings(ca_dir=str(tmp_path / "ca")))
    add(tmp_path / "warning.db")
    assert cli(["report", "mistakes", "--allow", "1"], config) == 2
    assert "[allowlist]" in capsys.readouterr().err


@pytest.mark.parametrize("config", [None, SimpleNamespace()])
def test_store_path_without_config_is_empty(config):
    assert reports.store_path_of(config) == ""


def test_a_forged_report_line_in_a_stored_path_or_comment_is_printed_escaped(tmp_path, capsys):
    # A report stored before paths were cleaned, or a reason from a feed: the printing escapes it all.
    db = tmp_path / "blocklists.db"
    store = ReportStore(tmp_path / "reports.db")
    store.add_report(host="icbc-tuikuan.example.com", path="/x\n#2 2026-01-01 00:00 bank.example.com from "
                     "10.0.0.1 ref FW-SAFE-SAFE\x1b[2K\r", reference="FW-AAAA-BBBB",
                     reason=BlockReason("icbc-tuikuan.example.com", "list", "demo", "listed\x1b[8m"),
                     client="192.0.2.7", comment="ok\u202e\r\nreally", language="en", now=1_800_000_000.0,
                     per_hour=10)
    store.record_view("FW-AAAA-BBBB", BlockReason("icbc-tuikuan.example.com", "list", "demo", "listed\x1b[8m"),
                      1_800_000_000.0)
    store.close()
    for argv in (["report", "mistakes"], ["report", "mistakes", "--json"], ["report", "mistakes", "--ref", "FW-AAAA-BBBB"],
                 ["report", "mistakes", "--ref", "FW-AAAA-BBBB", "--json"]):
        assert cli(argv, store_config(db)) == 0
        out = capsys.readouterr().out
        assert all(char.isprintable() for line in out.splitlines() for char in line), (argv, out)
        if "--json" in argv:
            assert all(char.isprintable() for value in json.loads(out).values() if isinstance(value, str)
                       for char in value), (argv, out)
    assert cli(["report", "mistakes"], store_config(db)) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 3     # the report, its reason, its comment: no forged line
    assert "/x\\010#2 " in out and "\\027[2K\\013" in out and "ok\\u202e\\013\\010really" in out


def test_reports_kept_in_the_store_by_an_older_version_move_to_their_own_file_once(tmp_path, capsys):
    from fraudwall.blocklists import store
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = tmp_path / "blocklists.db"
    connection = store.connect_catalogue(db)
    store.set_manual(connection, [("example.com", store.Mode.SUBTREE, store.Action.BLOCK, "test")])
    connection.close()
    first = add(db)      # where an older version wrote them: the store's own file
    second = add(db, comment="second")
    for _ in range(2):   # the second run finds nothing left to move and duplicates nothing
        assert cli(["report", "mistakes", "--json"], store_config(db)) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sorted(row["id"] for row in rows) == [first, second]
    assert cli(["report", "mistakes", "--ref", "FW-AAAA-BBBB"], store_config(db)) == 0
    assert "icbc-tuikuan.example.com" in capsys.readouterr().out
    assert [report.comment for report in ReportStore(tmp_path / "reports.db").reports()] == ["second", "my bank"]
    import sqlite3
    tables = {name for (name,) in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert not tables & {"warning_reports", "warning_views"} and "manual" in tables
    assert StoreBlocklist(db, cache_size=0).match_name("icbc-tuikuan.example.com").blocks


def test_a_move_cut_short_after_the_copy_is_finished_without_duplicates(tmp_path):
    db = tmp_path / "blocklists.db"
    add(db)
    target = tmp_path / "reports.db"
    add(target)                              # the copy made before the crash: the same row, the same id
    assert reports.move_out_of_store(db, target) == 0
    assert len(ReportStore(target).reports()) == 1
    assert reports.move_out_of_store(db, target) == 0
