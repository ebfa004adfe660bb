"""cache: replies kept as bytes with the offsets of their TTL fields, so a hit needs no parse."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable

from fraudwall.resolver.answer import Answer
from fraudwall.resolver.chain import Stage
from fraudwall.resolver.codec import U32, Query, Scan, for_client
from fraudwall.resolver.codes import AnswerKind, Rcode
from fraudwall.resolver.config import CacheSettings


def lifetime(scan: Scan | None, kind: AnswerKind, settings: CacheSettings) -> int:
    """How many seconds a reply may be served from the cache; 0 when it must not be kept."""
    if kind is AnswerKind.SERVFAIL:
        return settings.servfail_ttl
    if scan is None or scan.truncated:
        return 0
    if scan.rcode == Rcode.NOERROR and scan.min_ttl is not None:
        return max(settings.min_ttl, min(scan.min_ttl, settings.max_ttl))
    if scan.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN) and scan.negative_ttl is not None:
        # RFC 2308 5: no SOA, no negative caching.
        return min(scan.negative_ttl, settings.negative_max_ttl)
    return 0


class _Entry:
    __slots__ = ("body", "ttls", "stored", "expires", "kind", "patched_age", "patched")

    def __init__(self, body: bytes, ttls: tuple[tuple[int, int], ...], stored: float, keep: int,
                 kind: AnswerKind) -> None:
        self.body = body
        self.ttls = ttls
        self.stored = stored
        self.expires = stored + keep
        self.kind = kind
        self.patched_age = -1  # the first hit writes the TTLs, capped or counted down
        self.patched = body


class AnswerCache:
    """A size-bounded LRU of reply bodies; TTLs count down on every hit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now: float) -> tuple[bytes, AnswerKind, float] | None:
        """The reply body with its TTLs counted down, its kind, and when its TTLs next change."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if now >= entry.expires:
            del self._entries[key]
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        age = int(now - entry.stored)
        if age != entry.patched_age:
            # Rewritten once a second at most: hits within the same second share the bytes.
            patched = bytearray(entry.body)
            for offset, ttl in entry.ttls:
                U32.pack_into(patched, offset, ttl - age if ttl > age else 0)
            entry.patched = bytes(patched)
            entry.patched_age = age
        return entry.patched, entry.kind, min(entry.stored + age + 1, entry.expires)

    def put(self, key: bytes, body: bytes, ttls: tuple[tuple[int, int], ...], keep: int,
            kind: AnswerKind, now: float) -> None:
        if keep <= 0 or self.size <= 0:
            return
        # A kept TTL never outlives the entry, whatever the record said.
        ttls = tuple((offset, min(ttl, keep)) for offset, ttl in ttls)
        self._entries[key] = _Entry(body, ttls, now, keep, kind)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class CacheStage(Stage):
    def __init__(self, settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.settings = settings
        self.cache = AnswerCache(settings.size)
        self.clock = clock

    async def resolve(self, query: Query) -> Answer:
        hit = self.cache.get(query.key, self.clock())
        if hit is not None:
            body, kind, steady_until = hit
            return Answer(AnswerKind.CACHED if kind is AnswerKind.RESOLVED else kind, for_client(body, query),
                          steady_until=steady_until)
        answer = await self.next.resolve(query)
        if answer.kind in (AnswerKind.RESOLVED, AnswerKind.SERVFAIL) and answer.body is not None:
            keep = lifetime(answer.scan, answer.kind, self.settings)
            ttls = answer.scan.ttls if answer.scan is not None else ()
            self.cache.put(query.key, answer.body, ttls, keep, answer.kind, self.clock())
        return answer
