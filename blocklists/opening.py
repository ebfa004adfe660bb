"""Open the blocklist that the config names, for the resolver and the commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fraudwall.blocklists import store
from fraudwall.blocklists.memory import MemoryBlocklist, demo_list_path
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.blocklists.verdict import Blocklist


def open_blocklist(settings: BlocklistSettings, sinkhole: tuple[str, ...] = ()) -> Blocklist:
    """The store of `settings.db` (the in-memory lists of `files` when `store = false`).

    A list of `files` missing from the store (or changed on disk since its import) is
    imported first, so a new store answers with the demo list at once. ValueError names a
    file or store that cannot be used.
    """
    if not settings.store:
        return MemoryBlocklist.from_files(settings.files)
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = store.resolve_db(settings.db)
    try:
        seed(db, settings, sinkhole)
        # No feed schedule here: `serve`'s supervisor runs the one schedule (resolver/server/background.py).
        return StoreBlocklist(db, cache_size=settings.cache_size)
    except store.StoreError as error:
        raise ValueError(str(error)) from None


def file_list_name(file: str) -> str:
    if file == "demo":
        return "demo"
    return re.sub(r"[^a-z0-9._-]+", "-", Path(file).stem.lower()).strip("-._") or "list"


def _path(file: str) -> str:
    return str(demo_list_path()) if file == "demo" else file


def _stale(file: str, present: dict[str, store.ListInfo]) -> bool:
    """Missing from the store, or changed on disk since it was imported."""
    info = present.get(file_list_name(file))
    if info is None or info.imported_at is None:
        return True
    try:
        return os.stat(_path(file)).st_mtime > info.imported_at
    except OSError:
        return False   # gone since: keep serving what was imported


def seed(db: Path, settings: BlocklistSettings, sinkhole: tuple[str, ...] = ()) -> None:
    """Import each of `settings.files` that the store does not hold yet, or that changed since.

    `sinkhole`: the addresses blocked names are answered with, never blocked themselves.
    """
    store.connect_catalogue(db).close()   # made when missing: a store with no list yet opens too
    missing = files_to_seed(db, settings)
    if missing:
        _import_files(db, settings, sinkhole, missing)


def files_to_seed(db: Path, settings: BlocklistSettings) -> list:
    """The `files` that opening the store would import now (all of them when there is no store yet),
    read without writing: `serve` asks before it gives up root."""
    if not settings.store or not settings.files:
        return []
    if not Path(db).exists():
        return list(settings.files)
    try:
        connection = store.connect_catalogue_readonly(Path(db))
    except store.StoreError:
        return list(settings.files)
    try:
        present = store.read_lists(connection)
    finally:
        connection.close()
    return [file for file in settings.files if _stale(file, present)]


def _import_files(db: Path, settings: BlocklistSettings, sinkhole: tuple[str, ...], missing: list) -> None:
    from fraudwall.blocklists.guards import settings_guards
    from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list

    guards = settings_guards(settings, sinkhole=sinkhole)
    for file in missing:
        try:
            # The admin's own file, changed on purpose: no change threshold.
            import_list(db, ImportRequest(file_list_name(file), (_path(file),), workers=1, force=True,
                                          error_rate=settings.filter_error_rate), guards)
        except ImportFailed as error:
            raise ValueError(f"{file}: cannot import into {db}: {error}") from None
