"""Importing feeds into the store: `import_list(db, ImportRequest(...), guards)`.

A big feed is cut at line boundaries into one part per worker process; each worker
(`import_worker`) parses its parts and fills its own segment file and its own Bloom filter, so a 25-million-line
feed uses every core. Nothing the readers see changes until the last step, one catalogue
transaction that makes the new generation current: a failed or killed import leaves the
store as it was, and its files are removed by the next import.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fraudwall.blocklists import bloom, fetch, filters, store
from fraudwall.blocklists.bloom import NameFilter
from fraudwall.blocklists.formats import Format, detect_format
from fraudwall.blocklists.formats.urls import check_column
from fraudwall.blocklists.guards import Guards
from fraudwall.blocklists.import_worker import (
    READ_BYTES,
    ImportFailed,
    Part,
    SegmentJob,
    SegmentResult,
    badfilters,
    build_segment,
    reading,
    run_worker,
)
from fraudwall.blocklists.store import LIST_NAME, MANUAL_LIST, StorePaths

# Formats without state across lines: a part of the file parses like the whole.
SPLITTABLE = frozenset({Format.HOSTS, Format.DOMAINS, Format.ADBLOCK, Format.OPENPHISH, Format.IPLIST,
                        Format.URLHAUS})
PARALLEL_BYTES = 8 << 20      # below this a worker process costs more than it saves
HEAD_BYTES = 1 << 20          # what format detection and the size estimate read of a feed
# Lists smaller than this are not held back by the change threshold: one entry more or less
# would be a "big" change, and a tiny list cannot take the network down (the guards see to
# single names).
THRESHOLD_MINIMUM = 100


@dataclass(frozen=True)
class ImportRequest:
    """One import: which list, from which files or URLs, read how. ImportFailed names a bad field."""

    list_name: str
    sources: tuple[str, ...]
    format: str = "auto"             # a Format value, or "auto": detected from each source's first lines
    match: str = ""                  # "exact" or "subtree" for plain entries; "": subtree
    force: bool = False              # accept a change beyond `threshold`, and fetch a URL unconditionally
    column: str = ""                 # --format csv: the URL column (1-based number or header name)
    threshold: float = 0.5           # share of the list a re-import may change before it is held back
    error_rate: float = filters.DEFAULT_ERROR_RATE
    workers: int = 0                 # parsing processes (0: one per CPU, at most 4)
    # Called now and then with (bytes read, bytes in all) while the sources are parsed; the
    # importer draws nothing itself (the CLI's progress bar is one such callback).
    on_progress: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(self.sources))
        if self.list_name == MANUAL_LIST or not LIST_NAME.fullmatch(self.list_name):
            raise ImportFailed(f"{self.list_name!r}: a list name is lowercase letters, digits, '.', '_' and '-'"
                               f" (and not {MANUAL_LIST!r}, which holds `block`/`allow` entries)")
        if not self.sources:
            raise ImportFailed("nothing to import: name at least one file or URL")
        if self.format != "auto":
            try:
                Format(self.format)
            except ValueError:
                known = ", ".join(f.value for f in Format)
                raise ImportFailed(f"unknown format {self.format!r} (known: auto, {known})") from None
        if self.match not in ("", "exact", "subtree"):
            raise ImportFailed(f"unknown match mode {self.match!r} (exact or subtree)")
        if self.column:
            if self.format != Format.CSV.value:
                raise ImportFailed(f"--column {self.column}: only --format csv reads a column")
            try:
                check_column(self.column)
            except ValueError as error:
                raise ImportFailed(f"--column {error}") from None


@dataclass
class Summary:
    list: str
    totals: SegmentResult
    seconds: float
    sources: tuple[str, ...]
    formats: tuple[str, ...]
    replaced: bool = False
    not_modified: bool = False
    held_back: str = ""          # why the whole import was held back (empty: it was not)
    # The share of the old and new entries together (names, addresses and networks, URLs) that
    # this import removes or adds: replacing every entry is 100 %, never more.
    changed_share: float = 0.0
    removed: int = 0
    added: int = 0
    union: int = 0               # the old and new entries together
    phases: dict[str, float] = field(default_factory=dict)   # seconds: parse and store, publish

    @property
    def exit_code(self) -> int:
        return 1 if self.held_back else 0

    def lines(self) -> Iterator[str]:
        """The summary as `import` prints it, a line at a time."""
        totals = self.totals
        if self.not_modified:
            yield f"list {self.list}: not modified since the last import; nothing to do"
            return
        verb = "would have replaced" if self.held_back else ("replaced" if self.replaced else "created")
        yield (f"list {self.list} ({verb}): {totals.names} names, {totals.addresses} addresses,"
               f" {totals.networks} networks, {totals.urls} URLs"
               f" from {len(self.sources)} source(s) ({', '.join(self.formats)}) in {self.seconds:.1f} s")
        yield f"  duplicates: {totals.duplicates}"
        yield from _tally("skipped lines", totals.skipped, totals.samples)
        yield from _tally("guarded (not blocked)", totals.guarded, totals.guard_samples)
        yield f"  quarantined (popular sites, not enforced until confirmed): {totals.held}" + (
            "; see `fraudwall quarantine`" if totals.held else "")
        if self.replaced:
            yield (f"  changed: {self.changed_share:.0%} ({self.removed} entries removed, {self.added} added,"
                   f" of {self.union} old and new)")


def _tally(title: str, reasons: Counter, samples: Sequence[str]) -> Iterator[str]:
    """A summary line counting `reasons`, then the samples quoted and how many more there were."""
    count = sum(reasons.values())
    detail = ", ".join(f"{reason}: {number}" for reason, number in reasons.most_common())
    yield f"  {title}: {count}" + (f" ({detail})" if detail else "")
    for sample in samples:
        yield f"    {sample}"
    if count > len(samples):
        yield f"    ... and {count - len(samples)} more"


# -- planning --------------------------------------------------------------------------

def _head(path: str, lines: int = 64) -> list[str]:
    """The first `lines` lines, from the first HEAD_BYTES at most (a feed may have no line end)."""
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    return [raw.decode("utf-8", "replace") for raw in head.split(b"\n", lines)[:lines]]


def _split(part: Part, pieces: int) -> list[Part]:
    """`pieces` parts of one file, cut after a newline, each with its first line's number."""
    size = part.end
    if pieces <= 1 or part.format not in SPLITTABLE or size < PARALLEL_BYTES:
        return [part]
    cuts = [0]
    with open(part.path, "rb") as stream:
        for index in range(1, pieces):
            stream.seek(size * index // pieces)
            while (rest := stream.readline(READ_BYTES)) and not rest.endswith(b"\n"):
                pass    # a line longer than READ_BYTES: read on to its end, a block at a time
            cuts.append(max(stream.tell(), cuts[-1]))
        cuts.append(size)
        result, line = [], 1
        for start, end in itertools.pairwise(cuts):
            if end > start:
                result.append(Part(part.source, part.label, part.path, part.format, start, end, line))
            stream.seek(start)
            remaining, newlines = end - start, 0
            while remaining > 0:
                block = stream.read(min(remaining, 1 << 24))
                if not block:
                    break
                newlines += block.count(b"\n")
                remaining -= len(block)
            line += newlines
    return result


def _estimate_entries(parts: Iterable[Part]) -> int:
    total = 0
    for part in parts:
        sample = _head(part.path, 2000)
        average = max(sum(len(line) for line in sample) / max(len(sample), 1), 8)
        total += int(part.end / average) + 1
    return total


# -- the whole import ------------------------------------------------------------------

def import_list(db: Path, request: ImportRequest, guards: Guards) -> Summary:
    """Import the request's sources (files or URLs) as its list, replacing the list's previous import."""
    started = time.monotonic()
    for source in request.sources:
        if not fetch.is_url(source) and not Path(source).is_file():
            raise ImportFailed(f"{source}: no such file")
    paths = StorePaths(Path(db))
    with store.writer_lock(paths):
        connection = store.connect_catalogue(paths.db)
        try:
            return _import_locked(paths, connection, request, guards, started)
        except OSError as error:
            # A feed that cannot be read (or a store that cannot be written) half way.
            raise ImportFailed(f"{error.filename or db}: {error.strerror or error}") from None
        finally:
            connection.close()


def remove_list(db: Path, list_name: str) -> store.ListInfo:
    """Remove an imported list and its entries (released quarantine and confirmations too); the list as it
    was. Running servers drop it at their next refresh; its files are removed. StoreError: no such list."""
    paths = StorePaths(Path(db))
    if list_name == MANUAL_LIST:
        raise store.StoreError(f"the list {MANUAL_LIST!r} holds your own block and allow entries: remove them"
                               " with `fraudwall unblock NAME`")
    with store.writer_lock(paths):
        connection = store.connect_catalogue(paths.db, create=False)
        try:
            lists = store.read_lists(connection)
            info = lists.get(list_name)
            if info is None:
                known = ", ".join(lists) or "none"
                raise store.StoreError(f"no list named {list_name!r} (imported lists: {known})")
            # The global filter without the list's names (a stale name would only cost a lookup, but the
            # filter's fill, on /metrics, would keep counting them).
            capacity, error_rate = filters.geometry(connection)
            empty = NameFilter.empty(capacity, error_rate)
            combined = filters.assemble(paths, connection, {list_name: empty})
            with store.writing(connection):
                store.drop_list(connection, info)
                filters.publish(paths, connection, combined)
                store.prune_changes(connection)
            store.remove_unreferenced(paths, connection)
        finally:
            connection.close()
    return info


def _import_locked(paths: StorePaths, connection, request: ImportRequest, guards: Guards,
                   started: float) -> Summary:
    store.remove_unreferenced(paths, connection)
    lists = store.read_lists(connection)
    list_name, sources = request.list_name, request.sources
    before = lists.get(list_name)
    downloads: list[Path] = []
    etag = last_modified = ""
    try:
        local: list[str] = []
        for source in sources:
            if not fetch.is_url(source):
                local.append(source)
                continue
            conditional = (before is not None and before.sources == (source,) and len(sources) == 1
                           and not request.force)
            got = fetch.download(source, paths.directory, before.etag if conditional else "",
                                 before.last_modified if conditional else "")
            if got.path is None:
                return Summary(list_name, SegmentResult(), time.monotonic() - started, tuple(sources),
                               (before.format,), not_modified=True)
            downloads.append(got.path)
            local.append(str(got.path))
            etag, last_modified = got.etag, got.last_modified
        return _import_files(paths, connection, request, local, guards, started, before, lists,
                             etag, last_modified)
    except fetch.FetchError as error:
        raise ImportFailed(str(error)) from None
    finally:
        for path in downloads:
            with contextlib.suppress(OSError):
                path.unlink()


def _import_files(paths: StorePaths, connection, request: ImportRequest, local: list[str], guards: Guards,
                  started: float, before: store.ListInfo | None, lists: dict[str, store.ListInfo],
                  etag: str, last_modified: str) -> Summary:
    list_name, sources, format, match = request.list_name, request.sources, request.format, request.match
    column, error_rate = request.column, request.error_rate
    parts: list[Part] = []
    formats: list[str] = []
    for index, (label, path) in enumerate(zip(sources, local)):
        with reading(label):
            chosen = Format(format) if format != "auto" else detect_format(_head(path))
        if chosen is Format.CSV and not column:
            raise ImportFailed(f"{label}: --format csv needs --column (a number or a header name)")
        formats.append(chosen.value)
        parts.append(Part(index, label, path, chosen, 0, os.path.getsize(path), 1))
    workers = request.workers or min(os.cpu_count() or 1, 4)
    total_bytes = sum(part.end for part in parts)
    if total_bytes < PARALLEL_BYTES:
        workers = 1
    pieces = [piece for part in parts for piece in _split(part, workers)]
    groups: list[list[Part]] = [[] for _ in range(min(workers, len(pieces)) or 1)]
    for index, piece in enumerate(pieces):
        groups[index % len(groups)].append(piece)

    capacity, current_rate = filters.geometry(connection)
    if store.meta(connection, "filter_file") is None:
        current_rate = error_rate
    others = sum(info.names for info in lists.values() if info.name != list_name)
    needed = others + _estimate_entries(parts) + 1000
    new_geometry = needed * 1.1 > capacity or current_rate != filters.geometry(connection)[1]
    if new_geometry:
        capacity = filters.grown_capacity(capacity, needed)
    gen = (before.gen if before else 0) + 1
    old_filter = paths.list_filter(before.name, before.gen) if before and before.segments else None
    released = store.confirmed_names(connection, list_name)
    disabled = badfilters(parts)
    jobs = [SegmentJob(index, paths.segment(list_name, gen, index), tuple(group), match == "exact", column,
                       guards, capacity, current_rate, old_filter, released, disabled)
            for index, group in enumerate(groups)]
    on_progress = request.on_progress
    parse_started = time.monotonic()
    try:
        results = _run(jobs, (lambda done: on_progress(done, total_bytes)) if on_progress else (lambda _: None))
    except BaseException:
        for job in jobs:
            for path in (job.path, job.path.with_suffix(".part.bloom")):
                with contextlib.suppress(OSError):
                    path.unlink()
        raise
    totals = SegmentResult()
    list_filter = NameFilter.empty(capacity, current_rate)
    for result in results:
        totals.merge(result)
        part_filter = bloom.load(Path(result.bloom_path))
        list_filter.union_update(part_filter)
        part_filter.close()
        os.unlink(result.bloom_path)
    summary = Summary(list_name, totals, 0.0, tuple(sources), tuple(formats), replaced=before is not None)
    summary.phases["parse_and_store"] = time.monotonic() - parse_started
    publish_started = time.monotonic()

    broken = _mostly_bad(totals, sources, formats)
    if broken:
        _discard(jobs)
        raise ImportFailed(broken)
    entries_before = before.names + before.networks + before.urls if before is not None else 0
    if before is not None:
        # Entries of the old list missing from the new, plus new ones, over the old count.
        removed = max(before.names - totals.seen_before, 0)
        added = max(totals.filtered - totals.duplicates - totals.seen_before, 0)
        kept_networks = kept_urls = 0
        if before.networks or before.urls:
            kept_networks, kept_urls = store.entries_in_common([job.path for job in jobs],
                                                               store.segment_paths(paths, before))
        removed += max(before.networks - kept_networks, 0) + max(before.urls - kept_urls, 0)
        added += max(totals.addresses + totals.networks - kept_networks, 0) + max(totals.urls - kept_urls, 0)
        summary.removed, summary.added, summary.union = removed, added, entries_before + added
        summary.changed_share = change_share(entries_before, removed, added)
        threshold = request.threshold
        if summary.changed_share > threshold and not request.force and entries_before >= THRESHOLD_MINIMUM:
            summary.held_back = (
                f"list {list_name}: this import would change {summary.changed_share:.0%} of the list"
                f" ({removed} of its {entries_before} entries removed, {added} added; more than {threshold:.0%});"
                " the old list stays in force. Check the feed, then run the import again with --force to accept it.")
            _discard(jobs)
            summary.seconds = time.monotonic() - started
            return summary
    list_filter.save(paths.list_filter(list_name, gen))
    # Outside the transaction: may take seconds when the geometry grew and other lists'
    # filters are rebuilt. The operator's own entries are not in it: readers hold them in memory.
    combined = filters.assemble(paths, connection, {list_name: list_filter},
                                geometry_override=(capacity, current_rate))
    # The catalogue's `networks` counts the rows of the segments' networks table: addresses and networks.
    current = store.ListInfo(0, list_name, ", ".join(sources), ",".join(sorted(set(formats))), match or "subtree",
                             gen, len(jobs), time.time(), totals.names, totals.addresses + totals.networks,
                             totals.urls, totals.held, tuple(sources), etag, last_modified)
    try:
        with store.writing(connection):
            if new_geometry:
                store.set_meta(connection, "filter_capacity", capacity)
                store.set_meta(connection, "filter_error_rate", current_rate)
            store.make_current(connection, current)
            filters.publish(paths, connection, combined)
            store.prune_changes(connection)
    finally:
        list_filter.close()
    store.remove_unreferenced(paths, connection)
    summary.phases["filter_and_publish"] = time.monotonic() - publish_started
    summary.seconds = time.monotonic() - started
    return summary


def change_share(before: int, removed: int, added: int) -> float:
    """The entries removed or added over the old and new entries together (0 to 1).

    Over the union, not the old count: replacing 150 names by 150 others changes all of them
    (100 %), not twice the list, and doubling a list changes half of what it then holds."""
    union = before + added
    return min((removed + added) / union, 1.0) if union else 0.0


def _mostly_bad(totals: SegmentResult, sources: Sequence[str], formats: Sequence[str]) -> str:
    """Why the import must not happen when a source is mostly invalid or refused lines; else ""."""
    for index, (label, format) in enumerate(zip(sources, formats)):
        bad = totals.bad[index]
        judged = totals.parsed[index] - totals.unenforceable[index]
        if bad and bad * 2 > judged:
            first = next((sample for sample in totals.samples + totals.guard_samples
                          if sample.startswith(f"{label}:")), "")
            return (f"{label}: {bad} of its {judged} entries are invalid or refused (read as {format};"
                    f" first: {first}): check the file and its --format")
    return ""


def _discard(jobs: Iterable[SegmentJob]) -> None:
    for job in jobs:
        with contextlib.suppress(OSError):
            job.path.unlink()


def _run(jobs: list[SegmentJob], progress: Callable[[int], None]) -> list[SegmentResult]:
    """Each job's result; `progress` is told the bytes read so far, every job's together."""
    if len(jobs) == 1:
        done = 0

        def add(amount: int) -> None:
            nonlocal done
            done += amount
            progress(done)

        return [build_segment(jobs[0], add)]
    context = multiprocessing.get_context("fork")
    counters = [context.Value("q", 0) for _ in jobs]
    processes = []
    for job, counter in zip(jobs, counters):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=run_worker, args=(job, counter, sender, os.getpid()), daemon=True)
        process.start()
        sender.close()
        processes.append((process, receiver))
    results: list[SegmentResult | None] = [None] * len(jobs)
    try:
        while any(result is None for result in results):
            for index, (process, receiver) in enumerate(processes):
                if results[index] is None and receiver.poll(0.05):
                    results[index] = receiver.recv()
                elif results[index] is None and not process.is_alive() and not receiver.poll(0):
                    raise ImportFailed(f"import worker {index} died (exit code {process.exitcode})")
            progress(sum(counter.value for counter in counters))
        for process, _ in processes:
            process.join()
    finally:
        for process, _ in processes:
            if process.is_alive():
                process.kill()
    failed = [result.error for result in results if result and result.error]
    if failed:
        raise ImportFailed("; ".join(failed))
    return [result for result in results if result is not None]
