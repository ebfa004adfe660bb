"""The store as the resolver sees it: `match_name` behind the Bloom filter, `refresh` from the change log.

The lists' state (open segment connections, filter, networks, the operator's entries) lives in
one snapshot that is replaced whole by one assignment, so a query sees one generation of every
list, never a mix. Building the next snapshot reads the catalogue, may rebuild the filter and
wait on the store's writer lock: `prepare` does that (a worker runs it in a thread of its own),
`install` swaps the result in (on the event loop, no I/O). `generation` is the store's change
counter the snapshot reflects: it moves with every change of any list.
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from fraudwall.blocklists import filters, store
from fraudwall.blocklists.bloom import NameFilter
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.precedence import Candidate, choose, decide
from fraudwall.blocklists.store import (
    ACTIONS,
    IMPORTANT,
    MANUAL_LIST,
    ListInfo,
    StorePaths,
)
from fraudwall.blocklists.verdict import Match
from fraudwall.scoring.names import parents

log = logging.getLogger("fraudwall.blocklists")
_UNKNOWN = object()   # not in a verdict cache (None is a verdict: not listed)


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
    # The operator's entries and released quarantine: few, changed live, so held in memory.
    local: dict[str, list[Candidate]]
    last_change: int
    # {family: [(prefix length, {network int: [Candidate]})]}, longest prefixes first
    networks: dict[int, list[tuple[int, dict[int, list[Candidate]]]]] = field(default_factory=dict)

    def close(self) -> None:
        for segment in self.segments:
            segment.connection.close()
        self.name_filter.close()


class StoreBlocklist:
    """A `Blocklist` over the SQLite store; one per worker process."""

    def __init__(self, db: Path, cache_size: int = 65_536, warn: Callable[[str], None] = log.warning) -> None:
        self._paths = StorePaths(Path(db))
        self._warn = warn
        self._catalogue = store.connect_catalogue_readonly(self._paths.db)
        # Bounded first-in first-out: one old entry leaves for each new one, so a full cache never
        # stalls the event loop the way dropping all of it at once did (~20 ms for 65 k verdicts).
        self._cache: OrderedDict[str, Match | None] = OrderedDict()
        # The entries found at a set of names, whatever the query below them: every new subdomain of a
        # listed name (random labels, as phishing kits make) would otherwise go to SQLite each time.
        self._entries_at: OrderedDict[tuple[str, ...], list[Candidate]] = OrderedDict()
        # A parent walked before -> the names at and above it that the filter let through (or an operator's
        # entry holds), often none: what a walk up from any new name below it finds, without the filter.
        # Most new names are new labels under a few domains (CDN hashes, telemetry, random subdomains).
        self._maybe_above: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        # (names the filter let through, lists) -> the verdict for every name strictly below all of them.
        self._decided_below: OrderedDict[tuple, Match | None] = OrderedDict()
        self._cache_size = cache_size
        self._statements: dict[int, str] = {}
        try:
            self._data_version = store.data_version(self._catalogue)
            self._snapshot = self._latest = self._load()
        except sqlite3.Error as error:
            self._catalogue.close()
            raise store.StoreError(f"{db}: not a blocklist store: {error}") from None

    # -- the query path ----------------------------------------------------------------

    def match_name(self, name: str, lists: frozenset[str] | None = None) -> Match | None:
        cache = self._cache
        key = name if lists is None else (lists, name)
        result = cache.get(key, _UNKNOWN)   # a miss without raising: most new names miss
        if result is not _UNKNOWN:
            return result
        snapshot = self._snapshot
        name_filter, local, above = snapshot.name_filter, snapshot.local, self._maybe_above
        walked: list[str] = []
        maybe: list[str] = []
        known: tuple[str, ...] = ()
        for candidate in parents(name):
            known = above.get(candidate)
            if known is not None:
                # A parent met before: the filter's answers for it and the names above it are known.
                break
            walked.append(candidate)
            if candidate in local or candidate in name_filter:
                maybe.append(candidate)
        else:
            known = ()
        if known:
            maybe += known
        if not maybe:
            result = None
        elif maybe[0] == name:
            result = self._exact(snapshot, name, maybe, lists)
        else:
            result = self._below_all(snapshot, name, maybe, lists)
        if self._cache_size:
            self._remember_above(walked, maybe, known)
            if len(cache) >= self._cache_size:
                cache.popitem(last=False)
            cache[key] = result
        return result

    def _remember_above(self, walked: list[str], maybe: list[str], known: tuple[str, ...]) -> None:
        """Keep, for each parent walked (the name itself left out: a name asked once would push the
        domains out), the names at and above it the filter let through (`maybe`, in walking order,
        ending with `known`, what was known above the walk): the next new name below it skips their tests."""
        above = self._maybe_above
        holding = known
        passed = len(maybe) - len(known) - 1     # the last of `maybe` this walk found itself
        for index in range(len(walked) - 1, 0, -1):
            candidate = walked[index]
            if passed >= 0 and maybe[passed] == candidate:
                holding = (candidate, *holding)
                passed -= 1
            if candidate in above:
                continue
            if len(above) >= self._cache_size:
                # First in, first out, one at a time (an OrderedDict's: a dict's first key, found again and
                # again past the slots its deletions left, cost 27 µs a time once full).
                above.popitem(last=False)
            above[candidate] = holding
        if passed >= 0 and walked and maybe[passed] == walked[0] and walked[0] not in above:
            # A listed name asked itself: its subdomains (a phishing kit's random labels) start from it.
            if len(above) >= self._cache_size:
                above.popitem(last=False)
            above[walked[0]] = (walked[0], *holding)

    def _below_all(self, snapshot: _Snapshot, name: str, maybe: list[str],
                   lists: frozenset[str] | None) -> Match | None:
        """The deciding entry for a name strictly below every name in `maybe`: the same for all such names
        (an exact entry never covers them, a subtree or `*.` entry always does), so decided once."""
        key = (tuple(maybe), lists)
        result = self._decided_below.get(key, _UNKNOWN)
        if result is _UNKNOWN:
            result = self._exact(snapshot, name, maybe, lists)
            if self._cache_size:
                if len(self._decided_below) >= self._cache_size:
                    self._decided_below.popitem(last=False)
                self._decided_below[key] = result
        return result

    def holds_nothing_at(self, name: str) -> bool:
        """What `match_name` tests first: the filter, and the operator's entries it does not hold."""
        snapshot = self._snapshot
        return name not in snapshot.local and name not in snapshot.name_filter

    def match_address(self, address: str, lists: frozenset[str] | None = None) -> Match | None:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, width = int(parsed), parsed.max_prefixlen
        for prefix, table in self._snapshot.networks.get(parsed.version, ()):
            found = _of_lists(table.get(value >> (width - prefix)), lists)
            if found:
                return choose(found)
        return None

    @property
    def generation(self) -> int:
        """The store's change counter that the lists in force reflect (monotonic, kept in the store)."""
        return self._snapshot.last_change

    def refresh(self) -> bool:
        """Pick up the store's changes now, in this thread; True when the lists changed."""
        update = self.prepare()
        if update is None:
            return False
        self.install(update)
        self.forget()
        return True

    def prepare(self) -> _Snapshot | None:
        """The next snapshot when the store changed since the one in force, else None; reads the store and
        may rebuild the filter, so a server runs it off its event loop (one call at a time)."""
        try:
            version = store.data_version(self._catalogue)
            if version == self._data_version:
                return None
            self._data_version = version
            # The newest snapshot made, installed or not yet: each update builds on the one before.
            snapshot = self._latest
            rows = store.changes_since(self._catalogue, snapshot.last_change)
            if not rows:
                return None
            if any(kind in ("swap", "filter", "networks") for _, kind, _ in rows):
                self._latest = self._load()
            else:
                # Only the operator's entries changed: the same segments and filter, new local entries.
                self._latest = replace(snapshot, local=self._local(snapshot.lists), last_change=rows[-1][0])
            return self._latest
        except (sqlite3.Error, store.StoreError, OSError) as error:
            self._warn(f"blocklist refresh failed, keeping the current lists: {error}")
            return None

    def install(self, update: _Snapshot) -> None:
        """Put `prepare`'s snapshot in force: one assignment, no I/O. The caller clears what was decided
        against the old one (`forget`, in the resolver's one place for a new generation)."""
        if update.last_change < self._snapshot.last_change:
            return   # made before the one in force (which builds on it): nothing newer in it
        old, self._snapshot = self._snapshot, update
        if old.segments is not update.segments:
            old.close()

    def forget(self) -> tuple[object, ...]:
        """Start afresh the verdicts and entries remembered from the lists before the current generation;
        the old ones are returned for the caller to drop off the event loop (see `discard`)."""
        old = (self._cache, self._entries_at, self._maybe_above, self._decided_below)
        self._cache, self._entries_at, self._maybe_above, self._decided_below = (
            OrderedDict(), OrderedDict(), OrderedDict(), OrderedDict())
        return old

    def close(self) -> None:
        self._snapshot.close()
        self._catalogue.close()

    # -- for the commands and the metrics ---------------------------------------------

    @property
    def lists(self) -> dict[str, ListInfo]:
        return self._snapshot.lists

    @property
    def fill_ratio(self) -> float:
        return self._snapshot.name_filter.fill_ratio

    @property
    def expected_false_positive_ratio(self) -> float:
        """The chance that the filter says "maybe" for a name it does not hold: every slice's bit set."""
        name_filter = self._snapshot.name_filter
        return name_filter.fill_ratio ** name_filter.bloom.num_slices

    def explain(self, name: str) -> Match | None:
        """The deciding entry without the filter or the cache (for `fraudwall check`)."""
        return self._exact(self._snapshot, name, parents(name))

    # -- internals -----------------------------------------------------------------------

    def _load(self) -> _Snapshot:
        for attempt in range(5):
            catalogue = self._catalogue
            with store.reading(catalogue):
                lists = store.read_lists(catalogue)
                name_filter, _, filter_file = filters.load_current(self._paths, catalogue, self._warn)
                last = store.last_change(catalogue)
                local = self._local(lists)
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
            snapshot = _Snapshot(lists, segments, name_filter, filter_file, local, last)
            snapshot.networks = self._networks(snapshot)
            return snapshot
        raise store.StoreError(f"{self._paths.db}: the lists keep changing while being opened")

    def _statement(self, count: int) -> str:
        statement = self._statements.get(count)
        if statement is None:
            statement = self._statements[count] = store.names_at_statement(count)
        return statement

    def _local(self, lists: dict[str, ListInfo]) -> dict[str, list[Candidate]]:
        """The operator's entries and the released quarantine, by name."""
        local: dict[str, list[Candidate]] = {}
        catalogue = self._catalogue
        for name, mode, action, flags, rule, redirect, added in store.manual_entries(catalogue):
            match = Match(name, ACTIONS[action], MANUAL_LIST, rule or name, "cli", added,
                          tuple(redirect.split(",")) if redirect else ())
            local.setdefault(name, []).append(Candidate(match, Mode(mode), bool(flags & IMPORTANT), True, -1))
        by_id = {info.id: (order, info) for order, info in enumerate(lists.values())}
        for row in store.released_entries(catalogue):
            order, info = by_id.get(row[0], (None, None))
            if info is not None:
                local.setdefault(row[1], []).append(_candidate(row[1:9], info, order, added=row[9]))
        return local

    def _exact(self, snapshot: _Snapshot, query: str, names: list[str],
               lists: frozenset[str] | None = None) -> Match | None:
        """The deciding entry among those at `names` (the query's parents that may have one) of `lists`."""
        key = tuple(names)
        candidates = self._entries_at.get(key)
        if candidates is None:
            statement = self._statement(len(names))
            candidates = []
            try:
                for segment in snapshot.segments:
                    for row in segment.connection.execute(statement, names):
                        candidates.append(_candidate(row, segment.info, segment.order))
            except sqlite3.Error as error:
                self._warn(f"blocklist lookup of {query} failed: {error}")
                return None
            local = snapshot.local
            for name in names:
                candidates.extend(local.get(name, ()))
            if self._cache_size:
                if len(self._entries_at) >= self._cache_size:
                    self._entries_at.popitem(last=False)
                self._entries_at[key] = candidates
        return decide(query, _of_lists(candidates, lists))

    def _networks(self, snapshot: _Snapshot) -> dict[int, list[tuple[int, dict[int, list[Candidate]]]]]:
        tables: dict[tuple[int, int], dict[int, list[Candidate]]] = {}

        def add(network_text: str, candidate: Candidate) -> None:
            network = ipaddress.ip_network(network_text, strict=False)
            key = (network.version, network.prefixlen)
            value = int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
            tables.setdefault(key, {}).setdefault(value, []).append(candidate)

        for segment in snapshot.segments:
            sources = segment.info.sources
            for network, action, src, line, rule in store.segment_networks(segment.connection):
                source = f"{sources[src] if src is not None and src < len(sources) else segment.info.source}:{line}"
                match = Match(network, ACTIONS[action], segment.info.name, rule or network, source,
                              segment.info.imported_at or 0.0)
                add(network, Candidate(match, Mode.SUBTREE, False, False, segment.order))
        for network, action, rule, added in store.manual_networks(self._catalogue):
            match = Match(network, ACTIONS[action], MANUAL_LIST, rule or network, "cli", added)
            add(network, Candidate(match, Mode.SUBTREE, False, True, -1))
        result: dict[int, list[tuple[int, dict[int, list[Candidate]]]]] = {}
        for (version, prefix), table in sorted(tables.items(), key=lambda item: -item[0][1]):
            result.setdefault(version, []).append((prefix, table))
        return result


def _of_lists(candidates: list[Candidate] | None, lists: frozenset[str] | None) -> list[Candidate] | None:
    """The candidates of `lists` and the operator's own (all of them when `lists` is None)."""
    if lists is None or not candidates:
        return candidates
    return [candidate for candidate in candidates if candidate.manual or candidate.match.list in lists]


def _candidate(row: tuple, info: ListInfo, order: int, added: float | None = None) -> Candidate:
    name, mode, action, flags, src, line, rule, redirect = row
    sources = info.sources
    source = sources[src] if src is not None and src < len(sources) else info.source
    match = Match(name, ACTIONS[action], info.name, rule or ("*." + name if mode == Mode.BELOW else name),
                  f"{source}:{line}" if line else source, added if added is not None else (info.imported_at or 0.0),
                  tuple(redirect.split(",")) if redirect else ())
    return Candidate(match, Mode(mode), bool(flags & IMPORTANT), False, order)
