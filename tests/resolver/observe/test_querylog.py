"""The query log: only blocked and warned queries by default, batched, pruned, pseudonymised on request."""

import sqlite3

import pytest
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.observe.querylog import (
    FOLD_AFTER,
    MAX_PENDING,
    LogEntry,
    QueryLog,
    QueryLogRecorder,
    parse_duration,
)
from fraudwall.scoring.score import Score, Verdict

from tests.resolver.helpers import make_query

LISTED = Match("fraud.example.net", Action.BLOCK, "demo", "fraud.example.net", "/srv/x:1", 0.0)
BLOCKED = Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, LISTED)
HOMOGLYPH = Score(0.9, Verdict.BLOCK, "paypal.com", ("homoglyph of paypal.com",), "homoglyph")
COMBOSQUAT = Score(0.7, Verdict.WARN, "paypal.com", ("paypal plus other words",), "combosquat")


def entry(time, client="192.0.2.7", name="fraud.example.net", verdict="blocked"):
    return LogEntry(time, client, name, "A", verdict, "listed in demo (demo:1)", "demo")


def test_recorder_keeps_blocked_scored_and_warned_answers_only():
    recorder = QueryLogRecorder(clock=lambda: 100.0)
    query = make_query("fraud.example.net", client="192.0.2.7")
    recorder.observe(query, BLOCKED, 0.001)
    recorder.observe(query, Answer(AnswerKind.SCORED, b"", Trigger.SCORER, HOMOGLYPH), 0.001)
    recorder.observe(query, Answer(AnswerKind.RESOLVED, b"", warning=COMBOSQUAT), 0.001)
    recorder.observe(query, Answer(AnswerKind.CACHED, b""), 0.001)
    batch = recorder.take()
    assert [item.verdict for item in batch] == ["blocked", "scored", "warned"]
    assert batch[1].reason == "scored 0.90: homoglyph of paypal.com" and batch[1].label == "homoglyph"
    assert batch[2].reason == "scored 0.70: paypal plus other words" and batch[2].label == "combosquat"
    assert batch[0] == LogEntry(100.0, "192.0.2.7", "fraud.example.net", "A", "blocked", "listed in demo (x:1)", "demo")
    assert recorder.take() == []


def test_log_all_keeps_allowed_answers_too():
    recorder = QueryLogRecorder(log_all=True)
    recorder.observe(make_query(), Answer(AnswerKind.CACHED, b""), 0.001)
    assert [item.verdict for item in recorder.take()] == ["cached"]


def test_repeats_by_the_same_client_are_one_entry_with_a_count():
    times = iter([100.0, 101.0, 102.0, 103.0])
    recorder = QueryLogRecorder(clock=lambda: next(times))
    answer = BLOCKED
    for _ in range(3):
        recorder.observe(make_query("fraud.example.net", client="192.0.2.7"), answer, 0.0)
    recorder.observe(make_query("fraud.example.net", client="192.0.2.8"), answer, 0.0)
    recorder.observe(make_query("fraud.example.net", "AAAA", client="192.0.2.7"), answer, 0.0)
    batch = recorder.take()
    assert [(item.client, item.qtype, item.count, item.time) for item in batch] == [
        ("192.0.2.7", "A", 3, 100.0), ("192.0.2.8", "A", 1, 101.0), ("192.0.2.7", "AAAA", 1, 102.0)]



def test_replays_counted_together_join_the_entry_with_their_number():
    times = iter([100.0, 101.0])
    recorder = QueryLogRecorder(clock=lambda: next(times))
    recorder.observe(make_query("fraud.example.net", client="192.0.2.7"), BLOCKED, 0.0)
    recorder.observe(make_query("fraud.example.net", client="192.0.2.7"), BLOCKED, 0.0004, 12)
    recorder.observe(make_query("fraud.example.net", client="192.0.2.8"), BLOCKED, 0.0003, 5)
    assert [(item.client, item.count, item.time) for item in recorder.take()] == [
        ("192.0.2.7", 13, 100.0), ("192.0.2.8", 5, 101.0)]

