"""From a client's bytes to the bytes sent back: read, run the chain, render. No sockets.

The UDP and TCP servers call `handle` with a `send` callback, as hypercorn's servers do.
Observers (metrics, the query log) see every answer after it is sent. A UDP datagram whose
bytes were answered before, by an answer that still holds, gets the kept reply (replay.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Malformed, Query, make_reply, read_query, render
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport, Trigger
from fraudwall.resolver.dns.eager import run_eagerly
from fraudwall.resolver.dns.replay import ReplayMemo

log = logging.getLogger(__name__)

Send = Callable[[bytes], None]
Observer = Callable[[Query, Answer, float], None]
MalformedObserver = Callable[[AnswerKind, Transport], None]
# Enum members bound once: `Transport.UDP` is a descriptor call (~0.1 us) on every query.
_UDP = Transport.UDP


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
        self.pending: set[asyncio.Task] = set()
        self.known_questions: dict[bytes, tuple] = {}

    def handle(self, data: bytes, client: str, transport: Transport, send: Send) -> None:
        started = self.clock()
        if transport is _UDP:
            replay = self.replays.get(data, client, started)
            if replay is not None:
                send(data[:2] + replay.tail)
                if self.observers:
                    seconds = self.clock() - started
                    for observe in self.observers:
                        observe(replay.query, replay.answer, seconds)
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

    def _answer(self, query: Query, send: Send, started: float, answer: Answer) -> None:
        if answer.body is not None:
            wire = render(query, answer.body, answer.ede)
            send(wire)
            if answer.steady_until and query.transport is _UDP:
                self.replays.keep(query, wire, answer, started)
        if self.observers:
            seconds = self.clock() - started
            for observe in self.observers:
                observe(query, answer, seconds)

    def _fail(self, query: Query, send: Send, started: float, error: BaseException) -> None:
        log.error("query %s %s from %s failed: %r", query.qname, query.qtype, query.client, error,
                  exc_info=error)
        answer = Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), Trigger.INTERNAL_ERROR)
        self._answer(query, send, started, answer)

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for the queries in flight to be answered."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=seconds)
