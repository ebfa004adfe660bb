"""The on-disk store: one SQLite catalogue plus immutable segment files per list generation.

Layout, for `blocklists.db`:

    blocklists.db            catalogue (WAL): lists, manual entries, released quarantine,
                             the change log, meta (which filter file is current, its CRC)
    blocklists.db.d/         one directory beside it
      seg-<list>-<gen>-<k>.db   the entries of one import of one list, written once by
                             import worker k, then only read (`immutable=1`: no locks,
                             no WAL, shared by every worker process through the page cache)
      list-<list>-<gen>.bloom   that import's own filter (same geometry as the global one)
      filter-<n>.bloom          the global filter: the OR of every list's filter

Why segments: a 25-million-row table is built fastest by several processes each filling
its own file, and a re-import swaps a whole list by changing one catalogue row: a reader
sees the old generation's files or the new one's, never a mix, and a crash mid-import
leaves unreferenced files that the next writer removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from fraudwall.blocklists.formats import DomainEntry, Mode, NetworkEntry
from fraudwall.blocklists.verdict import Action

SCHEMA_VERSION = 1
MANUAL_LIST = "manual"
# What a list may be called (`manual` aside): it is part of file names in the store's directory.
LIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
ACTIONS = tuple(Action)          # stored as the index into this tuple
ACTION_CODE = {action: index for index, action in enumerate(ACTIONS)}
IMPORTANT = 1                    # flags bit: an AdBlock `$important` block
# A name entry's columns, in a segment's `names` and the catalogue's `released` alike.
NAME_COLUMNS = "name, mode, action, flags, src, line, rule, redirect"

CATALOGUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lists(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, source TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT '', match TEXT NOT NULL DEFAULT 'subtree',
    gen INTEGER NOT NULL DEFAULT 0, segments INTEGER NOT NULL DEFAULT 0,
    imported_at REAL, names INTEGER NOT NULL DEFAULT 0, networks INTEGER NOT NULL DEFAULT 0,
    urls INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0,
    sources TEXT NOT NULL DEFAULT '[]', etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS manual(
    name TEXT NOT NULL, mode INTEGER NOT NULL, action INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0,
    rule TEXT, redirect TEXT, added REAL NOT NULL, PRIMARY KEY(name, mode)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS manual_networks(
    network TEXT PRIMARY KEY, action INTEGER NOT NULL, rule TEXT, added REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS released(
    list_id INTEGER NOT NULL, name TEXT NOT NULL, mode INTEGER NOT NULL, action INTEGER NOT NULL,
    flags INTEGER NOT NULL, src INTEGER, line INTEGER, rule TEXT, redirect TEXT, added REAL NOT NULL,
    PRIMARY KEY(list_id, name, mode)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS released_name ON released(name);
-- The admin's confirmations: a confirmed name is not quarantined again by the list's next imports.
CREATE TABLE IF NOT EXISTS confirmed(list_id INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY(list_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL,
    list TEXT NOT NULL, name TEXT NOT NULL DEFAULT '');
"""

SEGMENT_SCHEMA = """
CREATE TABLE names(name TEXT NOT NULL, mode INTEGER NOT NULL, action INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0, src INTEGER NOT NULL DEFAULT 0, line INTEGER,
    rule TEXT, redirect TEXT, PRIMARY KEY(name, mode, action)) WITHOUT ROWID;
CREATE TABLE networks(network TEXT NOT NULL, action INTEGER NOT NULL, src INTEGER, line INTEGER,
    rule TEXT, PRIMARY KEY(network)) WITHOUT ROWID;
CREATE TABLE urls(url TEXT NOT NULL, host TEXT NOT NULL, src INTEGER, line INTEGER,
    PRIMARY KEY(url)) WITHOUT ROWID;
CREATE TABLE held(name TEXT NOT NULL, mode INTEGER NOT NULL, action INTEGER NOT NULL,
    flags INTEGER NOT NULL, src INTEGER, line INTEGER, rule TEXT, redirect TEXT, reason TEXT,
    PRIMARY KEY(name, mode)) WITHOUT ROWID;
"""


class StoreError(Exception):
    """Something about the store an operator must fix; the message says what."""


class ListInfo(NamedTuple):
    id: int
    name: str
    source: str
    format: str
    match: str
    gen: int
    segments: int
    imported_at: float | None
    names: int
    networks: int
    urls: int
    held: int
    sources: tuple[str, ...]
    etag: str
    last_modified: str


