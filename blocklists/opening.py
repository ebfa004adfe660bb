"""Open the blocklist that the config names, for the resolver and the commands."""

from __future__ import annotations

import re
from pathlib import Path

from fraudwall.blocklists import store
from fraudwall.blocklists.memory import MemoryBlocklist, demo_list_path
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.blocklists.verdict import Blocklist


def open_blocklist(settings: BlocklistSettings) -> Blocklist:
    """The store of `settings.db` (the in-memory lists of `files` when `store = false`).

    A list of `files` missing from the store is imported first, so a new store answers
    with the demo list at once. ValueError names a file or store that cannot be used.
    """
    if not settings.store:
        return MemoryBlocklist.from_files(settings.files)
    from fraudwall.blocklists.feeds import FeedScheduler
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = store.resolve_db(settings.db)
    try:
        seed(db, settings)
        return StoreBlocklist(db, cache_size=settings.cache_size, feeds=FeedScheduler(db, settings))
    except store.StoreError as error:
        raise ValueError(str(error)) from None


def file_list_name(file: str) -> str:
    if file == "demo":
        return "demo"
    return re.sub(r"[^a-z0-9._-]+", "-", Path(file).stem.lower()).strip("-._") or "list"


def seed(db: Path, settings: BlocklistSettings) -> None:
    """Import each of `settings.files` that the store does not hold yet."""
    connection = store.connect_catalogue(db)
    try:
        present = store.read_lists(connection)
    finally:
        connection.close()
    missing = [file for file in settings.files if file_list_name(file) not in present]
    if not missing:
        return
    from fraudwall.blocklists.guards import load_guards
    from fraudwall.blocklists.importer import ImportFailed, import_list

    guards = load_guards(settings.platforms_file, settings.popular_file, settings.brands_file)
    for file in missing:
        path = str(demo_list_path()) if file == "demo" else file
        try:
            import_list(db, file_list_name(file), [path], guards, format="domains", workers=1,
                        threshold=settings.change_threshold, error_rate=settings.filter_error_rate)
        except ImportFailed as error:
            raise ValueError(f"{file}: cannot import into {db}: {error}") from None
