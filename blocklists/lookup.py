"""The store as the resolver sees it: `match_name` behind the Bloom filter, `refresh` from the change log.

State (open segment connections, filter, networks) lives in one immutable snapshot object
that `refresh` replaces whole, so a query sees one generation of every list, never a mix.
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fraudwall.blocklists import filters, store
from fraudwall.blocklists.bloom import NameFilter
from fraudwall.blocklists.feeds import FeedScheduler
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.precedence import Candidate, decide
from fraudwall.blocklists.store import ACTIONS, IMPORTANT, MANUAL_LIST, ListInfo, StorePaths
from fraudwall.blocklists.verdict import Action, Match

log = logging.getLogger("fraudwall.blocklists")

_COLUMNS = "name, mode, action, flags, src, line, rule, redirect"


@dataclass
class _Segment:
    order: int
    info: ListInfo
    connection: sqlite3.Connection


@dataclass
class _Snapshot:
    lists: dict[str, ListInfo]
    segments: list[_Segment]
    name_filter: NameFilter
    filter_file: str
    overlay: set[str]                 # blocked names added after the filter was written
    last_change: int
    # {family: [(prefix length, {network int: [Candidate]})]}, longest prefixes first
    networks: dict[int, list[tuple[int, dict[int, list[Candidate]]]]] = field(default_factory=dict)

    def close(self) -> None:
        for segment in self.segments:
            segment.connection.close()
        self.name_filter.close()


class StoreBlocklist:
    """A `Blocklist` over the SQLite store; one per worker process."""

    def __init__(self, db: Path, cache_size: int = 65_536,
                 warn: Callable[[str], None] = log.warning, feeds: FeedScheduler | None = None) -> None:
        self._feeds = feeds
        self._paths = StorePaths(Path(db))
        self._warn = warn
        self._catalogue = store.connect_catalogue_readonly(self._paths.db)
        self._cache: dict[str, Match | None] = {}
        self._cache_size = cache_size
        self._statements: dict[int, tuple[str, str, str]] = {}
        self._data_version = self._catalogue.execute("PRAGMA data_version").fetchone()[0]
        self._snapshot = self._load()

    # -- the query path ----------------------------------------------------------------

    def match_name(self, name: str) -> Match | None:
        cache = self._cache
        try:
            return cache[name]
        except KeyError:
            pass
        snapshot = self._snapshot
        name_filter, overlay = snapshot.name_filter, snapshot.overlay
        candidate = name
        while True:
            if candidate in name_filter or candidate in overlay:
                result = self._exact(snapshot, name)
                break
            dot = candidate.find(".")
            if dot < 0:
                result = None
                break
            candidate = candidate[dot + 1:]
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[name] = result
        return result

    def match_address(self, address: str) -> Match | None:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, width = int(parsed), parsed.max_prefixlen
        for prefix, table in self._snapshot.networks.get(parsed.version, ()):
            found = table.get(value >> (width - prefix))
            if found:
                return _choose(found)
        return None

    def refresh(self) -> None:
        try:
            if self._feeds is not None:
                self._feeds.poll(self._snapshot.lists)
            version = self._catalogue.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
            self._data_version = version
            snapshot = self._snapshot
            rows = self._catalogue.execute(
                "SELECT id, kind, name FROM changes WHERE id > ? ORDER BY id", (snapshot.last_change,)).fetchall()
            if not rows:
                return
            if any(kind in ("swap", "filter", "networks") for _, kind, _ in rows):
                self._snapshot = self._load()
                snapshot.close()
            else:
                overlay = set(snapshot.overlay)
                overlay.update(name for _, kind, name in rows if kind == "block")
                snapshot.overlay = overlay
                snapshot.last_change = rows[-1][0]
            self._cache = {}
        except (sqlite3.Error, store.StoreError, OSError) as error:
            self._warn(f"blocklist refresh failed, keeping the current lists: {error}")

    def close(self) -> None:
        if self._feeds is not None:
            self._feeds.close()
        self._snapshot.close()
        self._catalogue.close()

    # -- for the commands and the metrics ---------------------------------------------

    @property
    def lists(self) -> dict[str, ListInfo]:
        return self._snapshot.lists

    @property
    def fill_ratio(self) -> float:
        return self._snapshot.name_filter.fill_ratio

    def explain(self, name: str) -> Match | None:
        """The deciding entry without the filter or the cache (for `fraudwall check`)."""
        return self._exact(self._snapshot, name)

    # -- internals -----------------------------------------------------------------------

    def _load(self) -> _Snapshot:
        for attempt in range(5):
            catalogue = self._catalogue
            catalogue.execute("BEGIN")
            try:
                lists = store.read_lists(catalogue)
                name_filter, covers, filter_file = filters.load_current(self._paths, catalogue, self._warn)
                last = catalogue.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]
                overlay = {row[0] for row in catalogue.execute(
                    "SELECT name FROM changes WHERE id > ? AND kind = 'block'", (covers,))}
            finally:
                catalogue.execute("COMMIT")
            segments: list[_Segment] = []
            try:
                for order, info in enumerate(lists.values()):
                    for path in store.segment_paths(self._paths, info):
                        if not path.exists():
                            raise FileNotFoundError(path)
                        segments.append(_Segment(order, info, store.connect_segment(path)))
            except (FileNotFoundError, sqlite3.Error):
                # A writer swapped the list between our reads: read the catalogue again.
                for segment in segments:
                    segment.connection.close()
                name_filter.close()
                continue
            snapshot = _Snapshot(lists, segments, name_filter, filter_file, overlay, last)
            snapshot.networks = self._networks(snapshot)
            return snapshot
        raise store.StoreError(f"{self._paths.db}: the lists keep changing while being opened")

    def _statement(self, count: int) -> tuple[str, str, str]:
        statements = self._statements.get(count)
        if statements is None:
            marks = ",".join("?" * count)
            statements = self._statements[count] = (
                f"SELECT {_COLUMNS} FROM names WHERE name IN ({marks})",
                f"SELECT name, mode, action, flags, rule, redirect, added FROM manual WHERE name IN ({marks})",
                f"SELECT list_id, {_COLUMNS}, added FROM released WHERE name IN ({marks})",
            )
        return statements

    def _exact(self, snapshot: _Snapshot, query: str) -> Match | None:
        names = [query]
        while "." in names[-1]:
            names.append(names[-1].split(".", 1)[1])
        segment_sql, manual_sql, released_sql = self._statement(len(names))
        candidates: list[Candidate] = []
        try:
            for segment in snapshot.segments:
                for row in segment.connection.execute(segment_sql, names):
                    candidates.append(_candidate(row, segment.info, segment.order))
            for name, mode, action, flags, rule, redirect, added in self._catalogue.execute(manual_sql, names):
                match = Match(name, ACTIONS[action], MANUAL_LIST, rule or name, "cli", added,
                              tuple(redirect.split(",")) if redirect else ())
                candidates.append(Candidate(match, Mode(mode), bool(flags & IMPORTANT), True, -1))
            by_id = {info.id: (order, info) for order, info in enumerate(snapshot.lists.values())}
            for row in self._catalogue.execute(released_sql, names):
                order, info = by_id.get(row[0], (None, None))
                if info is not None:
                    candidates.append(_candidate(row[1:9], info, order, added=row[9]))
        except sqlite3.Error as error:
            self._warn(f"blocklist lookup of {query} failed: {error}")
            return None
        return decide(query, candidates)

    def _networks(self, snapshot: _Snapshot) -> dict[int, list[tuple[int, dict[int, list[Candidate]]]]]:
        tables: dict[tuple[int, int], dict[int, list[Candidate]]] = {}

        def add(network_text: str, candidate: Candidate) -> None:
            network = ipaddress.ip_network(network_text, strict=False)
            key = (network.version, network.prefixlen)
            value = int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
            tables.setdefault(key, {}).setdefault(value, []).append(candidate)

        for segment in snapshot.segments:
            sources = segment.info.sources
            for network, action, src, line, rule in segment.connection.execute(
                    "SELECT network, action, src, line, rule FROM networks"):
                source = f"{sources[src] if src is not None and src < len(sources) else segment.info.source}:{line}"
                match = Match(network, ACTIONS[action], segment.info.name, rule or network, source,
                              segment.info.imported_at or 0.0)
                add(network, Candidate(match, Mode.SUBTREE, False, False, segment.order))
        for network, action, rule, added in self._catalogue.execute(
                "SELECT network, action, rule, added FROM manual_networks"):
            match = Match(network, ACTIONS[action], MANUAL_LIST, rule or network, "cli", added)
            add(network, Candidate(match, Mode.SUBTREE, False, True, -1))
        result: dict[int, list[tuple[int, dict[int, list[Candidate]]]]] = {}
        for (version, prefix), table in sorted(tables.items(), key=lambda item: -item[0][1]):
            result.setdefault(version, []).append((prefix, table))
        return result


def _candidate(row: tuple, info: ListInfo, order: int, added: float | None = None) -> Candidate:
    name, mode, action, flags, src, line, rule, redirect = row
    sources = info.sources
    source = sources[src] if src is not None and src < len(sources) else info.source
    match = Match(name, ACTIONS[action], info.name, rule or ("*." + name if mode == Mode.BELOW else name),
                  f"{source}:{line}" if line else source, added if added is not None else (info.imported_at or 0.0),
                  tuple(redirect.split(",")) if redirect else ())
    return Candidate(match, Mode(mode), bool(flags & IMPORTANT), False, order)


def _choose(candidates: list[Candidate]) -> Match:
    pool = sorted([c for c in candidates if c.manual] or candidates, key=lambda c: c.order)
    for candidate in pool:
        if candidate.match.action is Action.ALLOW:
            return candidate.match
    return pool[0].match
