"""The query log: blocked and warned queries, written to SQLite in batches off the query path.

The observer only counts the entry in a dict; once a second the resolver hands the batch to
a thread that writes it. Allowed queries are only counted (metrics) unless `log_all` is on.
Rows older than the retention period, or beyond the row cap, are removed as new ones come.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Iterable, NamedTuple

from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns.answer import Answer, Withheld
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.explain import log_columns
from fraudwall.resolver.dns.handler import SIBLINGS_ONE_BY_ONE
from fraudwall.resolver.observe.metrics import KIND_LABELS, qtype_label

_new_entry = tuple.__new__   # LogEntry(...) is Python code; a batch builds one per distinct query

# A burst of more distinct entries than this waiting for the writer is dropped (and counted), never
# queued without bound.
MAX_PENDING = 100_000
# New names below one listed entry from one client, each a row of its own, until a batch has this many;
# the rest of them that batch is one row `*.ENTRY` with their count. A random-subdomain flood (a
# phishing kit, a water-torture attack) then writes ~10 rows a second, not one per query: it neither
# pushes the log's history out past `max_rows` nor takes the writer's CPU from the answers.
FOLD_AFTER = SIBLINGS_ONE_BY_ONE   # the handler tells a flood's kept siblings past as many as one
# Bound once: the observer sees every query, and an enum member look-up costs ~0.1 us.
_BLOCKED, _SCORED = AnswerKind.BLOCKED, AnswerKind.SCORED

SCHEMA = """
CREATE TABLE IF NOT EXISTS querylog (
    time REAL NOT NULL,
    client TEXT NOT NULL,
    name TEXT NOT NULL,
    qtype TEXT NOT NULL,
    verdict TEXT NOT NULL,   -- blocked | scored | warned | unfiltered | answered | cached | ...
    reason TEXT NOT NULL,
    label TEXT NOT NULL,     -- the list or scorer rule
    count INTEGER NOT NULL DEFAULT 1,  -- the same query from the same client within one batch
    policy TEXT NOT NULL DEFAULT ''    -- the client's [[policy]]; '' when none is configured
);
CREATE INDEX IF NOT EXISTS querylog_time ON querylog (time);
CREATE INDEX IF NOT EXISTS querylog_client_time ON querylog (client, time);
CREATE TABLE IF NOT EXISTS querylog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class LogEntry(NamedTuple):
    time: float      # of the first of `count` identical queries
    client: str
    name: str
    qtype: str
    verdict: str
    reason: str
    label: str
    count: int = 1
    policy: str = ""   # the client's `[[policy]]`, "" when none is configured


def verdict_of(answer: Answer) -> str | None:
    """What the log calls an answer; None for answers that are only counted."""
    kind = answer.kind
    if kind is _BLOCKED or kind is _SCORED:
        return KIND_LABELS[kind]
    warning = answer.warning
    if warning is not None:
        # A block that a policy in mode off let through is logged, not warned about.
        return "unfiltered" if type(warning) is Withheld and warning.mode == "off" else "warned"
    return None


class QueryLogRecorder:
    """The handler's observer: keeps the entries to log until the writer takes them.

    Repeats of the same query by the same client until the next take are one entry with a count:
    a retrying app or a flood is one line, and costs a dict update, not a row. Past `FOLD_AFTER`
    new names below one listed entry, a client's further ones are one entry too (`*.ENTRY`). An
    entry's reason and label are rendered when it is taken, once however many times it came.
    """

    def __init__(self, log_all: bool = False, clock=time.time) -> None:
        self.log_all = log_all
        self.clock = clock
        # (client, name, qtype number, verdict, policy, trigger, id(match), detail, id(warning))
        #   -> [time of the first, count, match, warning]
        # The match and the warning are keyed by identity, and kept alive by the entry meanwhile:
        # hashing a Match hashes all its fields; one decision is one object for a whole flood.
        self.pending: dict[tuple, list] = {}
        # (client, id(match), verdict, policy) -> new names below that entry seen this batch
        self.below: dict[tuple, int] = {}
        self.dropped = 0

    def observe(self, query: Query, answer: Answer, seconds: float, count: int = 1) -> None:
        """The handler's observer: one answer, or `count` replays of it."""
        verdict = verdict_of(answer)
        if verdict is None:
            if not self.log_all:
                return
            verdict = KIND_LABELS[answer.kind]
        match, warning = answer.match, answer.warning
        key = (query.client, query.qname, query.qtype, verdict, answer.policy, answer.trigger, id(match),
               answer.detail, id(warning))
        pending = self.pending
        seen = pending.get(key)
        if seen is not None:
            seen[1] += count
            return
        name = query.qname
        if type(match) is Match and len(name) > len(match.name) and name.endswith(match.name) \
                and name[-len(match.name) - 1] == ".":
            # A new name below a listed entry: past FOLD_AFTER of them, this client's are one entry.
            below = (query.client, key[6], verdict, answer.policy)
            names = self.below.get(below, 0)
            if names >= FOLD_AFTER:
                key = (query.client, "*." + match.name, *key[2:])
                seen = pending.get(key)
                if seen is not None:
                    seen[1] += count
                    return
            else:
                self.below[below] = names + 1
        if len(pending) >= MAX_PENDING:
            self.dropped += count
        else:
            pending[key] = [self.clock(), count, match, warning]

    def take(self) -> list[LogEntry]:
        """The entries kept since the last take, in the order they first came."""
        batch, self.pending = self.pending, {}
        self.below = {}
        # A flood of new names under one listed name is one decision over and over: rendered once a batch.
        columns: dict[tuple, tuple[str, str]] = {}
        entries = []
        append = entries.append
        for key, (first, count, match, warning) in batch.items():
            client, name, qtype, verdict, policy, trigger, match_id, detail, warning_id = key
            decided_by = (trigger, match_id, detail, warning_id)
            reason_label = columns.get(decided_by)
            if reason_label is None:
                reason_label = columns[decided_by] = log_columns(trigger, match, detail, warning)
            append(_new_entry(LogEntry, (first, client, name, qtype_label(qtype), verdict, reason_label[0],
                                         reason_label[1], count, policy)))
        return entries


