"""Bad paths and files give one line naming the place, never a traceback (issue 11, defect 11)."""

import subprocess
import sys

import pytest
from fraudwall.resolver.cli import main


def fraudwall(*argv) -> int:
    return main([str(arg) for arg in argv])


def one_error_line(capsys) -> str:
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("fraudwall: "), error
    assert "Traceback" not in error
    return error


@pytest.fixture
def store(tmp_path, capsys):
    db = tmp_path / "store.db"
    feed = tmp_path / "feed.txt"
    feed.write_text("phish.example.org\n")
    assert fraudwall("import", feed, "--list", "feed", "--db", db) == 0
    capsys.readouterr()
    return db


@pytest.fixture
def not_sqlite(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    return path


def test_export_to_a_missing_directory_names_the_output(store, capsys):
    assert fraudwall("export", "--list", "feed", "--format", "rpz", "--output", "/nonexistent/x", "--db", store) == 2
    assert "--output /nonexistent/x: cannot write: No such file or directory" in one_error_line(capsys)


def test_export_to_a_directory_names_the_output(store, tmp_path, capsys):
    assert fraudwall("export", "--list", "feed", "--format", "rpz", "--output", tmp_path, "--db", store) == 2
    assert f"--output {tmp_path}: cannot write: Is a directory" in one_error_line(capsys)


@pytest.mark.parametrize("verb", [["check", "phish.example.org"], ["check", "100.128.0.1"], ["lists"],
                                  ["block", "x.example.org"], ["allow", "x.example.org"], ["unblock", "x.example.org"],
                                  ["export", "--list", "feed", "--format", "rpz"], ["quarantine"],
                                  ["import", "FEED", "--list", "feed"]])
@pytest.mark.parametrize("bad", ["not sqlite", "a directory", "/proc/x/y.db", "/proc/self/stat"])
def test_a_db_that_is_not_a_store_is_one_line(tmp_path, not_sqlite, capsys, verb, bad):
    feed = tmp_path / "feed.txt"
    feed.write_text("phish.example.org\n")
    db = {"not sqlite": not_sqlite, "a directory": tmp_path}.get(bad, bad)
    argv = [feed if arg == "FEED" else arg for arg in verb]
    assert fraudwall(*argv, "--db", db) != 0
    assert str(db) in one_error_line(capsys)


def test_a_feed_that_cannot_be_read_is_one_line(tmp_path, capsys):
    assert fraudwall("import", "/proc/self/mem", "--list", "mem", "--db", tmp_path / "store.db") == 2
    assert "/proc/self/mem" in one_error_line(capsys)
    assert fraudwall("import", tmp_path, "--list", "dir", "--db", tmp_path / "store.db") == 2
    assert "no such file" in one_error_line(capsys)


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path, capsys):
    config = tmp_path / "fraudwall.toml"
    config.write_bytes(b"\xff\xfe[server]\n")
    assert fraudwall("lists", "--config", config) == 2
    error = one_error_line(capsys)
    assert error.startswith(f"fraudwall: config error: {config}: ") and "UTF-8" in error


def test_the_last_resort_guard_turns_an_unexpected_os_error_into_one_line(tmp_path, capsys, monkeypatch):
    from fraudwall.resolver.cli import lists as commands

    def broken(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "somewhere"))

    monkeypatch.setattr(commands, "run_lists", broken)
    assert fraudwall("lists", "--db", tmp_path / "store.db") == 2
    assert one_error_line(capsys) == f"fraudwall: error: {tmp_path / 'somewhere'}: Permission denied\n"


def test_the_installed_command_prints_no_traceback(tmp_path, not_sqlite):
    """The same through a real process, as an operator would see it."""
    done = subprocess.run([sys.executable, "-m", "fraudwall.resolver.cli", "check", "x.example.org",
                           "--db", str(not_sqlite)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(not_sqlite) in done.stderr