@dataclass(frozen=True)
class StorePaths:
    db: Path

    @property
    def directory(self) -> Path:
        return self.db.with_name(self.db.name + ".d")

    @property
    def lock(self) -> Path:
        return self.db.with_name(self.db.name + ".lock")

    def segment(self, list_name: str, gen: int, index: int) -> Path:
        return self.directory / f"seg-{list_name}-{gen}-{index}.db"

    def list_filter(self, list_name: str, gen: int) -> Path:
        return self.directory / f"list-{list_name}-{gen}.bloom"

    def filter(self, number: int) -> Path:
        return self.directory / f"filter-{number}.bloom"


def default_state_dir() -> Path:
    """Where fraudwall keeps what it learns when no setting says: $FRAUDWALL_STATE_DIR when set (`make
    serve` sets the checkout's .state/, so a demo never touches a production store), else
    /var/lib/fraudwall as root, else $XDG_STATE_HOME/fraudwall (~/.local/state/fraudwall). The store,
    the warning page's CA and reports all start from here, so a newcomer's `serve`, `block` and
    `report mistakes` meet."""
    if os.environ.get("FRAUDWALL_STATE_DIR"):
        return Path(os.environ["FRAUDWALL_STATE_DIR"]).expanduser()
    if os.geteuid() == 0:
        return Path("/var/lib/fraudwall")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "fraudwall"


def default_db_path() -> Path:
    """Where a newcomer's `serve` and `block` meet without any setting: a system path as root."""
    return default_state_dir() / "blocklists.db"


def resolve_db(db: str) -> Path:
    return Path(db).expanduser() if db else default_db_path()


def connect_catalogue(path: Path, create: bool = True) -> sqlite3.Connection:
    """A writing connection to the catalogue; creates it (and its directory) on first use."""
    if not path.exists() and not create:
        raise StoreError(f"{path}: no blocklist store here (import a list first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        StorePaths(path).directory.mkdir(exist_ok=True)
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(CATALOGUE_SCHEMA)
        connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"{path}: cannot open the blocklist store: {error}") from None
    return connection


def connect_catalogue_readonly(path: Path) -> sqlite3.Connection:
    """A reading connection for the query path (several worker processes may hold one each)."""
    if not path.exists():
        raise StoreError(f"{path}: no blocklist store here")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5,
                                     isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only=1")
        connection.execute("PRAGMA cache_size=-2000")
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot open the blocklist store: {error}") from None
    return connection


def connect_segment(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                                 isolation_level=None, check_same_thread=False)
    # Small private cache, no map: pages come from the kernel's page cache, which every
    # worker shares, and a worker's resident size stays that of its own work. (Mapping
    # the segments made 100 000 random lookups in a 25 M store leave 1.1 GB resident.)
    connection.execute("PRAGMA mmap_size=0")
    connection.execute("PRAGMA cache_size=-2000")
    return connection


# SQLite's page cache while a segment is written, which is also what its sort of the staged names holds in
# memory before it spills a sorted run to a temporary file (`temporary_files_in`). Small runs sort in the
# CPU's cache: for 12.5 M names the sort and insert took 23 CPU-s with 4 MiB, 38 with 128 MiB (and 490 MB
# of memory instead of 110); filling the B-tree in order needs no more than its right-hand edge.
SORT_KIB = 4 << 10
# The staging table of a segment's name rows: a segment's `names` columns, in the order they came.
STAGE_COLUMNS = ("name TEXT NOT NULL, mode INTEGER NOT NULL, action INTEGER NOT NULL, flags INTEGER NOT NULL"
                 " DEFAULT 0, src INTEGER NOT NULL DEFAULT 0, line INTEGER, rule TEXT, redirect TEXT")


@contextlib.contextmanager
def writer_lock(paths: StorePaths, wait: bool = True) -> Iterator[None]:
    """One writer at a time (imports and manual changes both rewrite the filter)."""
    try:
        paths.db.parent.mkdir(parents=True, exist_ok=True)
        handle = open(paths.lock, "a+")
    except OSError as error:
        raise StoreError(f"{paths.db}: cannot open the blocklist store: {error.strerror}") from None
    with handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            raise StoreError(f"{paths.db}: another import or change is running") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_lists(connection: sqlite3.Connection) -> dict[str, ListInfo]:
    rows = connection.execute(
        "SELECT id, name, source, format, match, gen, segments, imported_at, names, networks, urls,"
        " held, sources, etag, last_modified FROM lists ORDER BY id").fetchall()
    return {row[1]: ListInfo(*row[:12], tuple(json.loads(row[12])), row[13], row[14]) for row in rows}


