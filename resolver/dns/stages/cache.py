"""cache: replies kept as bytes with the offsets of their TTL fields, so a hit needs no parse.

Serve-stale (RFC 8767): an answer outlives its TTL by `[cache] serve_stale` seconds (until the
size bound evicts it). When it is asked for and no upstream answers, it is served with TTL 30
and EDE 3 "Stale Answer", and for the next 30 seconds (the RFC's failure recheck timer) it is
served so at once, without asking again. An upstream's own answer (NXDOMAIN included) always
wins over a stale one; only a failure to get any answer lets the stale one out.
"""

from __future__ import annotations

import struct
import time
from collections import OrderedDict
from typing import Callable

from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.chain import ReplySource, Stage
from fraudwall.resolver.dns.codec import U32, Query, Scan, for_client
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Trigger
from fraudwall.resolver.config import CacheSettings

STALE_TTL = 30         # seconds: the TTL a stale answer carries (RFC 8767 4)
STALE_RECHECK = 30     # seconds a failed refresh is not tried again; its stale answer goes out at once
# Enum members bound once: each `AnswerKind.X` on the query path is a descriptor call (~0.1 us).
_RESOLVED, _CACHED, _SERVFAIL, _OVERLOADED = (AnswerKind.RESOLVED, AnswerKind.CACHED, AnswerKind.SERVFAIL,
                                              AnswerKind.OVERLOADED)
_CACHE = Trigger.CACHE
_NOERROR, _NXDOMAIN, _SERVFAIL_RCODE = int(Rcode.NOERROR), int(Rcode.NXDOMAIN), int(Rcode.SERVFAIL)
_new_answer = tuple.__new__   # Answer(...) is Python code; a cache hit builds one per query


def lifetime(scan: Scan | None, kind: AnswerKind, settings: CacheSettings) -> int:
    """How many seconds a reply may be served from the cache; 0 when it must not be kept."""
    if kind is _SERVFAIL:
        return settings.servfail_ttl
    if scan is None or scan.truncated:
        return 0
    rcode = scan.rcode
    if rcode == _NOERROR and scan.min_ttl is not None:
        return max(settings.min_ttl, min(scan.min_ttl, settings.max_ttl))
    if (rcode == _NOERROR or rcode == _NXDOMAIN) and scan.negative_ttl is not None:
        # RFC 2308 5: no SOA, no negative caching.
        return min(scan.negative_ttl, settings.negative_max_ttl)
    return 0


# An entry is a plain tuple of bytes and numbers, not an object: the collector stops tracking such a
# tuple at its first collection, so the cache's answers are never walked again. As objects, every
# answer to a name asked once was walked by each collection of the older generations, a stall for
# every query waiting that grew with the cache (test_cache.py checks that the tracked objects do not).
# Nothing in it may be a container the collector tracks, or the tuple stays tracked: the TTLs are
# packed into bytes, an offset and a value each (`_TTL_FIELD`).
# Fields: the reply body, its TTL offsets and values, when stored, when it expires, whether it is an
# upstream's answer (else a SERVFAIL kept), the age its TTLs were last counted down to, the body so
# counted down, and until when a failed refresh is not tried again (serve-stale).
_TTL_FIELD = struct.Struct("=HI")
_BODY, _TTLS, _STORED, _EXPIRES, _IS_RESOLVED, _PATCHED_AGE, _PATCHED, _RECHECK_AT = range(8)
Entry = tuple


