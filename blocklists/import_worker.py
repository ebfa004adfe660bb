"""One import worker: reads its parts of the feeds, parses them, applies the guards and fills
its own segment file and Bloom filter. `importer` plans the parts, runs the workers (one per
process for a big feed) and publishes what they built.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fraudwall.blocklists import bloom, store
from fraudwall.blocklists.background import yield_cpu
from fraudwall.blocklists.bloom import CorruptFilter, NameFilter
from fraudwall.blocklists.formats import (
    EXCERPT,
    INVALID,
    MAX_LINE,
    DomainEntry,
    Format,
    Mode,
    NetworkEntry,
    Skip,
    UrlEntry,
    excerpt,
    numbered_lines,
    parse_lines,
    parser_for,
)
from fraudwall.blocklists.formats import adblock, domains
from fraudwall.blocklists.formats.domains import PlainNames
from fraudwall.blocklists.guards import Guard, Guards
from fraudwall.blocklists.store import ACTION_CODE, IMPORTANT
from fraudwall.blocklists.verdict import Action

# Formats whose plain entries follow the list's --match (hosts, domain lists, URL hosts).
PLAIN = frozenset({Format.HOSTS, Format.DOMAINS, Format.URLHAUS, Format.PHISHTANK_CSV,
                   Format.PHISHTANK_JSON, Format.OPENPHISH, Format.CSV})
READ_BYTES = 4 << 20          # a feed is read this much at a time
# A line not ended within this many bytes is cut here: at 4 bytes a character at most, it
# still holds more than MAX_LINE characters, so the parsers skip it as too long.
CUT_LINE_BYTES = 4 * MAX_LINE + 4
BATCH = 20_000
SAMPLES = 20                  # bad lines reported one by one per worker; the rest counted
_EXACT, _SUBTREE = Mode.EXACT, Mode.SUBTREE   # looked up once: a run of plain names takes one of them
# Guards that refuse an entry (a shared-platform URL is kept as a URL; a popular site is held):
# a feed made mostly of refused entries is as broken as one made of invalid lines.
REFUSING = frozenset({Guard.PUBLIC_SUFFIX, Guard.BRAND, Guard.BROAD_NETWORK, Guard.SPECIAL_NETWORK,
                      Guard.SINKHOLE})


class ImportFailed(Exception):
    """The import did not happen; the store is as it was. The message says why."""


@dataclass(frozen=True)
class Part:
    source: int          # index into the list's sources
    label: str           # the file or URL, for messages
    path: str
    format: Format
    start: int
    end: int
    first_line: int


@dataclass(frozen=True)
class SegmentJob:
    index: int
    path: Path
    parts: tuple[Part, ...]
    exact: bool
    column: str
    guards: Guards
    capacity: int
    error_rate: float
    old_filter: Path | None
    released: frozenset[str]
    # AdBlock rules disabled by a `$badfilter` rule anywhere in the list's sources (rule key -> its place).
    disabled: dict[str, str] = field(default_factory=dict)


@dataclass
class SegmentResult:
    names: int = 0
    duplicates: int = 0
    filtered: int = 0
    seen_before: int = 0
    addresses: int = 0           # address entries (a /32 or /128), from any format
    networks: int = 0            # network entries (a CIDR shorter than that)
    urls: int = 0
    held: int = 0
    guarded: collections.Counter = field(default_factory=collections.Counter)
    skipped: collections.Counter = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)
    guard_samples: list[str] = field(default_factory=list)
    # Per source (its index): what the parser yielded, and how much of it was invalid or refused,
    # or skipped as a rule a resolver cannot enforce (neither good nor bad).
    parsed: collections.Counter = field(default_factory=collections.Counter)
    bad: collections.Counter = field(default_factory=collections.Counter)
    unenforceable: collections.Counter = field(default_factory=collections.Counter)
    bloom_path: str = ""
    error: str = ""

    def merge(self, other: SegmentResult) -> None:
        for key in ("names", "duplicates", "filtered", "seen_before", "addresses", "networks", "urls", "held"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for key in ("guarded", "skipped", "parsed", "bad", "unenforceable"):
            getattr(self, key).update(getattr(other, key))
        self.samples.extend(other.samples)
        self.guard_samples.extend(other.guard_samples)


@contextlib.contextmanager
def reading(label: str) -> Iterator[None]:
    """A feed that cannot be read is a failed import that names it."""
    try:
        yield
    except OSError as error:
        raise ImportFailed(f"{label}: cannot read: {error.strerror or error}") from None


def _blocks(part: Part, progress: Callable[[int], None]) -> Iterator[bytes]:
    """The part's bytes a few megabytes at a time, each block cut after a newline (the last one may end
    without one).

    A line still unended after CUT_LINE_BYTES is cut there and the rest of it is not kept,
    so a feed with no newline costs one block of memory, not its size.
    """
    with reading(part.label), open(part.path, "rb") as stream:
        stream.seek(part.start)
        remaining = part.end - part.start
        carry = b""          # the start of a line the last block did not end
        cut_off = False      # carry is already cut: drop the rest of its line
        while remaining > 0:
            block = stream.read(min(remaining, READ_BYTES))
            if not block:
                break
            remaining -= len(block)
            progress(len(block))
            if cut_off:
                end = block.find(b"\n")
                if end < 0:
                    continue
                block, cut_off = block[end:], False
            block = carry + block
            cut = block.rfind(b"\n") + 1 if remaining > 0 else len(block)
            carry, block = block[cut:], block[:cut]
            if len(carry) > CUT_LINE_BYTES:
                carry, cut_off = carry[:CUT_LINE_BYTES], True
            if block:
                yield block
        if carry:
            yield carry


def _lines(part: Part, progress: Callable[[int], None]) -> Iterator[str]:
    """The part's lines, decoded a block at a time (see `_blocks`)."""
    for block in _blocks(part, progress):
        lines = block.decode("utf-8", "replace").split("\n")
        if not lines[-1]:
            lines.pop()
        yield from lines


