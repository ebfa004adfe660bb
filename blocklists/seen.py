"""The registrable domains this network has resolved lately: two Bloom filters in one mapped file.

What "newly observed domains" (NOD, after PowerDNS Recursor) rests on: a domain nobody here asked for
in the last days is new, and fraud domains are days old when they are used, while the domains people
use are asked for every day.

The memory is a *pair* of Bloom filters, each covering one period of `days` days (UTC), in one file:
the current period's and the one before. A domain counts as seen when either holds it; a lookup also
writes it into the current one, so a domain asked for at least once a period never ages out. When a
new period starts, the older filter is emptied and becomes the current one. So a domain is:

* never new again within `days` days of being asked for (no false "new" from ageing), and
* new again once nobody asked for it during two whole periods (at most 2 x `days` days).

PowerDNS uses a stable Bloom filter instead (cells decremented at random as others are set); it ages
entries by how many *other* domains came since, not by time, so "seen within N days" cannot be
promised, and every insert decrements cells all over the file, a read-modify-write that workers
sharing one mapping would race on. The pair needs only bits set and, once a period, one filter zeroed.

Both filters have the geometry pybloom-live gives `capacity` names at `ERROR_RATE`, and bit positions
from bloom.py's `NameFilter` (one xxh3-64 per domain, double hashing): one hash scheme in the project.
A false positive is a new domain taken for seen (a newly observed domain missed), never the reverse;
more than `capacity` distinct domains in a period raise that rate (1 % at capacity, 16 % at twice).

Every worker maps the same file (MAP_SHARED) and sets bits in it without a lock: a bit set by two at
once is set either way, and a byte rewritten by two at once can lose the other's bit, which only costs
a domain reported new twice. Creating the file and turning the period take an flock on `PATH.lock`.
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import bitarray
from pybloom_live import BloomFilter

from fraudwall.blocklists.bloom import NameFilter

ERROR_RATE = 0.01
DAY = 86_400
MAGIC = b"FWSEEN01"
# magic, days a period, slices, bits a slice, capacity, then the period each of the two filters holds
HEADER = struct.Struct("<8sIIQQqq")
FILE_NAME = "seen-domains.bloom"
# Domains this process found in (or wrote to) the current period's filter, kept until the period turns:
# a domain asked for again skips the hash and the bit tests. Most queries are of a few domains.
KNOWN_THIS_PERIOD = 65_536


class SeenError(ValueError):
    """The file cannot be made or read; the message names it."""


class Geometry(NamedTuple):
    days: int
    slices: int
    bits_per_slice: int
    capacity: int

    @classmethod
    def of(cls, capacity: int, days: int) -> Geometry:
        """The geometry bloom.py's `new_filter` gives `capacity` (pybloom-live's sizing, `BloomFilter.__init__`),
        worked out without making its bits (a filter for 100 M domains would take 120 MB for a moment)."""
        capacity = max(capacity, 1000)
        slices = math.ceil(math.log(1.0 / ERROR_RATE, 2))
        bits_per_slice = math.ceil(capacity * abs(math.log(ERROR_RATE)) / (slices * math.log(2) ** 2))
        return cls(days, slices, bits_per_slice, capacity)

    @property
    def filter_bytes(self) -> int:
        return math.ceil(self.slices * self.bits_per_slice / 8)

    @property
    def file_bytes(self) -> int:
        return HEADER.size + 2 * self.filter_bytes


def seen_path(path: str, store_db: str) -> Path:
    """`path` ([nod] path), or seen-domains.bloom beside the blocklist store (the state directory)."""
    if path:
        return Path(path).expanduser()
    from fraudwall.blocklists.store import resolve_db   # the catalogue's SQL module, only for its path

    return resolve_db(store_db).with_name(FILE_NAME)


def period_of(now: float, days: int) -> int:
    return int(now // DAY) // days


class SeenDomains:
    """The two filters over one mapping; `observe` on the query path, `seen` for `fraudwall check`."""

    def __init__(self, mapped: mmap.mmap, geometry: Geometry, clock: Callable[[], float] = time.time,
                 lock: Path | None = None, writable: bool = True) -> None:
        self._mapped = mapped
        self.geometry = geometry
        self.clock = clock
        self._lock = lock
        self.writable = writable
        view = memoryview(mapped)
        size = geometry.filter_bytes
        self._filters = [_filter(view[HEADER.size + index * size:HEADER.size + (index + 1) * size], geometry)
                         for index in (0, 1)]
        self._turn_at = -math.inf      # the clock's value at which the period must be looked at again
        self._current: NameFilter | None = None
        self._previous: NameFilter | None = None
        self._known: set[str] = set()   # KNOWN_THIS_PERIOD: held by the current filter, as this process saw

    def observe(self, domain: str) -> bool:
        """True when `domain` is new (neither period holds it); it is remembered either way (read-only: not)."""
        if self.clock() >= self._turn_at:
            self._turn()
        known = self._known
        if domain in known:
            return False
        current = self._current
        if self.writable:
            if len(known) >= KNOWN_THIS_PERIOD:
                known.clear()
            known.add(domain)
        if domain in current:
            return False
        positions = current.positions(domain)
        if self.writable:
            bits = current.bloom.bitarray
            for position in positions:
                bits[position] = 1
        previous = self._previous
        if previous is not None:
            bits = previous.bloom.bitarray
            return not all(bits[position] for position in positions)
        return True

    def seen(self, domain: str) -> bool:
        """Whether `domain` was asked for within the last period or two, without remembering it."""
        if self.clock() >= self._turn_at:
            self._turn()
        return domain in self._current or (self._previous is not None and domain in self._previous)

    def _turn(self) -> None:
        """Take up the clock's period: empty the older filter for it (once, whichever worker comes first)."""
        now = self.clock()
        days = self.geometry.days
        period = period_of(now, days)
        index = period % 2
        with _locked(self._lock if self.writable else None):
            periods = list(HEADER.unpack_from(self._mapped, 0)[5:])
            if periods[index] != period and self.writable:
                self._mapped[HEADER.size + index * self.geometry.filter_bytes:
                             HEADER.size + (index + 1) * self.geometry.filter_bytes] = bytes(self.geometry.filter_bytes)
                periods[index] = period
                HEADER.pack_into(self._mapped, 0, MAGIC, *self.geometry, *periods)
        # Read-only, a filter of another period reads as empty: a scratch one of the same geometry (the
        # positions `observe` works out in it are tested in the other one).
        self._current = (self._filters[index] if periods[index] == period
                         else _filter(memoryview(bytearray(self.geometry.filter_bytes)), self.geometry))
        self._previous = self._filters[1 - index] if periods[1 - index] == period - 1 else None
        self._known = set()
        self._turn_at = (period + 1) * days * DAY

    def __enter__(self) -> SeenDomains:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        if self.writable:
            self._mapped.flush()

    def close(self) -> None:
        self.flush()
        for each in self._filters:
            each.close()
        self._filters = []
        self._current = self._previous = None
        try:
            self._mapped.close()
        except BufferError:
            pass   # a bitarray still exports the buffer; the map goes with the last reference


