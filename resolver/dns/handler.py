"""From a client's bytes to the bytes sent back: read, run the chain, render. No sockets.

The UDP and TCP servers call `handle` with a `send` callback, as hypercorn's servers do.
Observers (metrics, the query log) see every answer after it is sent. A UDP datagram whose
bytes were answered before, by an answer that still holds, gets the kept reply (replay.py); one
that differs from a datagram blocked before only in the question's first label gets that block
with its own question, once the chain says it decides the new name alike (chain.answers_sibling).

A replay is told to the observers in bulk: its client's replays of the same reply are counted,
and `report_replays` (the worker calls it every second, before it writes the query log and the
metrics) hands each on once with its count. Observed one by one they were most of a replay's cost
(benchmarks/first_seen_cost.py, blocked: 3.2 µs a query in process, 1.1 counted). Only replays
faster than `TALLY_UNDER` are counted so: a slower one (a collection, a busy machine) is observed
at once with its own time, so /metrics' duration histogram, whose first bucket is TALLY_UNDER,
stays exact. A sibling's reply is a new name each time: a client's first SIBLINGS_ONE_BY_ONE under
one kept block each second are told with their names, the rest counted so as one query for
`*.PARENT` (a random-subdomain flood under 100 listed names, in process: 69 -> 52 thousand
instructions a query, benchmarks/RESULTS.md).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage, answers_sibling
from fraudwall.resolver.dns.codec import Malformed, Query, make_reply, read_query, render
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport, Trigger
from fraudwall.resolver.dns.eager import InFlight, run_eagerly
from fraudwall.resolver.dns.replay import Replay, ReplayMemo, SiblingReplay

log = logging.getLogger(__name__)

Send = Callable[[bytes], None]
# observe(query, answer, seconds) for one answer; observe(query, answer, seconds, count) for `count`
# replays alike, `seconds` their time together (`report_replays`).
Observer = Callable[..., None]
MalformedObserver = Callable[[AnswerKind, Transport], None]
# Enum members bound once: `Transport.UDP` is a descriptor call (~0.1 us) on every query.
_UDP = Transport.UDP
TALLY_UNDER = 0.0001   # seconds: replays this fast are counted, not observed one by one
TALLY_MAX = 65_536     # (client, reply) pairs counted at most; past it they are reported at once
# New names under one kept block (a random-subdomain flood, a phishing kit's labels) from one client each
# second told with their own names; the rest are counted as one `*.PARENT`. The query log folds names below
# one listed entry alike (querylog.FOLD_AFTER is this).
SIBLINGS_ONE_BY_ONE = 10


class QueryHandler:
    def __init__(self, chain: Stage, observers: tuple[Observer, ...] = (),
                 on_malformed: MalformedObserver = lambda kind, transport: None,
                 replays: ReplayMemo | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` must be the cache's: cached answers say until when they hold in its time."""
        self.chain = chain
        self.observers = observers
        self.on_malformed = on_malformed
        self.replays = replays if replays is not None else ReplayMemo()
        self.clock = clock
        self.pending = InFlight()
        self.known_questions: dict[bytes, tuple] = {}
        # The chain's say on a sibling of a query it blocked (replay.py): bound once, asked per sibling.
        self._alike: Callable[[str], bool] = lambda name: answers_sibling(chain, name)
        # (client, reply tail), or (client, id of a kept sibling block) -> [the replay, how many times, their
        # seconds together], until reported
        self._replayed: dict[tuple[str, object], list] = {}
        # (client, id of a kept sibling block) -> [siblings told one by one, their `*.PARENT` replay, the block]
        self._siblings_told: dict[tuple[str, int], list] = {}

    def handle(self, data: bytes, client: str, transport: Transport, send: Send) -> None:
        started = self.clock()
        if transport is _UDP:
            replay = self.replays.get(data, client, started)
            if replay is not None:
                tail = replay.tail
                send(data[:2] + tail)
                if self.observers:
                    self._tally((client, tail), replay, started)
                return
            sibling = self.replays.sibling(data, client, started, self._alike)
            if sibling is not None:
                reply, query, kept = sibling
                send(data[:2] + reply)
                if self.observers:
                    self._observe_sibling(query, kept, started)
                return
        query = read_query(data, client, transport, self.known_questions)
        if type(query) is Malformed:
            # A client the access stage would not serve, or one over its rate, learns nothing from
            # a malformed message either: no FORMERR tells a denied host that a resolver is here.
            replays = self.replays
            if query.reply is not None and replays.admits(client) and (
                    replays.limits is None or replays.limits(client, started)):
                send(query.reply)
            self.on_malformed(query.kind, transport)
            return
        run_eagerly(self.chain.resolve(query), self._answer, self._fail, self.pending, query, send, started)

    def _tally(self, key: tuple[str, object], replay: Replay, started: float) -> None:
        """Count `replay`, sent at once, for `report_replays`; one slower than TALLY_UNDER is observed now."""
        seconds = self.clock() - started
        if seconds >= TALLY_UNDER:
            for observe in self.observers:
                observe(replay.query, replay.answer, seconds)
            return
        tallied = self._replayed.get(key)
        if tallied is None:
            if len(self._replayed) >= TALLY_MAX:
                self.report_replays()   # many clients replayed to (spoofed, say): kept bounded
            self._replayed[key] = [replay, 1, seconds]
        else:
            tallied[1] += 1
            tallied[2] += seconds

    def _observe_sibling(self, query: Query, kept: SiblingReplay, started: float) -> None:
        """A sibling's reply, told to the observers: the first SIBLINGS_ONE_BY_ONE of one client under one kept
        block since the last report each with its own name, the rest counted as one query for `*.PARENT`."""
        key = (query.client, id(kept))
        told = self._siblings_told.get(key)
        if told is None:
            if len(self._siblings_told) >= TALLY_MAX:
                self._siblings_told.clear()   # spoofed clients: more siblings told one by one, never unbounded
            # `kept` held here: its id names no other block while the count stands.
            told = self._siblings_told[key] = [0, None, kept]
        if told[0] < SIBLINGS_ONE_BY_ONE:
            told[0] += 1
            seconds = self.clock() - started
            for observe in self.observers:
                observe(query, kept.answer, seconds)
            return
        folded = told[1]
        if folded is None:
            folded = told[1] = Replay(b"", query._replace(qname="*" + kept.parent), kept.answer)
        self._tally(key, folded, started)

    def _answer(self, query: Query, send: Send, started: float, answer: Answer) -> None:
        if answer.body is not None:
            wire = render(query, answer.body, answer.ede)
            send(wire)
            if answer.steady_until and query.transport is _UDP:
                self.replays.keep(query, wire, answer, started, self._alike)
        if self.observers:
            seconds = self.clock() - started
            for observe in self.observers:
                observe(query, answer, seconds)

    def report_replays(self) -> None:
        """Hand the replays counted since the last call to the observers: each client's replays of
        one reply once, with their count and their time together."""
        replayed, self._replayed = self._replayed, {}
        self._siblings_told = {}
        observers = self.observers
        for replay, count, seconds in replayed.values():
            for observe in observers:
                observe(replay.query, replay.answer, seconds, count)

    def _fail(self, query: Query, send: Send, started: float, error: BaseException) -> None:
        log.error("query %s %s from %s failed: %r", query.qname, query.qtype, query.client, error,
                  exc_info=error)
        answer = Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), Trigger.INTERNAL_ERROR)
        self._answer(query, send, started, answer)

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for the queries in flight to be answered."""
        await self.pending.settled(seconds)