def badfilters(parts: Iterable[Part]) -> dict[str, str]:
    """The AdBlock rules that the `$badfilter` rules of `parts` disable (rule key -> `file:line`).

    Read before the workers start: a rule and its `$badfilter` may sit in different parts of a big
    filter, or in different sources of one list. A filter without the word costs one fast read."""
    found: dict[str, str] = {}
    for part in parts:
        if part.format is Format.ADBLOCK and _holds(part, b"badfilter"):
            found.update(adblock.badfilters(numbered_lines(_lines(part, lambda _: None), part.first_line),
                                            part.label))
    return found


def _holds(part: Part, word: bytes) -> bool:
    with reading(part.label), open(part.path, "rb") as stream:
        stream.seek(part.start)
        remaining, tail = part.end - part.start, b""
        while remaining > 0:
            block = stream.read(min(remaining, READ_BYTES))
            if not block:
                return False
            remaining -= len(block)
            if word in tail + block[:len(word)] or word in block:
                return True
            tail = block[-len(word):]
    return False


def _whole(part: Part, progress: Callable[[int], None]) -> Iterator[str]:
    """The lines of a part that is one document (a JSON array): its lines are no records."""
    with reading(part.label), open(part.path, "rb") as stream:
        stream.seek(part.start)
        data = stream.read(part.end - part.start)
    progress(len(data))
    yield from data.decode("utf-8", "replace").split("\n")