def test_a_burst_of_distinct_queries_beyond_the_bound_is_dropped_and_counted():
    recorder = QueryLogRecorder()
    answer = BLOCKED
    query = make_query()
    for index in range(MAX_PENDING + 5):
        recorder.observe(query._replace(qname=f"n{index}.example.net"), answer, 0.0)
    recorder.observe(query._replace(qname="n0.example.net"), answer, 0.0)   # kept: counted in its entry
    assert len(recorder.pending) == MAX_PENDING and recorder.dropped == 5
    assert recorder.take()[0].count == 2


def test_write_read_filter_by_client_and_name(tmp_path):
    log = QueryLog(tmp_path / "querylog.db")
    log.write([entry(1000), entry(1001, client="192.0.2.8", name="a.phish.example.org"),
               entry(1002, name="b.fraud.example.net")], now=1002)
    assert [item.time for item in log.read(0)] == [1000, 1001, 1002]
    assert [item.time for item in log.read(1001)] == [1001, 1002]
    assert [item.client for item in log.read(0, client="192.0.2.8")] == ["192.0.2.8"]
    assert [item.name for item in log.read(0, name_pattern="*.PHISH.example.org")] == ["a.phish.example.org"]
    log.close()


def test_old_rows_and_rows_beyond_the_cap_are_removed(tmp_path):
    log = QueryLog(tmp_path / "querylog.db", retention_days=1, max_rows=1000)
    log.write([entry(float(t), name=f"f{t}.example.net") for t in range(1200)], now=1200)
    assert len(log.read(0, limit=5000)) == 1000 and log.read(0)[0].time == 200
    log.write([entry(200_000.0)], now=200_000)
    assert [item.time for item in log.read(0)] == [200_000.0]
    log.close()


def test_pseudonymised_clients_are_stable_and_still_searchable(tmp_path):
    path = tmp_path / "querylog.db"
    log = QueryLog(path, pseudonymise=True)
    log.write([entry(1000)], now=1000)
    stored = log.read(0)[0].client
    assert stored.startswith("anon-") and "192.0.2.7" not in stored
    assert len(log.read(0, client="192.0.2.7")) == 1
    log.close()
    again = QueryLog(path, pseudonymise=True)
    assert again.client_id("192.0.2.7") == stored
    again.close()
    raw = sqlite3.connect(path).execute("SELECT client FROM querylog").fetchall()
    assert raw == [(stored,)]


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("30m") == 1800
    assert parse_duration("24h") == 86_400 and parse_duration("7d") == 604_800 and parse_duration("15") == 15
    for bad in ("", "h", "3 days", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_flood_is_written_as_one_counted_row(tmp_path):
    recorder = QueryLogRecorder(clock=lambda: 1000.0)
    answer = BLOCKED
    for client in ("192.0.2.7", "192.0.2.7", "192.0.2.8", "192.0.2.7"):
        recorder.observe(make_query("fraud.example.net", client=client), answer, 0.0)
    log = QueryLog(tmp_path / "querylog.db")
    log.write(recorder.take(), now=1001)
    rows = log.read(0)
    assert [(row.client, row.name, row.count) for row in rows] == [
        ("192.0.2.7", "fraud.example.net", 3), ("192.0.2.8", "fraud.example.net", 1)]
    log.close()


def test_a_log_from_before_counted_repeats_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "querylog.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE querylog (time REAL NOT NULL, client TEXT NOT NULL, name TEXT NOT NULL, "
                "qtype TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL, label TEXT NOT NULL)")
    old.execute("INSERT INTO querylog VALUES (1000, '192.0.2.7', 'fraud.example.net', 'A', 'blocked', 'r', 'demo')")
    old.commit()
    old.close()
    log = QueryLog(path)
    log.write([entry(1001, name="phish.example.org")], now=1001)
    assert [(row.name, row.count) for row in log.read(0)] == [("fraud.example.net", 1), ("phish.example.org", 1)]
    log.close()


def test_a_log_from_before_policies_is_upgraded_and_rows_keep_their_policy(tmp_path):
    path = tmp_path / "querylog.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE querylog (time REAL NOT NULL, client TEXT NOT NULL, name TEXT NOT NULL, "
                "qtype TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL, label TEXT NOT NULL, "
                "count INTEGER NOT NULL DEFAULT 1)")
    old.execute("INSERT INTO querylog VALUES (1000, '192.0.2.7', 'fraud.example.net', 'A', 'blocked', 'r', 'demo', 1)")
    old.commit()
    old.close()
    recorder = QueryLogRecorder(clock=lambda: 1001.0)
    recorder.observe(make_query("fraud.example.net", client="192.0.2.9"), BLOCKED._replace(policy="guests"), 0.001)
    log = QueryLog(path)
    log.write(recorder.take(), now=1001)
    assert [(row.client, row.policy) for row in log.read(0)] == [("192.0.2.7", ""), ("192.0.2.9", "guests")]
    log.close()


