"""From a client's bytes to the bytes sent back: read, run the chain, render. No sockets.

The UDP and TCP servers call `handle` with a `send` callback, as hypercorn's servers do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from fraudwall.resolver.answer import Answer
from fraudwall.resolver.chain import Stage
from fraudwall.resolver.codec import Malformed, Query, make_reply, read_query, render
from fraudwall.resolver.codes import AnswerKind, Rcode, Transport
from fraudwall.resolver.eager import run_eagerly

log = logging.getLogger(__name__)

Send = Callable[[bytes], None]
Observer = Callable[[Query, Answer], None]


class QueryHandler:
    def __init__(self, chain: Stage, observers: tuple[Observer, ...] = ()) -> None:
        self.chain = chain
        self.observers = observers
        self.pending: set[asyncio.Task] = set()

    def handle(self, data: bytes, client: str, transport: Transport, send: Send) -> None:
        query = read_query(data, client, transport)
        if type(query) is Malformed:
            if query.reply is not None:
                send(query.reply)
            return
        run_eagerly(self.chain.resolve(query),
                    lambda answer: self._answer(query, answer, send),
                    lambda error: self._fail(query, error, send),
                    self.pending)

    def _answer(self, query: Query, answer: Answer, send: Send) -> None:
        if answer.body is not None:
            send(render(query, answer.body, answer.ede))
        for observe in self.observers:
            observe(query, answer)

    def _fail(self, query: Query, error: BaseException, send: Send) -> None:
        log.error("query %s %s from %s failed: %r", query.qname, query.qtype, query.client, error,
                  exc_info=error)
        self._answer(query, Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), "internal error"), send)

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for the queries in flight to be answered."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=seconds)