def meta(connection: sqlite3.Connection, key: str, default: object = None) -> object:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else row[0]


def set_meta(connection: sqlite3.Connection, key: str, value: object) -> None:
    connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


@contextlib.contextmanager
def writing(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed when the block ends, rolled back when it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def reading(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every read in the block sees the same state of the catalogue."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def data_version(connection: sqlite3.Connection) -> int:
    """A number that changes when another connection has changed the catalogue (cheap: no read)."""
    return connection.execute("PRAGMA data_version").fetchone()[0]


def last_change(connection: sqlite3.Connection) -> int:
    """The id of the newest change log entry (0 for none)."""
    return connection.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]


def changes_since(connection: sqlite3.Connection, change_id: int) -> list[tuple[int, str, str]]:
    """(id, kind, name) of each change after `change_id`, oldest first."""
    return connection.execute("SELECT id, kind, name FROM changes WHERE id > ? ORDER BY id",
                              (change_id,)).fetchall()


def count_manual(connection: sqlite3.Connection) -> tuple[int, int]:
    """How many names and how many networks the operator blocked or allowed."""
    names = connection.execute("SELECT count(*) FROM manual").fetchone()[0]
    networks = connection.execute("SELECT count(*) FROM manual_networks").fetchone()[0]
    return names, networks


def manual_entries(connection: sqlite3.Connection) -> list[tuple]:
    """(name, mode, action, flags, rule, redirect, added) of each of the operator's name entries."""
    return connection.execute("SELECT name, mode, action, flags, rule, redirect, added FROM manual").fetchall()


def manual_networks(connection: sqlite3.Connection) -> list[tuple]:
    """(network, action, rule, added) of each of the operator's address and network entries."""
    return connection.execute("SELECT network, action, rule, added FROM manual_networks").fetchall()


def released_entries(connection: sqlite3.Connection) -> list[tuple]:
    """(list id, name, mode, action, flags, src, line, rule, redirect, added) of each confirmed
    quarantine entry of the lists' current imports."""
    return connection.execute(f"SELECT list_id, {NAME_COLUMNS}, added FROM released").fetchall()


def released_names(connection: sqlite3.Connection) -> set[tuple[str, str]]:
    """(list, name) of each quarantine entry enforced since its list's last import."""
    return set(connection.execute("SELECT l.name, r.name FROM released r JOIN lists l ON l.id = r.list_id"))


def confirmed_names(connection: sqlite3.Connection, list_name: str) -> frozenset[str]:
    """The names the admin confirmed for a list: its imports do not quarantine them again."""
    return frozenset(name for (name,) in connection.execute(
        "SELECT c.name FROM confirmed c JOIN lists l ON l.id = c.list_id WHERE l.name = ?", (list_name,)))


def make_current(connection: sqlite3.Connection, info: ListInfo) -> None:
    """Make an import's generation its list's current one (`info.id` is not used; call inside
    `writing`, with the generation's files in place). Its released entries are dropped: the
    names the admin confirmed are in the new segments now."""
    connection.execute("INSERT OR IGNORE INTO lists(name) VALUES (?)", (info.name,))
    connection.execute(
        "UPDATE lists SET source = ?, format = ?, match = ?, gen = ?, segments = ?, imported_at = ?,"
        " names = ?, networks = ?, urls = ?, held = ?, sources = ?, etag = ?, last_modified = ?"
        " WHERE name = ?",
        (info.source, info.format, info.match, info.gen, info.segments, info.imported_at, info.names,
         info.networks, info.urls, info.held, json.dumps(info.sources), info.etag, info.last_modified,
         info.name))
    connection.execute("DELETE FROM released WHERE list_id = (SELECT id FROM lists WHERE name = ?)", (info.name,))
    log_change(connection, "swap", info.name)


SERIAL_BASE = "serial_base:"   # meta key + list name: the generations a list had before it was removed


def drop_list(connection: sqlite3.Connection, info: ListInfo) -> None:
    """Forget a list: its catalogue row, its released and confirmed entries (call inside `writing`;
    its files go with the next `remove_unreferenced`). Logged as a swap: readers reopen the lists.
    Its generations are added to its serial base, so that a list of that name imported again
    starts at generation 1 with a serial above every one it had (`serials`)."""
    for table in ("released", "confirmed"):
        connection.execute(f"DELETE FROM {table} WHERE list_id = ?", (info.id,))
    connection.execute("DELETE FROM lists WHERE id = ?", (info.id,))
    key = SERIAL_BASE + info.name
    set_meta(connection, key, int(meta(connection, key, 0)) + info.gen)
    log_change(connection, "swap", info.name)


def log_change(connection: sqlite3.Connection, kind: str, list_name: str, name: str = "") -> None:
    connection.execute("INSERT INTO changes(at, kind, list, name) VALUES (?, ?, ?, ?)",
                       (time.time(), kind, list_name, name))


def ensure_list(connection: sqlite3.Connection, name: str) -> ListInfo:
    connection.execute("INSERT OR IGNORE INTO lists(name) VALUES (?)", (name,))
    return read_lists(connection)[name]


def segment_paths(paths: StorePaths, info: ListInfo) -> list[Path]:
    return [paths.segment(info.name, info.gen, index) for index in range(info.segments)]


def lookup_files(db: Path) -> list[Path]:
    """The files a lookup reads, as the catalogue names them now: every list's segments (what a
    name the filter lets through is looked up in). [] when there is no store yet."""
    paths = StorePaths(Path(db))
    if not paths.db.exists():
        return []
    try:
        connection = connect_catalogue_readonly(paths.db)
    except StoreError:
        return []
    try:
        return [path for info in read_lists(connection).values() for path in segment_paths(paths, info)]
    except sqlite3.Error:
        return []
    finally:
        connection.close()


def remove_unreferenced(paths: StorePaths, connection: sqlite3.Connection) -> None:
    """Drop the files of finished or crashed imports (call with the writer lock held).

    Readers that still use an old generation keep their open descriptors: on POSIX an
    unlinked file lives on until its last descriptor closes.
    """
    lists = read_lists(connection).values()
    keep = {p.name for info in lists for p in segment_paths(paths, info)}
    keep |= {paths.list_filter(info.name, info.gen).name for info in lists}
    current = meta(connection, "filter_file")
    if current:
        keep.add(str(current))
    for file in paths.directory.glob("*"):
        if file.name.startswith("feed-") and time.time() - file.stat().st_mtime < 3600:
            continue   # a download another command may still be importing
        if file.name not in keep:
            with contextlib.suppress(OSError):
                file.unlink()


def prune_changes(connection: sqlite3.Connection, keep_seconds: float = 86_400.0) -> None:
    connection.execute("DELETE FROM changes WHERE at < ? AND id < (SELECT max(id) FROM changes)",
                       (time.time() - keep_seconds,))


def temporary_files_in(directory: Path) -> None:
    """Make SQLite put this process's temporary files in `directory` (for an import worker, whose sort of a
    big segment's names spills there: beside the segments, on the disk that must hold them anyway, not
    in a /var/tmp that may be small). Process-wide: SQLite read $SQLITE_TMPDIR once, when it started."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("PRAGMA temp_store_directory = '{}'".format(str(directory).replace("'", "''")))
    finally:
        connection.close()


class SegmentWriter:
    """Fills one segment file; PRAGMAs for a bulk load of a file nobody reads yet.

    Name rows go first into a staging table (a file beside the segment, appended to in feed order) and
    into the segment's B-tree in one sorted pass at `finish`: a big feed's names arrive in no order, and
    inserting 12.5 M of them one by one into a B-tree larger than the cache took 49 CPU-s, the append and
    the sort together 35. Duplicates keep their first row, as before."""

    def __init__(self, path: Path) -> None:
        self.stage_path = path.with_name(path.name + "-stage")
        for old in (path, self.stage_path):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        self.path = path
        self.staged = 0
        self.connection = sqlite3.connect(path, isolation_level=None)
        # temp_store=FILE: the sort at `finish` spills to temporary files past SORT_KIB instead of
        # holding every row; the B-tree, filled in order, needs no big cache either.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                       "temp_store=FILE", f"cache_size=-{SORT_KIB}", "page_size=8192"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.executescript(SEGMENT_SCHEMA)
        self.connection.execute("ATTACH DATABASE ? AS stage", (str(self.stage_path),))
        for pragma in ("journal_mode=OFF", "synchronous=OFF"):
            self.connection.execute(f"PRAGMA stage.{pragma}")
        self.connection.execute(f"CREATE TABLE stage.names({STAGE_COLUMNS})")
        self.connection.execute("BEGIN")

    def add_names(self, rows: list[tuple]) -> None:
        """Rows (name, mode, action, flags, src, line, rule, redirect), stored by `finish`."""
        self.connection.executemany("INSERT INTO stage.names VALUES (?,?,?,?,?,?,?,?)", rows)
        self.staged += len(rows)

    def add_plain_names(self, rows: list[tuple]) -> None:
        """Rows (name, mode, action, src, line): no flags, rule or redirect, the bulk of any feed.

        Binding three fewer parameters a row saves a third of the insert time."""
        self.connection.executemany("INSERT INTO stage.names(name, mode, action, src, line) VALUES (?,?,?,?,?)",
                                    rows)
        self.staged += len(rows)

    def add_networks(self, rows: list[tuple]) -> int:
        before = self.connection.total_changes
        self.connection.executemany("INSERT OR IGNORE INTO networks VALUES (?,?,?,?,?)", rows)
        return self.connection.total_changes - before

    def add_urls(self, rows: list[tuple]) -> int:
        before = self.connection.total_changes
        self.connection.executemany("INSERT OR IGNORE INTO urls VALUES (?,?,?,?)", rows)
        return self.connection.total_changes - before

    def add_held(self, rows: list[tuple]) -> int:
        before = self.connection.total_changes
        self.connection.executemany("INSERT OR IGNORE INTO held VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return self.connection.total_changes - before

    def finish(self) -> int:
        """Store the staged names (sorted; of rows with the same name, mode and action the first one added)
        and close the file; how many name rows it holds."""
        before = self.connection.total_changes
        self.connection.execute(f"INSERT OR IGNORE INTO names SELECT {NAME_COLUMNS} FROM stage.names"
                                " ORDER BY name, mode, action, rowid")
        stored = self.connection.total_changes - before
        self.connection.execute("COMMIT")
        self.connection.execute("DETACH DATABASE stage")
        self.connection.close()
        self.stage_path.unlink()
        with open(self.path, "rb") as stream:
            os.fsync(stream.fileno())
        return stored

    def abandon(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.connection.close()
        for path in (self.path, self.stage_path):
            with contextlib.suppress(OSError):
                path.unlink()


def all_segment_names(paths: StorePaths, info: ListInfo) -> Iterator[str]:
    """Every name of a list's current generation (for rebuilding filters)."""
    for path in segment_paths(paths, info):
        connection = connect_segment(path)
        try:
            for (name,) in connection.execute("SELECT name FROM names"):
                yield name
        finally:
            connection.close()


def names_at_statement(count: int) -> str:
    """The query for a segment's name entries at `count` names, bound as parameters (a caller
    keeps it per count, so SQLite's statement cache finds it again)."""
    where = "name = ?" if count == 1 else f"name IN ({','.join('?' * count)})"
    return f"SELECT {NAME_COLUMNS} FROM names WHERE {where}"


def segment_networks(segment: sqlite3.Connection) -> Iterator[tuple]:
    """(network, action, src, line, rule) of each address and network entry of an open segment."""
    return segment.execute("SELECT network, action, src, line, rule FROM networks")


def list_entries(paths: StorePaths, connection: sqlite3.Connection,
                 list_name: str) -> tuple[list[DomainEntry], list[NetworkEntry]]:
    """Every entry of a list (its current import with its released quarantine, or the operator's
    entries for `manual`), names sorted, for the exporters."""
    def entry(name: str, mode: int, action: int, redirect: str | None) -> DomainEntry:
        return DomainEntry(name, Mode(mode), ACTIONS[action], 0, "", False,
                           tuple(redirect.split(",")) if redirect else ())

    lists = read_lists(connection)
    if list_name == MANUAL_LIST:
        rows = connection.execute("SELECT name, mode, action, redirect FROM manual").fetchall()
        networks = [(network, action) for network, action, _, _ in manual_networks(connection)]
    elif list_name in lists:
        info = lists[list_name]
        rows, networks = [], []
        for path in segment_paths(paths, info):
            segment = connect_segment(path)
            try:
                rows.extend(segment.execute("SELECT name, mode, action, redirect FROM names"))
                networks.extend(segment.execute("SELECT network, action FROM networks"))
            finally:
                segment.close()
        rows.extend(connection.execute("SELECT name, mode, action, redirect FROM released WHERE list_id = ?",
                                       (info.id,)))
    else:
        known = ", ".join([*lists, MANUAL_LIST])
        raise StoreError(f"no list named {list_name!r} (known: {known})")
    return ([entry(*row) for row in sorted(rows)],
            [NetworkEntry(network, ACTIONS[action], 0) for network, action in networks])


def serials(connection: sqlite3.Connection) -> dict[str, int]:
    """Each list's number that grows with each change of its entries (a zone transfer's SOA serial, 32
    bits, compared as RFC 1982 says), `manual` included. A list's is its generation (an import makes a
    new one) times 65,536, plus the quarantine entries released since that import (`release` only adds
    them; the next import empties them). The operator's entries have no generation: theirs is the id of
    the newest change log entry about them or, once the log is pruned past it, the id before the log's
    oldest entry, which is larger than any id pruned. A list removed and imported again counts its
    generations on from those it had (`drop_list`): a secondary holding its old zone takes the new one."""
    released = dict(connection.execute("SELECT list_id, count(*) FROM released GROUP BY list_id"))
    bases = {key[len(SERIAL_BASE):]: int(value) for key, value in connection.execute(
        "SELECT key, value FROM meta WHERE key >= ? AND key < ?", (SERIAL_BASE, SERIAL_BASE[:-1] + ";"))}
    numbers = {name: (((bases.get(name, 0) + info.gen) << 16) + min(released.get(info.id, 0), 0xFFFF)) & 0xFFFFFFFF
               for name, info in read_lists(connection).items()}
    newest, oldest = connection.execute(
        "SELECT (SELECT max(id) FROM changes WHERE list = ?), (SELECT coalesce(min(id), 1) FROM changes)",
        (MANUAL_LIST,)).fetchone()
    numbers[MANUAL_LIST] = newest if newest is not None else oldest - 1
    return numbers


class ListStream:
    """Every entry of one list (as `list_entries`), read a row at a time: a 25-million-name list
    is sent by the zone transfer server without being held. `serial` is the one read (`serials`); its
    segment files are all opened here, so an import that swaps the list and removes them while a
    slow reader goes on takes nothing from it (an unlinked file lives on while it is open).
    Names come segment by segment, not sorted. `close()` when done (or leave it to the end of
    `names` and `networks`)."""

    def __init__(self, paths: StorePaths, connection: sqlite3.Connection, list_name: str) -> None:
        self.segments: list[sqlite3.Connection] = []
        with reading(connection):
            lists = read_lists(connection)
            self.serial = serials(connection).get(list_name, 0)
            if list_name == MANUAL_LIST:
                rows = connection.execute("SELECT name, mode, action, redirect FROM manual").fetchall()
                self._networks = [(network, action) for network, action, _, _ in manual_networks(connection)]
            elif list_name in lists:
                info = lists[list_name]
                rows = connection.execute("SELECT name, mode, action, redirect FROM released WHERE list_id = ?",
                                          (info.id,)).fetchall()
                self._networks = []
                try:
                    for path in segment_paths(paths, info):
                        self.segments.append(connect_segment(path))
                except BaseException:
                    self.close()
                    raise
            else:
                known = ", ".join([*lists, MANUAL_LIST])
                raise StoreError(f"no list named {list_name!r} (known: {known})")
        self._released = rows

    def names(self) -> Iterator[DomainEntry]:
        for segment in self.segments:
            for row in segment.execute("SELECT name, mode, action, redirect FROM names"):
                yield _domain_entry(*row)
        for row in self._released:
            yield _domain_entry(*row)

    def networks(self) -> Iterator[NetworkEntry]:
        for segment in self.segments:
            for network, action in segment.execute("SELECT network, action FROM networks"):
                yield NetworkEntry(network, ACTIONS[action], 0)
        for network, action in self._networks:
            yield NetworkEntry(network, ACTIONS[action], 0)

    def close(self) -> None:
        for segment in self.segments:
            segment.close()
        self.segments = []


def _domain_entry(name: str, mode: int, action: int, redirect: str | None) -> DomainEntry:
    return DomainEntry(name, Mode(mode), ACTIONS[action], 0, "", False, tuple(redirect.split(",")) if redirect else ())


def entries_in_common(new: Iterable[Path], old: Iterable[Path]) -> tuple[int, int]:
    """(networks, URLs) of the `old` segments that the `new` segments hold too."""
    networks = urls = 0
    old = list(old)
    for path in new:
        connection = connect_segment(path)
        try:
            for other in old:
                connection.execute("ATTACH DATABASE ? AS old", (f"file:{other}?mode=ro&immutable=1",))
                networks += connection.execute(
                    "SELECT count(*) FROM networks WHERE network IN (SELECT network FROM old.networks)").fetchone()[0]
                urls += connection.execute(
                    "SELECT count(*) FROM urls WHERE url IN (SELECT url FROM old.urls)").fetchone()[0]
                connection.execute("DETACH DATABASE old")
        finally:
            connection.close()
    return networks, urls


def set_manual(connection: sqlite3.Connection, entries: Iterable[tuple[str, Mode, Action, str]]) -> None:
    """The operator's own entries (name, mode, action, reason), enforced by readers' next refresh."""
    now = time.time()
    with writing(connection):
        for name, mode, action, reason in entries:
            connection.execute("DELETE FROM manual WHERE name = ?", (name,))
            connection.execute("INSERT INTO manual VALUES (?, ?, ?, 0, ?, NULL, ?)",
                               (name, int(mode), ACTION_CODE[action], reason or None, now))
            log_change(connection, "allow" if action is Action.ALLOW else "block", MANUAL_LIST, name)


def remove_manual(connection: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    """Remove the operator's entries for `names`; the names that had one."""
    removed = []
    with writing(connection):
        for name in names:
            if connection.execute("DELETE FROM manual WHERE name = ?", (name,)).rowcount:
                removed.append(name)
                log_change(connection, "remove", MANUAL_LIST, name)
            if connection.execute("DELETE FROM manual_networks WHERE network = ?", (name,)).rowcount:
                removed.append(name)
                log_change(connection, "networks", MANUAL_LIST, name)
    return removed


def set_manual_networks(connection: sqlite3.Connection, entries: Iterable[tuple[str, Action, str]]) -> None:
    now = time.time()
    with writing(connection):
        for network, action, reason in entries:
            connection.execute("INSERT OR REPLACE INTO manual_networks VALUES (?, ?, ?, ?)",
                               (network, ACTION_CODE[action], reason or None, now))
            log_change(connection, "networks", MANUAL_LIST, network)


def held_entries(paths: StorePaths, info: ListInfo) -> Iterator[tuple]:
    """(name, mode, action, flags, src, line, rule, redirect, reason) of a list's quarantine."""
    for path in segment_paths(paths, info):
        connection = connect_segment(path)
        try:
            yield from connection.execute("SELECT * FROM held ORDER BY name")
        finally:
            connection.close()


def quarantined(paths: StorePaths, connection: sqlite3.Connection) -> Iterator[tuple[ListInfo, tuple]]:
    """(list, held entry row) of each quarantined entry not confirmed since its list's import: what
    `quarantine` lists and `lists` counts as HELD (the catalogue's `held` is the count at import)."""
    done = released_names(connection)
    for info in read_lists(connection).values():
        for row in held_entries(paths, info):
            if (info.name, row[0]) not in done:
                yield info, row


def release(paths: StorePaths, connection: sqlite3.Connection, names: Iterable[str]) -> list[tuple[str, str]]:
    """Enforce quarantined entries the admin confirmed; (list, name) of each one released."""
    wanted = set(names)
    released = []
    lists = read_lists(connection)
    found = [(info, row) for info in lists.values() for row in held_entries(paths, info) if row[0] in wanted]
    with writing(connection):
        for info, (name, mode, action, flags, src, line, rule, redirect, _) in found:
            connection.execute("INSERT OR REPLACE INTO released VALUES (?,?,?,?,?,?,?,?,?,?)",
                               (info.id, name, mode, action, flags, src, line, rule, redirect, time.time()))
            connection.execute("INSERT OR IGNORE INTO confirmed VALUES (?, ?)", (info.id, name))
            log_change(connection, "allow" if ACTIONS[action] is Action.ALLOW else "block", info.name, name)
            released.append((info.name, name))
    return released