def test_a_block_a_policy_let_through_is_logged_as_warned_or_unfiltered():
    from fraudwall.resolver.dns.answer import Withheld

    recorder = QueryLogRecorder(clock=lambda: 1.0)
    for client, mode in (("192.0.2.1", "warn"), ("192.0.2.2", "off")):
        answer = Answer(AnswerKind.RESOLVED, b"", warning=Withheld(Trigger.NAME, LISTED, "", mode), policy=mode)
        recorder.observe(make_query("fraud.example.net", client=client), answer, 0.001)
    rows = recorder.take()
    assert [(row.verdict, row.reason, row.label, row.policy) for row in rows] == [
        ("warned", "listed in demo (x:1)", "demo", "warn"), ("unfiltered", "listed in demo (x:1)", "demo", "off")]


def test_a_flood_of_new_names_under_listed_names_keeps_each_rows_own_reason(tmp_path):
    other = Match("scam.example.org", Action.BLOCK, "phishing", "scam.example.org", "https://feed.example/p.txt:9", 0.0)
    recorder = QueryLogRecorder(clock=lambda: 100.0)
    for index in range(3):
        for match in (LISTED, other):
            recorder.observe(make_query(f"x{index}.{match.name}", client="192.0.2.7"),
                             Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, match), 0.0)
    recorder.observe(make_query("paypa1.example", client="192.0.2.7"),
                     Answer(AnswerKind.SCORED, b"", Trigger.SCORER, HOMOGLYPH), 0.0)
    log = QueryLog(tmp_path / "q.db")
    log.write(recorder.take(), now=100.0)
    rows = [(row.name, row.reason, row.label) for row in log.read(0.0)]
    assert sorted(rows) == sorted(
        [(f"x{index}.fraud.example.net", "listed in demo (x:1)", "demo") for index in range(3)]
        + [(f"x{index}.scam.example.org", "listed in phishing (p.txt:9)", "phishing") for index in range(3)]
        + [("paypa1.example", "scored 0.90: homoglyph of paypal.com", "homoglyph")])


def test_a_random_subdomain_flood_is_folded_into_one_row_per_listed_entry(tmp_path):
    recorder = QueryLogRecorder(clock=lambda: 100.0)
    answer = BLOCKED
    for index in range(FOLD_AFTER + 500):
        recorder.observe(make_query(f"r{index}.fraud.example.net", client="192.0.2.7"), answer, 0.0)
    recorder.observe(make_query("r1.fraud.example.net", client="192.0.2.7"), answer, 0.0)   # one seen before
    recorder.observe(make_query("fraud.example.net", client="192.0.2.7"), answer, 0.0)      # the entry itself
    recorder.observe(make_query("r9999.fraud.example.net", client="192.0.2.8"), answer, 0.0)  # another client
    log = QueryLog(tmp_path / "q.db")
    log.write(recorder.take(), now=100.0)
    rows = {(row.client, row.name): row.count for row in log.read(0.0)}
    assert rows.pop(("192.0.2.7", "*.fraud.example.net")) == 500
    assert rows.pop(("192.0.2.7", "r1.fraud.example.net")) == 2
    assert rows.pop(("192.0.2.7", "fraud.example.net")) == 1
    assert rows.pop(("192.0.2.8", "r9999.fraud.example.net")) == 1
    assert sorted(rows) == [("192.0.2.7", f"r{index}.fraud.example.net") for index in sorted(
        set(range(FOLD_AFTER)) - {1}, key=lambda index: f"r{index}")]
    # The next batch starts again: the first new names are rows of their own.
    recorder.observe(make_query("next.fraud.example.net", client="192.0.2.7"), answer, 0.0)
    assert [entry.name for entry in recorder.take()] == ["next.fraud.example.net"]
    log.close()
