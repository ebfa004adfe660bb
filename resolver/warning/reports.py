"""The "this is a mistake" reports and the page views, in two tables of their own in the store's SQLite file.

The blocklists store owns the file; these tables only share it so that one backup
keeps both. This module opens its own connection (WAL, busy_timeout) and never
touches the store's tables. Calls block on SQLite: the server runs them on one
worker thread, never on the resolver's event loop.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from fraudwall.resolver.warning.reason import BlockReason

SCHEMA = """
CREATE TABLE IF NOT EXISTS warning_reports(
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, host TEXT NOT NULL,
    path TEXT NOT NULL DEFAULT '', reference TEXT NOT NULL DEFAULT '',
    source_kind TEXT NOT NULL DEFAULT '', label TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '', brand TEXT NOT NULL DEFAULT '',
    client TEXT NOT NULL, client_key TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'open', closed_at REAL);
CREATE INDEX IF NOT EXISTS warning_reports_client ON warning_reports(client_key, at);
CREATE INDEX IF NOT EXISTS warning_reports_at ON warning_reports(at);
CREATE TABLE IF NOT EXISTS warning_views(
    reference TEXT PRIMARY KEY, host TEXT NOT NULL, source_kind TEXT NOT NULL, label TEXT NOT NULL,
    reason TEXT NOT NULL, brand TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    views INTEGER NOT NULL) WITHOUT ROWID;
"""
# Whatever the per-client rate, at most this many reports an hour in all: a botnet
# rotating addresses fills a review queue nobody reads, not the disk.
ALL_CLIENTS_PER_HOUR = 1000
# Views kept (one row per blocked name and list); the least recently seen go first.
MOST_VIEWS = 100_000
PATH_MAX = 500
HOST_MAX = 253 + 6


class Report(NamedTuple):
    id: int
    at: float
    host: str
    path: str
    reference: str
    source_kind: str
    label: str
    reason: str
    brand: str
    client: str
    comment: str
    language: str
    status: str          # "open" or "allowed"
    closed_at: float | None


class ViewRecord(NamedTuple):
    reference: str
    host: str
    source_kind: str
    label: str
    reason: str
    brand: str
    first_seen: float
    last_seen: float
    views: int


def default_state_dir() -> Path:
    """/var/lib/fraudwall as root, else $XDG_STATE_HOME/fraudwall (~/.local/state/fraudwall): as the store does."""
    if os.geteuid() == 0:
        return Path("/var/lib/fraudwall")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "fraudwall"


def store_path_of(config: object) -> str:
    """The blocklist store's file as `serve` opens it; "" when the config serves lists without a store.

    The resolver passes the same to `start_servers`, so both find the same reports.
    """
    blocklists = getattr(config, "blocklists", None)
    if blocklists is None or not getattr(blocklists, "store", True):
        return ""
    from fraudwall.blocklists import store
    return str(store.resolve_db(blocklists.db))


def reports_path(store_path: str, ca_dir: str = "") -> Path:
    """The store's file when there is one; else warning.db beside the CA directory (or its default).

    A file rather than memory, so reports sent while serving the demo list survive a
    restart and `fraudwall reports` (another process) finds them by the same rule.
    """
    if store_path:
        return Path(store_path).expanduser()
    ca = Path(ca_dir).expanduser() if ca_dir else default_state_dir() / "ca"
    return ca.parent / "warning.db"


def client_key(address: str) -> str:
    """What the rate limit counts by: the address, or its /64 for IPv6 (one host owns a whole /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class ReportStore:
    def __init__(self, path: str | Path) -> None:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: made on the loop's thread, used on the one worker thread;
        # the lock keeps it to one user at a time anyway.
        self._connection = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._views_added = 0
        with self._lock:
            self._connection.execute("PRAGMA busy_timeout=5000")
            if path != ":memory:":
                self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def add_report(self, *, host: str, path: str, reference: str, reason: BlockReason | None, client: str,
                   comment: str, language: str, now: float, per_hour: int) -> int | None:
        """The new report's id, or None when the client (or everybody) sent too many in the last hour."""
        key = client_key(client)
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                hour_ago = now - 3600
                mine = connection.execute("SELECT count(*) FROM warning_reports WHERE client_key=? AND at>?",
                                          (key, hour_ago)).fetchone()[0]
                everybody = connection.execute("SELECT count(*) FROM warning_reports WHERE at>?",
                                               (hour_ago,)).fetchone()[0]
                if mine >= per_hour or everybody >= ALL_CLIENTS_PER_HOUR:
                    connection.execute("COMMIT")
                    return None
                why = reason or BlockReason(host, "", "", "")
                cursor = connection.execute(
                    "INSERT INTO warning_reports(at, host, path, reference, source_kind, label, reason, brand,"
                    " client, client_key, comment, language) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (now, host[:HOST_MAX], path[:PATH_MAX], reference, why.source_kind, why.label, why.reason,
                     why.brand, client, key, comment, language))
                connection.execute("COMMIT")
                return cursor.lastrowid
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def record_view(self, reference: str, reason: BlockReason, now: float) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT INTO warning_views VALUES (?,?,?,?,?,?,?,?,1) ON CONFLICT(reference) DO UPDATE"
                " SET last_seen=excluded.last_seen, views=views+1",
                (reference, reason.name[:HOST_MAX], reason.source_kind, reason.label, reason.reason,
                 reason.brand, now, now))
            self._views_added += 1
            if self._views_added % 1000 == 0:
                self._connection.execute(
                    "DELETE FROM warning_views WHERE reference IN (SELECT reference FROM warning_views"
                    " ORDER BY last_seen DESC LIMIT -1 OFFSET ?)", (MOST_VIEWS,))

    def reports(self, status: str | None = None, limit: int = 1000) -> list[Report]:
        query = "SELECT * FROM warning_reports"
        parameters: tuple = ()
        if status:
            query += " WHERE status=?"
            parameters = (status,)
        with self._lock:
            rows = self._connection.execute(query + " ORDER BY id DESC LIMIT ?", parameters + (limit,)).fetchall()
        return [_report(row) for row in rows]

    def report(self, report_id: int) -> Report | None:
        with self._lock:
            row = self._connection.execute("SELECT * FROM warning_reports WHERE id=?", (report_id,)).fetchone()
        return _report(row) if row else None

    def view(self, reference: str) -> ViewRecord | None:
        with self._lock:
            row = self._connection.execute("SELECT * FROM warning_views WHERE reference=?",
                                           (reference.strip().upper(),)).fetchone()
        return ViewRecord(*row) if row else None

    def close_reports(self, host: str, status: str, now: float) -> int:
        """Marks every open report of `host` with `status` ("allowed"); how many it changed."""
        with self._lock:
            cursor = self._connection.execute(
                "UPDATE warning_reports SET status=?, closed_at=? WHERE host=? AND status='open'",
                (status, now, host))
        return cursor.rowcount


def _report(row: tuple) -> Report:
    # SELECT * in the table's column order, minus client_key (index 10).
    values = list(row)
    del values[10]
    return Report(*values)