class QueryLog:
    """The SQLite file of the query log; one per process, used from one thread at a time."""

    def __init__(self, path: str | Path, retention_days: float = 30.0, max_rows: int = 1_000_000,
                 pseudonymise: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_seconds = retention_days * 86_400
        self.max_rows = max_rows
        self.connection = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(SCHEMA)
        self._upgrade()
        self._key = self._client_key() if pseudonymise else None

    def _upgrade(self) -> None:
        """Bring a log written by an earlier fraudwall up to this schema, keeping its rows."""
        columns = {row[1] for row in self.connection.execute("PRAGMA table_info(querylog)")}
        if "count" not in columns:
            # Before repeats were counted, every row stood for one query.
            self.connection.execute("ALTER TABLE querylog ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
        if "policy" not in columns:
            # Before [[policy]] tables, every client had the one policy.
            self.connection.execute("ALTER TABLE querylog ADD COLUMN policy TEXT NOT NULL DEFAULT ''")

    def _client_key(self) -> bytes:
        """The key of the client pseudonyms, made once per log so that they stay stable across restarts."""
        row = self.connection.execute("SELECT value FROM querylog_meta WHERE key = 'client_key'").fetchone()
        if row is None:
            self.connection.execute("INSERT OR IGNORE INTO querylog_meta VALUES ('client_key', ?)",
                                    (secrets.token_hex(32),))
            row = self.connection.execute("SELECT value FROM querylog_meta WHERE key = 'client_key'").fetchone()
        return bytes.fromhex(row[0])

    def client_id(self, address: str) -> str:
        """The address as stored: itself, or a keyed hash of it when pseudonymised."""
        if self._key is None:
            return address
        return "anon-" + hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:16]

    def write(self, entries: Iterable[LogEntry], now: float | None = None) -> int:
        if self._key is None:
            rows = entries if isinstance(entries, list) else list(entries)   # a LogEntry is a row, in column order
        else:
            pseudonyms: dict[str, str] = {}   # one keyed hash per client a batch, not per row
            rows = []
            for e in entries:
                client = pseudonyms.get(e.client)
                if client is None:
                    client = pseudonyms[e.client] = self.client_id(e.client)
                rows.append((e.time, client, e.name, e.qtype, e.verdict, e.reason, e.label, e.count, e.policy))
        if not rows:
            return 0
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany("INSERT INTO querylog (time, client, name, qtype, verdict, reason, label, count, policy) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._prune(time.time() if now is None else now)
        return len(rows)

    def _prune(self, now: float) -> None:
        self.connection.execute("DELETE FROM querylog WHERE time < ?", (now - self.retention_seconds,))
        # Rows are appended (rowid = the largest + 1) and removed from the oldest, so the rowids in use
        # are about one run: their span counts the rows from the table's two ends, where count(*) reads
        # a whole index (a million rows: ~10 ms, once a second per worker).
        low, high = self.connection.execute("SELECT min(rowid), max(rowid) FROM querylog").fetchone()
        if high is not None and high - low + 1 > self.max_rows:
            self.connection.execute("DELETE FROM querylog WHERE rowid <= ?", (high - self.max_rows,))

    def read(self, since: float, client: str = "", name_pattern: str = "", limit: int = 10_000) -> list[LogEntry]:
        """Entries from `since` on, newest last; `name_pattern` is a shell pattern (`*.example.org`)."""
        sql = "SELECT time, client, name, qtype, verdict, reason, label, count, policy FROM querylog WHERE time >= ?"
        arguments: list[object] = [since]
        if client:
            sql += " AND client IN (?, ?)"
            arguments += [client, self.client_id(client)]
        if name_pattern:
            sql += " AND name GLOB ?"
            arguments.append(name_pattern.lower().rstrip("."))
        sql += " ORDER BY time DESC LIMIT ?"
        arguments.append(limit)
        rows = self.connection.execute(sql, arguments).fetchall()
        return [LogEntry(*row) for row in reversed(rows)]

    def close(self) -> None:
        self.connection.close()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `24h`, `7d`, `2w` (or plain seconds) to seconds; ValueError otherwise."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 24h or 7d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def log_path(path: str, store_db: str) -> Path:
    """`path`, or querylog.db beside the blocklist store: its own file, so its writes never slow the lists."""
    if path:
        return Path(path).expanduser()
    from fraudwall.blocklists.store import resolve_db

    return resolve_db(store_db).with_name("querylog.db")