def _filter(view: memoryview, geometry: Geometry) -> NameFilter:
    bloom = BloomFilter.__new__(BloomFilter)
    bloom._setup(ERROR_RATE, geometry.slices, geometry.bits_per_slice, geometry.capacity, 0)
    bloom.bitarray = bitarray.bitarray(buffer=view, endian="little")
    return NameFilter(bloom)


class _locked:
    """An exclusive flock on `path` for the block (None: no lock)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        if self.path is not None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)   # closing releases the lock
            self.fd = -1


def open_seen(path: Path, capacity: int, days: int, clock: Callable[[], float] = time.time) -> SeenDomains:
    """The file at `path`, mapped for reading and writing; made (or made again, empty, when its size or
    period differ from the settings) under the lock. SeenError names the file when it cannot be had."""
    geometry = Geometry.of(capacity, days)
    lock = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(lock):
            if _geometry_of(path) != geometry:
                # Made anew beside it and renamed: a process still mapping the old file keeps its pages.
                temporary = path.with_name(path.name + ".tmp")
                with open(temporary, "wb") as stream:
                    stream.write(HEADER.pack(MAGIC, *geometry, -2, -2))
                    stream.truncate(geometry.file_bytes)
                os.replace(temporary, path)
            with open(path, "r+b") as stream:
                mapped = mmap.mmap(stream.fileno(), geometry.file_bytes)   # MAP_SHARED: every worker's bits
    except OSError as error:
        raise SeenError(f"{path}: cannot keep the seen domains: {error.strerror}") from None
    return SeenDomains(mapped, geometry, clock, lock)


def read_seen(path: Path, clock: Callable[[], float] = time.time) -> SeenDomains | None:
    """The file at `path` mapped read-only, whatever its settings; None when there is none (yet)."""
    try:
        with open(path, "rb") as stream:
            header = stream.read(HEADER.size)
            geometry = _parse(header)
            if geometry is None or os.fstat(stream.fileno()).st_size != geometry.file_bytes:
                raise SeenError(f"{path}: not a seen-domains file")
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SeenError(f"{path}: cannot read: {error.strerror}") from None
    return SeenDomains(mapped, geometry, clock, writable=False)


def _geometry_of(path: Path) -> Geometry | None:
    try:
        with open(path, "rb") as stream:
            geometry = _parse(stream.read(HEADER.size))
            if geometry is None or os.fstat(stream.fileno()).st_size != geometry.file_bytes:
                return None
            return geometry
    except FileNotFoundError:
        return None


def _parse(header: bytes) -> Geometry | None:
    if len(header) < HEADER.size:
        return None
    magic, days, slices, bits_per_slice, capacity, _, _ = HEADER.unpack(header)
    if magic != MAGIC or not (days > 0 and 0 < slices < 64 and 0 < bits_per_slice < 1 << 40):
        return None
    return Geometry(days, slices, bits_per_slice, capacity)
