"""The "this is a mistake" reports and the page views, in a file of their own beside the store.

`reports.db` sits beside the blocklist store (as `querylog.db` does), so the page's writes
never wait on an import's lock and an import never waits on them. Older versions kept these
tables in the store's own file: `reports_path` moves them out the first time it finds them.
Calls block on SQLite: the server runs them on one worker thread, never on the resolver's
event loop.
"""

from __future__ import annotations

import contextlib
import ipaddress
import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from fraudwall.blocklists.store import default_state_dir
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
REPORTS_FILE = "reports.db"       # beside the blocklist store
TABLES = ("warning_reports", "warning_views")


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
    """reports.db beside the store's file when there is one; else warning.db beside the CA
    directory (or its default).

    A file rather than memory, so reports sent while serving the demo list survive a
    restart and `fraudwall report mistakes` (another process) finds them by the same rule. The
    reports an older version kept in the store's own file are moved here first.
    """
    if store_path:
        store = Path(store_path).expanduser()
        path = store.with_name(REPORTS_FILE)
        if path != store:
            move_out_of_store(store, path)
        return path
    ca = Path(ca_dir).expanduser() if ca_dir else default_state_dir() / "ca"
    return ca.parent / "warning.db"


def move_out_of_store(store: Path, path: Path) -> int:
    """Move the report and view tables an older version kept in the store's file to `path`; the rows moved.

    Copied first (rows already there are kept: a move cut short is finished by the next
    call), then dropped from the store, so a crash between the two loses nothing. OSError
    says why a move could not be made; the store keeps the rows then.
    """
    try:
        if not store.is_file():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as reader:
            found = [name for (name,) in reader.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", TABLES)]
    except sqlite3.Error:
        return 0      # no SQLite file (yet): nothing of ours in it
    if not found:
        return 0
    ReportStore(path).close()     # the file and its tables
    moved = 0
    try:
        with contextlib.closing(sqlite3.connect(store, timeout=30, isolation_level=None)) as connection:
            connection.execute("ATTACH DATABASE ? AS reports", (str(path),))
            for table in found:
                columns = ", ".join(row[1] for row in connection.execute(f"PRAGMA main.table_info({table})"))
                moved += connection.execute(f"INSERT OR IGNORE INTO reports.{table}({columns})"
                                            f" SELECT {columns} FROM main.{table}").rowcount
            connection.execute("DETACH DATABASE reports")
            connection.execute("BEGIN IMMEDIATE")
            for table in found:
                connection.execute(f"DROP TABLE IF EXISTS main.{table}")
            connection.execute("COMMIT")
    except sqlite3.Error as error:
        raise OSError(f"{store}: cannot move the warning reports to {path}: {error}") from None
    return moved


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
