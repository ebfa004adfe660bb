"""`fraudwall report log` and `fraudwall report at-risk` over a query log: what the operator's terminal shows."""

import json
import time

import pytest
from fraudwall.resolver.cli import main
from fraudwall.resolver.observe.querylog import LogEntry, QueryLog

# A label a client chose: red text, a carriage return that would rewrite the line, an 8-bit CSI.
HOSTILE = "\x1b[31m\rok\x9b.icbc-tuikuan.example.com"
SHOWN = "\\027[31m\\013ok\\155.icbc-tuikuan.example.com"
# A CNAME target from an upstream the attacker runs, in the reason of an inspected answer.
REASON = "alias \x1b]8;;http://x.example\x07cdn.example.net listed in demo"


@pytest.fixture
def db(tmp_path):
    store = tmp_path / "blocklists.db"
    querylog = QueryLog(tmp_path / "querylog.db")
    now = time.time()
    querylog.write([LogEntry(now - 60 + index, "192.0.2.7", HOSTILE if index == 0 else f"n{index}.example.com",
                             "A", "blocked", REASON, "demo") for index in range(5)])
    querylog.close()
    return store


def printed(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_log_prints_names_and_reasons_escaped_in_text_and_json(db, capsys):
    text = printed(capsys, "report", "log", "--db", str(db))
    assert all(char.isprintable() for line in text.splitlines() for char in line)
    assert SHOWN in text and "alias \\027]8;;http://x.example\\007cdn.example.net" in text
    entries = [json.loads(line) for line in printed(capsys, "report", "log", "--db", str(db), "--json").splitlines()]
    assert entries[0]["name"] == SHOWN and "\\007cdn" in entries[0]["reason"]


def test_at_risk_prints_names_and_reasons_escaped_in_text_and_json(db, capsys):
    text = printed(capsys, "report", "at-risk", "--db", str(db))
    assert "192.0.2.7" in text and SHOWN in text
    assert all(char.isprintable() for line in text.splitlines() for char in line)
    [client] = [json.loads(line) for line in printed(capsys, "report", "at-risk", "--db", str(db),
                                                        "--json").splitlines()]
    assert client["names"][0] == SHOWN and client["attempts"][0]["name"] == SHOWN


def test_an_empty_window_says_so_in_one_line(db, capsys):
    QueryLog(db.with_name("querylog.db")).close()
    for verb, line in (("log", "no blocked or warned queries since "), ("at-risk", "no client at risk since ")):
        text = printed(capsys, "report", verb, "--db", str(db), "--client" if verb == "log" else "--since",
                       "192.0.2.99" if verb == "log" else "1s")
        assert text.startswith(line) and text.count("\n") == 1


def test_the_old_spelling_of_the_log_still_works(db, capsys):
    assert printed(capsys, "log", "--db", str(db)) == printed(capsys, "report", "log", "--db", str(db))


def test_log_names_the_clients_policy(tmp_path, capsys):
    querylog = QueryLog(tmp_path / "querylog.db")
    querylog.write([LogEntry(time.time() - 5, "127.0.0.2", "bad.example.org", "A", "warned",
                             "listed in phish (feed.txt:1)", "phish", policy="staff")])
    querylog.close()
    text = printed(capsys, "report", "log", "--db", str(tmp_path / "blocklists.db"))
    assert "bad.example.org" in text and "(policy staff)" in text
