"""The global filter: built from the lists' own filters, published atomically, loaded at start.

Every list filter shares the global geometry (slices, bits per slice), so the global filter
is the bitwise OR of the list filters: replacing one list never rehashes the others. The
filter holds every entry's name, allows included, so that a query looks up only the names
the filter says may hold an entry. The operator's own entries are not in it: readers hold
them in memory. The geometry only grows (doubling) when the names outgrow it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from fraudwall.blocklists import bloom, store
from fraudwall.blocklists.bloom import CorruptFilter, NameFilter
from fraudwall.blocklists.store import ListInfo, StorePaths

log = logging.getLogger("fraudwall.blocklists")

DEFAULT_ERROR_RATE = 0.001
MINIMUM_CAPACITY = 1 << 20


def geometry(connection: sqlite3.Connection) -> tuple[int, float]:
    capacity = int(store.meta(connection, "filter_capacity", MINIMUM_CAPACITY))
    error_rate = float(store.meta(connection, "filter_error_rate", DEFAULT_ERROR_RATE))
    return capacity, error_rate


def grown_capacity(current: int, needed: int) -> int:
    capacity = max(current, MINIMUM_CAPACITY)
    while capacity < needed * 1.1:
        capacity *= 2
    return capacity


def list_filter(paths: StorePaths, info: ListInfo, capacity: int, error_rate: float,
                trusted: bool = True) -> NameFilter:
    """The list's own filter, rebuilt from its segments when missing, damaged, of another size
    or (`trusted` false) written with another hash scheme."""
    template = NameFilter.empty(capacity, error_rate)
    try:
        loaded = bloom.load(paths.list_filter(info.name, info.gen))
        if trusted and loaded.same_geometry(template):
            return loaded
        loaded.close()
    except CorruptFilter:
        pass
    template.add_many(store.all_segment_names(paths, info))
    try:
        template.save(paths.list_filter(info.name, info.gen))
    except OSError:
        pass
    return template


def assemble(paths: StorePaths, connection: sqlite3.Connection,
             replace: dict[str, NameFilter] | None = None,
             geometry_override: tuple[int, float] | None = None) -> NameFilter:
    """The OR of every list's filter (or its replacement)."""
    capacity, error_rate = geometry_override or geometry(connection)
    replace = replace or {}
    trusted = store.meta(connection, "filter_hash", bloom.HASH_SCHEME) == bloom.HASH_SCHEME
    result = NameFilter.empty(capacity, error_rate)
    for info in store.read_lists(connection).values():
        if info.name in replace or info.segments == 0:
            continue
        part = list_filter(paths, info, capacity, error_rate, trusted)
        result.union_update(part)
        part.close()
    for part in replace.values():
        result.union_update(part)
    return result


def publish(paths: StorePaths, connection: sqlite3.Connection, name_filter: NameFilter) -> None:
    """Save as the current global filter; call inside the transaction that makes it current."""
    number = int(store.meta(connection, "filter_number", 0)) + 1
    path = paths.filter(number)
    crc = name_filter.save(path)
    covers = store.last_change(connection)
    for key, value in (("filter_number", number), ("filter_file", path.name), ("filter_crc", crc),
                       ("filter_covers", covers), ("filter_hash", bloom.HASH_SCHEME)):
        store.set_meta(connection, key, value)


def load_current(paths: StorePaths, connection: sqlite3.Connection,
                 warn: Callable[[str], None] = log.warning) -> tuple[NameFilter, int, str]:
    """(filter, change id it covers, its file name); rebuilt from the store when damaged."""
    name = store.meta(connection, "filter_file")
    covers = int(store.meta(connection, "filter_covers", 0))
    scheme = store.meta(connection, "filter_hash", bloom.HASH_SCHEME)
    if name and scheme != bloom.HASH_SCHEME:
        warn(f"blocklist filter written with hash scheme {scheme}, not {bloom.HASH_SCHEME}; rebuilding it")
    elif name:
        try:
            return bloom.load(paths.directory / str(name), store.meta(connection, "filter_crc")), covers, str(name)
        except CorruptFilter as error:
            warn(f"blocklist filter unusable ({error}); rebuilding it from the store")
    covers = store.last_change(connection)
    rebuilt = assemble(paths, connection)
    try:
        writer = store.connect_catalogue(paths.db)
        with store.writer_lock(paths):
            with store.writing(writer):
                publish(paths, writer, rebuilt)
            name = store.meta(writer, "filter_file")
        writer.close()
    except (store.StoreError, sqlite3.Error, OSError) as error:
        warn(f"cannot save the rebuilt filter ({error}); it stays in memory")
    return rebuilt, covers, str(name or "")
