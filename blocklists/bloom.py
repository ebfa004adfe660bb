"""The Bloom filter over blocked names, in pybloom-live's filter and file format, mapped from disk.

pybloom-live sizes the filter (slices and bits per slice from capacity and error rate),
holds the bit array and defines the file (`BloomFilter.tofile`: a `<dQQQQ` header, then
the bits). Two things are ours, both for the query path's speed:

* the file is mapped, not read, so every worker process shares one copy in the page cache;
* bit positions come from one xxh3-64 call per name, split into two 32-bit halves for
  Kirsch-Mitzenmacher double hashing (position i = h1 + i*h2 in slice i), instead of
  pybloom-live's SHA-384 generator: about 0.5 us instead of 2.3 us for a "no" on the
  reference machine, and small integers all the way (no bignum arithmetic).
  The catalogue records the scheme (`filter_hash`), since `name in BloomFilter` would not
  know it.
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import bitarray
import xxhash
from pybloom_live import BloomFilter

if TYPE_CHECKING:
    import numpy

HEADER = BloomFilter.FILE_FMT
HEADER_SIZE = struct.calcsize(HEADER)
HASH_SCHEME = "xxh3-64-km32"
_LOW32 = (1 << 32) - 1
ADD_BATCH = 65_536   # names whose positions are worked out together
# Fewer names are added one by one: importing numpy (0.1 s, more with a cold page cache) would cost more
# than it saves, and `serve` imports the small lists of its config at start.
NUMPY_FROM = 2_000


class CorruptFilter(ValueError):
    """The filter file is not what the store recorded; rebuild it from the store."""


def new_filter(capacity: int, error_rate: float) -> BloomFilter:
    bloom = BloomFilter(capacity=max(capacity, 1000), error_rate=error_rate)
    # Whole bytes, as a mapped file has them, so that filters can be ORed with mapped ones.
    bloom.bitarray.extend([0] * (-len(bloom.bitarray) % 8))
    return bloom


class NameFilter:
    """A pybloom-live filter with the fast membership test the query path needs."""

    def __init__(self, bloom: BloomFilter, keep: mmap.mmap | None = None) -> None:
        self.bloom = bloom
        self._bits = bloom.bitarray
        self._slices = bloom.num_slices
        self._width = bloom.bits_per_slice
        self._offsets = [i * bloom.bits_per_slice for i in range(bloom.num_slices)]
        self._keep = keep   # the mmap the bits live in, closed with the filter

    @classmethod
    def empty(cls, capacity: int, error_rate: float) -> NameFilter:
        return cls(new_filter(capacity, error_rate))

    def __contains__(self, name: str) -> bool:
        digest = xxhash.xxh3_64_intdigest(name.encode())
        step, position = digest >> 32, digest & _LOW32
        bits, width = self._bits, self._width
        for offset in self._offsets:
            if not bits[offset + position % width]:
                return False
            position += step
        return True

    def positions(self, name: str) -> list[int]:
        digest = xxhash.xxh3_64_intdigest(name.encode())
        step, position = digest >> 32, digest & _LOW32
        width = self._width
        out = []
        for offset in self._offsets:
            out.append(offset + position % width)
            position += step
        return out

    def add_many(self, names: Iterable[str]) -> int:
        """Add every name; the positions of a batch are worked out with numpy, all slices at once."""
        count = 0
        if isinstance(names, list):
            batches: Iterable[list[str]] = (names[start:start + ADD_BATCH] for start in range(0, len(names), ADD_BATCH))
        else:   # a stream (every name of a store, when a filter is rebuilt): a batch in memory at a time
            iterator = iter(names)
            batches = iter(lambda: list(itertools.islice(iterator, ADD_BATCH)), [])
        for batch in batches:
            count += self._add_batch(batch)
        self.bloom.count += count
        return count

    def count_present(self, names: list[str]) -> int:
        """How many of `names` the filter may hold (as `name in self` for each, a batch at a time in numpy):
        what a re-import counts as seen before, over millions of names."""
        import numpy

        present = 0
        for start in range(0, len(names), ADD_BATCH):
            bytes_at, within = self._positions(names[start:start + ADD_BATCH])
            bits = (numpy.frombuffer(self._bits, dtype=numpy.uint8)[bytes_at] >> within) & numpy.uint8(1)
            # Slice-major positions: row i holds every name's bit in slice i; a name is present when all are.
            present += int(bits.reshape(self._slices, -1).all(axis=0).sum())
        return present

    def _positions(self, names: list[str]) -> tuple[numpy.ndarray, numpy.ndarray]:
        """(byte index, bit within the byte) of every position of `names`, slice by slice (the same double
        hashing as `__contains__`, in 64-bit integers, which it never exceeds)."""
        # Imported here: only building a filter needs numpy, and importing it costs a resolver's start
        # 0.1 s with a warm page cache, several times that with a cold one (the query path never needs it).
        import numpy

        digests = numpy.fromiter(map(xxhash.xxh3_64_intdigest, map(str.encode, names)), dtype=numpy.uint64,
                                 count=len(names))
        step, start = digests >> numpy.uint64(32), digests & numpy.uint64(_LOW32)
        width = numpy.uint64(self._width)
        positions = numpy.concatenate([(start + numpy.uint64(index) * step) % width + numpy.uint64(offset)
                                       for index, offset in enumerate(self._offsets)])
        # Little-endian bits, as pybloom-live makes them and `load` maps them: bit i of a byte is 1 << i.
        return (positions >> numpy.uint64(3)).astype(numpy.intp), (positions & numpy.uint64(7)).astype(numpy.uint8)

    def _add_batch(self, names: list[str]) -> int:
        if len(names) < NUMPY_FROM:
            bits, positions = self._bits, self.positions
            for name in names:
                for position in positions(name):
                    bits[position] = 1
            return len(names)
        import numpy

        bytes_at, within = self._positions(names)
        numpy.bitwise_or.at(numpy.frombuffer(self._bits, dtype=numpy.uint8), bytes_at, numpy.uint8(1) << within)
        return len(names)

    def same_geometry(self, other: NameFilter) -> bool:
        return (self.bloom.num_slices, self.bloom.bits_per_slice) == (other.bloom.num_slices, other.bloom.bits_per_slice)

    def union_update(self, other: NameFilter) -> None:
        self._bits |= other._bits
        self.bloom.count += other.bloom.count

    @property
    def capacity(self) -> int:
        return self.bloom.capacity

    @property
    def fill_ratio(self) -> float:
        return self._bits.count(1) / max(self.bloom.num_bits, 1)

    def save(self, path: Path, durable: bool = True) -> int:
        """Write to `path` atomically (temp file, fsync, rename); the CRC-32 of what was written.

        pybloom-live's file (`BloomFilter.tofile`: the header, then the bits), written here so that the CRC
        comes from memory, not from reading tens of megabytes back. `durable` false skips the fsync: an
        import worker's part filter is read back at once and deleted, and a crash fails the import anyway."""
        bloom = self.bloom
        header = struct.pack(HEADER, bloom.error_rate, bloom.num_slices, bloom.bits_per_slice, bloom.capacity,
                             bloom.count)
        bits = memoryview(self._bits)   # whole bytes: `new_filter` pads them, a loaded file has them
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as stream:
            stream.write(header)
            stream.write(bits)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
        return zlib.crc32(bits, zlib.crc32(header))

    def close(self) -> None:
        keep, self._keep = self._keep, None
        if keep is not None:
            self._bits = bitarray.bitarray(0)
            self.bloom.bitarray = self._bits
            try:
                keep.close()
            except BufferError:
                pass   # a bitarray still exports the buffer; the map goes with the last reference