def build_segment(job: SegmentJob, progress: Callable[[int], None] = lambda _: None,
                  parent: int | None = None) -> SegmentResult:
    """Fill one segment file and its filter from the job's parts (runs in a worker process)."""
    result = SegmentResult()
    writer = store.SegmentWriter(job.path)
    name_filter = NameFilter.empty(job.capacity, job.error_rate)
    old = None
    if job.old_filter is not None:
        with contextlib.suppress(CorruptFilter):
            old = bloom.load(job.old_filter)
    guards, released, exact = job.guards, job.released, job.exact
    check, check_network, is_platform = guards.check, guards.check_network, guards.is_platform
    check_many = guards.check_many
    names: list[tuple] = []
    plain: list[tuple] = []
    filtered: list[str] = []
    addresses: list[tuple] = []
    networks: list[tuple] = []
    urls: list[tuple] = []
    held: list[tuple] = []
    block, allow = Action.BLOCK, Action.ALLOW
    block_code = ACTION_CODE[block]

    def flush() -> None:
        for batch, add in ((names, writer.add_names), (plain, writer.add_plain_names)):
            if batch:
                add(batch)
                batch.clear()
        if filtered:
            name_filter.add_many(filtered)
            result.filtered += len(filtered)
            if old is not None:
                result.seen_before += old.count_present(filtered)
            filtered.clear()
        for batch, counter in ((addresses, "addresses"), (networks, "networks")):
            if batch:
                added = writer.add_networks(batch)
                setattr(result, counter, getattr(result, counter) + added)
                result.duplicates += len(batch) - added
                batch.clear()
        if urls:
            result.urls += writer.add_urls(urls)
            urls.clear()
        if held:
            result.held += writer.add_held(held)
            held.clear()
        if parent is not None and os.getppid() != parent:
            raise SystemExit("the importing process is gone")

    def guarded(guard: Guard, part: Part, line: int, entry: str) -> None:
        result.guarded[guard.value] += 1
        if guard in REFUSING:
            result.bad[part.source] += 1
        if len(result.guard_samples) < SAMPLES:
            result.guard_samples.append(f"{part.label}:{line}: {guard.value}: {excerpt(entry)}")

    def domain(entry: DomainEntry, part: Part, plain_format: bool) -> None:
        name, mode, action, line, rule, important, redirect = entry
        source = part.source
        if plain_format and exact and mode is Mode.SUBTREE:
            mode = Mode.EXACT
        # Enum members hash in Python code: the common action skips the dictionary.
        code = block_code if action is block else ACTION_CODE[action]
        if action is not allow:
            guard = check(name, mode)
            if guard is Guard.POPULAR and name not in released:
                held.append((name, int(mode), code, IMPORTANT if important else 0, source, line,
                             rule or None, ",".join(redirect) or None, guard.value))
                return
            if guard is not None and guard is not Guard.POPULAR:
                guarded(guard, part, line, rule or name)
                return
        # Allows go into the filter too: a query then looks up only the names that may
        # hold an entry, and still finds an allow below a blocked parent.
        filtered.append(name)
        if rule or important or redirect:
            names.append((name, int(mode), code, IMPORTANT if important else 0, source, line,
                          rule or None, ",".join(redirect) or None))
        else:
            plain.append((name, int(mode), code, source, line))

    def network(address: str, action: Action, part: Part, line: int, rule: str) -> None:
        if action is not allow:
            guard = check_network(address)
            if guard is not None:
                guarded(guard, part, line, rule or address)
                return
        # Both are rows of the segment's networks table; the summary counts them apart.
        (networks if "/" in address else addresses).append((address, ACTION_CODE[action], part.source, line,
                                                            rule or None))

    def plain_names(run: PlainNames, part: Part) -> None:
        """A run of plain names (DOMAINS feeds): what `domain` does to each, a run at a time."""
        line, mode = run.first, _EXACT if exact else _SUBTREE
        start = 0
        for index, _ in check_many(run.names, mode):
            # A name that trips a guard is held, guarded or (a released one) stored, as `domain` says.
            add_plain(run.names, start, index, line, int(mode), part.source)
            domain(DomainEntry(run.names[index], _SUBTREE, block, line + index, ""), part, True)
            start = index + 1
        add_plain(run.names, start, len(run.names), line, int(mode), part.source)

    def add_plain(run_names: list[str], start: int, end: int, line: int, mode: int, source: int) -> None:
        """Names `start` to `end` of a run (lines `line + start` ...) into the filter and the plain rows."""
        if end > start:
            some = run_names[start:end] if start or end < len(run_names) else run_names
            filtered.extend(some)
            plain.extend(zip(some, itertools.repeat(mode), itertools.repeat(block_code),
                             itertools.repeat(source), range(line + start, line + end)))

    try:
        count = 0
        next_flush = BATCH
        for part in job.parts:
            plain_format = part.format in PLAIN
            source = part.source
            parse = parser_for(part.format, job.column, job.disabled)
            if part.format is Format.PHISHTANK_JSON:
                items = parse(numbered_lines(_whole(part, progress), part.first_line))
            elif part.format is Format.DOMAINS:
                # Plain names a run at a time: a 25 M-line domain list is nearly all of them.
                items = domains.parse_blocks(_blocks(part, progress), part.first_line)
            else:
                items = parse_lines(parse, _lines(part, progress), part.first_line)
            first = count
            for item in items:
                count += 1
                kind = type(item)
                if kind is PlainNames:
                    plain_names(item, part)
                    count += len(item.names) - 1
                elif kind is DomainEntry:
                    domain(item, part, plain_format)
                elif kind is Skip:
                    reason = item.reason
                    result.skipped[reason.value] += 1
                    (result.bad if reason in INVALID else result.unenforceable)[source] += 1
                    if len(result.samples) < SAMPLES:
                        result.samples.append(
                            f"{part.label}:{item.line}: {reason.value}: {excerpt(item.detail, 2 * EXCERPT)}")
                elif kind is UrlEntry:
                    urls.append((item.url, item.host, source, item.line))
                    if ":" in item.host or item.host.replace(".", "").isdigit():
                        network(item.host, block, part, item.line, item.url)
                    elif is_platform(item.host):
                        guarded(Guard.SHARED_PLATFORM, part, item.line, item.url)
                    else:
                        domain(DomainEntry(item.host, Mode.SUBTREE, Action.BLOCK, item.line, item.url),
                               part, plain_format)
                elif kind is NetworkEntry:
                    network(item.network, item.action, part, item.line, item.rule)
                if count >= next_flush:
                    flush()
                    next_flush = count + BATCH
            result.parsed[source] += count - first
        flush()
        result.names = writer.finish()
        result.duplicates += writer.staged - result.names
        bloom_path = job.path.with_suffix(".part.bloom")
        name_filter.save(bloom_path, durable=False)
        result.bloom_path = str(bloom_path)
    except BaseException:
        writer.abandon()
        raise
    finally:
        if old is not None:
            old.close()
    return result


def run_worker(job: SegmentJob, counter, connection, parent: int) -> None:
    # Parsing is background work: on a small host it must not take the CPU from a `serve` answering
    # queries (a 1 M-name re-import at full priority left 3,191 of 56,613 queries unanswered).
    yield_cpu()
    store.temporary_files_in(job.path.parent)
    try:
        result = build_segment(job, lambda done: _add(counter, done), parent)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the import
        result = SegmentResult(error=f"{type(error).__name__}: {error}")
    with contextlib.suppress(OSError):
        connection.send(result)
    connection.close()


def _add(counter, amount: int) -> None:
    with counter.get_lock():
        counter.value += amount