class AnswerCache:
    """A size-bounded LRU of reply bodies; TTLs count down on every hit.

    Expired answers are kept `stale_for` seconds more (0: dropped when they expire), for `stale`.
    """

    def __init__(self, size: int, stale_for: int = 0) -> None:
        self.size = size
        self.stale_for = stale_for
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.stale_answers = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now: float) -> tuple[bytes, AnswerKind, float] | None:
        """The reply body with its TTLs counted down, its kind, and when its TTLs next change."""
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        expires = entry[_EXPIRES]
        if now >= expires:
            if now >= expires + self.stale_for or not entry[_IS_RESOLVED]:
                del entries[key]  # kept for serve-stale otherwise: only an upstream's answer is
            self.misses += 1
            return None
        self.hits += 1
        entries.move_to_end(key)
        stored = entry[_STORED]
        age = int(now - stored)
        if age != entry[_PATCHED_AGE]:
            # Rewritten once a second at most: hits within the same second share the bytes.
            patched = bytearray(entry[_BODY])
            for offset, ttl in _TTL_FIELD.iter_unpack(entry[_TTLS]):
                U32.pack_into(patched, offset, ttl - age if ttl > age else 0)
            entry = entries[key] = (*entry[:_PATCHED_AGE], age, bytes(patched), entry[_RECHECK_AT])
        return entry[_PATCHED], _RESOLVED if entry[_IS_RESOLVED] else _SERVFAIL, min(stored + age + 1, expires)

    def stale(self, key: bytes, now: float, hold_back: bool = False) -> bytes | None:
        """The expired answer for `key` with TTLs of STALE_TTL, while it may be served stale; else None.

        `hold_back`: its refresh just failed, so for STALE_RECHECK seconds `held_back` serves it
        without a new try.
        """
        entry = self._entries.get(key)
        if (entry is None or not entry[_IS_RESOLVED] or now < entry[_EXPIRES]
                or now >= entry[_EXPIRES] + self.stale_for):
            return None
        if hold_back:
            self._entries[key] = (*entry[:_RECHECK_AT], now + STALE_RECHECK)
        self.stale_answers += 1
        patched = bytearray(entry[_BODY])
        for offset, _ in _TTL_FIELD.iter_unpack(entry[_TTLS]):
            U32.pack_into(patched, offset, STALE_TTL)
        return bytes(patched)

    def held_back(self, key: bytes, now: float) -> bytes | None:
        """The stale answer for `key` while a failed refresh holds the next try back; else None."""
        entry = self._entries.get(key)
        if entry is None or now >= entry[_RECHECK_AT]:
            return None
        return self.stale(key, now)

    def put(self, key: bytes, body: bytes, ttls: tuple[tuple[int, int], ...], keep: int,
            kind: AnswerKind, now: float) -> None:
        if keep <= 0 or self.size <= 0:
            return
        # A kept TTL never outlives the entry, whatever the record said.
        for _, ttl in ttls:
            if ttl > keep:
                ttls = tuple([(offset, ttl if ttl < keep else keep) for offset, ttl in ttls])
                break
        entries = self._entries
        if key in entries:
            del entries[key]   # a new entry goes last: the most recently used
        fields = b"".join([_TTL_FIELD.pack(offset, ttl) for offset, ttl in ttls])
        entries[key] = (body, fields, now, now + keep, kind is _RESOLVED, -1, body, 0.0)
        while len(entries) > self.size:
            entries.popitem(last=False)

    def clear(self) -> OrderedDict[bytes, Entry]:
        """Start empty; the old entries are returned, for the caller to drop where a stall costs nothing."""
        old, self._entries = self._entries, OrderedDict()
        return old


class CacheStage(Stage):
    """Answers from the cache; on a miss fetches from the stage after it, a `ReplySource`, whose
    reply comes with the upstream's walk: the TTL offsets kept with the bytes."""

    next: ReplySource

    def __init__(self, settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.settings = settings
        self.cache = AnswerCache(settings.size, settings.serve_stale)
        self.clock = clock

    async def resolve(self, query: Query) -> Answer:
        cache = self.cache
        hit = cache.get(query.key, self.clock())
        if hit is not None:
            body, kind, steady_until = hit
            return _new_answer(Answer, (_CACHED if kind is _RESOLVED else kind, for_client(body, query), _CACHE,
                                        None, "", None, steady_until, ""))
        if cache.stale_for:
            stale = cache.held_back(query.key, self.clock())
            if stale is not None:
                return _stale_answer(stale, query)
        reply = await self.next.fetch(query)
        answer, scan = reply
        if cache.stale_for and _no_upstream_answered(reply):
            # Overloaded says nothing of the upstream: the next query may try to refresh at once.
            stale = cache.stale(query.key, self.clock(), hold_back=answer.kind is not _OVERLOADED)
            if stale is not None:
                return _stale_answer(stale, query)
        # A block that the client's policy let through (inspect) is not kept: every query of it is logged.
        if ((answer.kind is _RESOLVED or answer.kind is _SERVFAIL) and answer.body is not None
                and answer.warning is None):
            keep = lifetime(scan, answer.kind, self.settings)
            ttls = scan.ttls if scan is not None else ()
            self.cache.put(query.key, answer.body, ttls, keep, answer.kind, self.clock())
        return answer


def _no_upstream_answered(reply: Reply) -> bool:
    """Every upstream failed (timeouts, errors, their own SERVFAIL) or none was asked (overload)."""
    kind = reply.answer.kind
    if kind is _SERVFAIL or kind is _OVERLOADED:
        return True
    return kind is _RESOLVED and reply.scan is not None and reply.scan.rcode == _SERVFAIL_RCODE


def _stale_answer(body: bytes, query: Query) -> Answer:
    # Never replayed (no `steady_until`): every stale answer passes here, counted, and none outlives its hold-back.
    return Answer(AnswerKind.STALE, for_client(body, query), Trigger.STALE)