def load(path: Path, expected_crc: int | None = None) -> NameFilter:
    """The filter in `path`, mapped read-only; CorruptFilter when it is not a sound filter file."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size < HEADER_SIZE:
                raise CorruptFilter(f"{path}: {size} bytes, shorter than the header")
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as error:
        raise CorruptFilter(f"{path}: cannot read: {error.strerror}") from None
    error_rate, num_slices, bits_per_slice, capacity, count = struct.unpack(HEADER, mapped[:HEADER_SIZE])
    num_bits = num_slices * bits_per_slice
    if not (0 < error_rate < 1 and 0 < num_slices < 64 and 0 < bits_per_slice < 1 << 40):
        mapped.close()
        raise CorruptFilter(f"{path}: header makes no sense")
    if size != HEADER_SIZE + math.ceil(num_bits / 8):
        mapped.close()
        raise CorruptFilter(f"{path}: {size} bytes, the header says {HEADER_SIZE + math.ceil(num_bits / 8)}")
    if expected_crc is not None and zlib.crc32(mapped) != expected_crc:
        mapped.close()
        raise CorruptFilter(f"{path}: checksum differs from the one the store recorded")
    bloom = BloomFilter.__new__(BloomFilter)
    bloom._setup(error_rate, num_slices, bits_per_slice, capacity, count)
    bloom.bitarray = bitarray.bitarray(buffer=memoryview(mapped)[HEADER_SIZE:], endian="little")
    return NameFilter(bloom, keep=mapped)


def capacity_for(count: int) -> int:
    """Room for growth, rounded so that small changes keep the same size (and file)."""
    step = 1 << max(17, (max(count, 1) * 5 // 4).bit_length() - 3)
    return -(-max(count, 1000) * 5 // 4 // step) * step

