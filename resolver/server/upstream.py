"""upstream: forward a query over UDP (TCP when truncated), fail over, and share identical queries.

RFC 5452: each UDP try uses a fresh socket (a fresh random source port chosen by the
kernel) and a fresh random ID, and a reply counts only when it comes from the address
and port asked, with that ID and the same question. TCP connections to an upstream are
kept and reused, several queries in flight on each (RFC 7766).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import secrets
import socket
import time
from typing import Callable

from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.chain import ReplySource
from fraudwall.resolver.dns.codec import (
    Query,
    Scan,
    for_client,
    make_reply,
    make_upstream_query,
    scan_reply,
    strip_opt,
)
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport, Trigger
from fraudwall.resolver.config import UpstreamSettings
from fraudwall.resolver.dns.quota import Quota, client_network
from fraudwall.resolver.dns.upstream_policy import Outcome, Resolution, Upstream, UpstreamPool

log = logging.getLogger(__name__)

TCP_IDLE_SECONDS = 10.0
# Descriptors kept for everything but forwarded queries and TCP clients: listeners, the store,
# the query log, kept upstream connections, the warning page and /metrics.
DESCRIPTORS_KEPT = 64
# Queries that may wait with an identical one in flight, for each that may hold a socket: a
# wait costs a few kB of memory, a socket a descriptor.
WAITERS_PER_SOCKET = 10


# Read once: an Enum class attribute costs a descriptor call each time, on every forwarded query.
_UDP = Transport.UDP
_outcome_of_rcode = Outcome.of_rcode


class UpstreamError(Exception):
    """One try at one upstream failed."""


def in_flight_bound(configured: int, tcp_connections: int, open_files: int | None = None) -> int:
    """`configured`, lowered when it, `tcp_connections` and DESCRIPTORS_KEPT do not fit under the
    limit of open files (RLIMIT_NOFILE, or `open_files`): a flood then meets SERVFAIL, never
    "too many open files" for everybody."""
    if open_files is None:
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if open_files == resource.RLIM_INFINITY:
            return configured
    bound = max(1, min(configured, open_files - tcp_connections - DESCRIPTORS_KEPT))
    if bound < configured:
        log.warning("[upstream] max_in_flight %d lowered to %d: %d open files allowed (ulimit -n), "
                    "%d of them for TCP clients", configured, bound, open_files, tcp_connections)
    return bound


def _is_reply_to(data: bytes, ident: bytes, question: bytes) -> bool:
    if len(data) < 12 + len(question) or data[:2] != ident or not data[2] & 0x80:
        return False
    return data[12:12 + len(question)].lower() == question


def _readable(reply: bytes) -> tuple[bytes, Scan]:
    """The reply's body without OPT (the client gets its own) and its scan; UpstreamError if unreadable."""
    scan = scan_reply(reply)
    if scan is None:
        raise UpstreamError("unreadable reply")
    body = strip_opt(reply, scan)
    if body is not None:
        # Only the last record went: every other offset the scan found still holds.
        return body, scan._replace(opt_span=None, opt_is_last=False, end=len(body))
    body = _without_opt_by_reencoding(reply)
    scan = scan_reply(body)
    if scan is None:
        raise UpstreamError("unreadable reply")
    return body, scan


def _without_opt_by_reencoding(reply: bytes) -> bytes:
    """The rare reply whose OPT record is not the last one, rebuilt without it."""
    import dnslib

    try:
        record = dnslib.DNSRecord.parse(reply)
    except Exception as error:  # noqa: BLE001 - dnslib raises many types on bad input
        raise UpstreamError(f"unreadable reply: {error}") from None
    record.ar = [rr for rr in record.ar if rr.rtype != dnslib.QTYPE.OPT]
    return record.pack()


def _expire(reply: asyncio.Future) -> None:
    if not reply.done():
        reply.set_exception(asyncio.TimeoutError())


class _TcpConnection(asyncio.Protocol):
    """One kept TCP connection to an upstream; replies are matched to queries by ID."""

    def __init__(self, on_lost: Callable[["_TcpConnection"], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: dict[bytes, tuple[bytes, asyncio.Future]] = {}
        self.buffer = bytearray()
        self.on_lost = on_lost
        self.last_used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            length = int.from_bytes(self.buffer[:2], "big")
            if len(self.buffer) < 2 + length:
                return
            message = bytes(self.buffer[2:2 + length])
            del self.buffer[:2 + length]
            waiting = self.pending.get(message[:2])
            if waiting is not None and _is_reply_to(message, message[:2], waiting[0]):
                del self.pending[message[:2]]
                if not waiting[1].done():
                    waiting[1].set_result(message)

    def connection_lost(self, error: Exception | None) -> None:
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(UpstreamError("TCP connection closed"))
        self.pending.clear()
        self.on_lost(self)

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, message: bytes, question: bytes) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.pending[message[:2]] = (question, future)
        self.transport.write(len(message).to_bytes(2, "big") + message)
        self.last_used = time.monotonic()
        return future


class Forwarder:
    """The asyncio side of forwarding: sends what a `Resolution` asks for over real sockets and
    tells it what came back; every choice (whom, which transport, what failed) is the policy's."""

    def __init__(self, pool: UpstreamPool, timeout: float, attempts: int,
                 on_try: Callable[[Upstream, str, float], None] | None = None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.attempts = attempts
        self.on_try = on_try or (lambda server, outcome, seconds: None)
        self._tcp: dict[Upstream, _TcpConnection] = {}
        self._connecting: dict[Upstream, asyncio.Future] = {}
        self._buffer = bytearray(65535)
        self._view = memoryview(self._buffer)

    async def exchange(self, query: Query) -> tuple[bytes, Scan] | None:
        """The reply the policy settles on, without its OPT record, or None when all failed."""
        resolution = Resolution(self.pool, self.attempts)
        while (request := resolution.next_request()) is not None:
            server, transport = request
            started = time.monotonic()
            readable = None
            try:
                if transport is _UDP:
                    reply = await self._udp(server, query)
                else:
                    reply = await self._tcp_exchange(server, query)
                if reply[2] & 0x02:  # TC: not read, the policy says where the whole answer comes from
                    outcome = Outcome.TRUNCATED
                else:
                    readable = _readable(reply)
                    outcome = _outcome_of_rcode(readable[1].rcode)
            except (UpstreamError, OSError, asyncio.TimeoutError) as error:
                outcome = Outcome.TIMEOUT if isinstance(error, asyncio.TimeoutError) else Outcome.ERROR
                log.debug("upstream %s failed for %s: %r", server, query.qname, error)
            seconds = time.monotonic() - started
            resolution.record(outcome, seconds, readable)
            self.on_try(server, outcome.label, seconds)
        return resolution.reply

    def _message(self, query: Query) -> tuple[bytes, bytes]:
        ident = secrets.randbits(16)
        return make_upstream_query(query, ident), query.question.lower()

    async def _udp(self, server: Upstream, query: Query) -> bytes:
        loop = asyncio.get_running_loop()
        message, question = self._message(query)
        ident = message[:2]
        buffer, view = self._buffer, self._view
        sock = socket.socket(socket.AF_INET6 if ":" in server.host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # A connected socket: a fresh random source port, and the kernel drops datagrams from anyone else.
            sock.connect((server.host, server.port))
            sock.send(message)
            reply = loop.create_future()

            def readable() -> None:
                while not reply.done():
                    try:
                        # Into the buffer all tries share, copied out at its size: recv(65535) allocated
                        # 64 kB a reply and shrank it, fragmenting the heap under the parts the cache keeps.
                        data = view[:sock.recv_into(buffer)].tobytes()
                    except (BlockingIOError, InterruptedError):
                        return
                    except OSError as error:  # ICMP port unreachable: the upstream is not there
                        reply.set_exception(UpstreamError(f"UDP error: {error}"))
                        return
                    # Another ID or question is a spoofing attempt or a stray: wait on for the real one.
                    if _is_reply_to(data, ident, question):
                        reply.set_result(data)

            loop.add_reader(sock.fileno(), readable)
            timer = loop.call_later(self.timeout, _expire, reply)
            try:
                return await reply
            finally:
                timer.cancel()
                loop.remove_reader(sock.fileno())
        finally:
            sock.close()

    async def _tcp_exchange(self, server: Upstream, query: Query) -> bytes:
        message, question = self._message(query)
        connection = self._tcp.get(server)
        if connection is None or not connection.usable:
            connection = await self._connect(server)
        return await asyncio.wait_for(connection.send(message, question), self.timeout)

    async def _connect(self, server: Upstream) -> _TcpConnection:
        """The kept connection to `server`, opened once for every query that needs it meanwhile.

        Each opening its own would leave all but the last one open and unkept: a descriptor each.
        """
        connecting = self._connecting.get(server)
        if connecting is None:
            connecting = self._connecting[server] = asyncio.ensure_future(self._open(server))
            connecting.add_done_callback(lambda done: self._opened(server, done))
        # A waiter that gives up must not cancel the opening for the others.
        return await asyncio.shield(connecting)

    def _opened(self, server: Upstream, done: asyncio.Future) -> None:
        if self._connecting.get(server) is done:
            del self._connecting[server]
        if not done.cancelled():
            done.exception()  # every waiter raises it itself: nobody need log it as never retrieved

    async def _open(self, server: Upstream) -> _TcpConnection:
        loop = asyncio.get_running_loop()
        connection = _TcpConnection(lambda lost: self._tcp.pop(server, None) if self._tcp.get(server) is lost else None)
        await asyncio.wait_for(loop.create_connection(lambda: connection, server.host, server.port), self.timeout)
        self._tcp[server] = connection
        return connection

    def close_idle(self, now: float) -> None:
        for connection in list(self._tcp.values()):
            if not connection.pending and now - connection.last_used > TCP_IDLE_SECONDS:
                connection.transport.close()

    def close(self) -> None:
        for connecting in list(self._connecting.values()):
            connecting.cancel()
        for connection in list(self._tcp.values()):
            if connection.transport is not None:
                connection.transport.close()


class UpstreamStage(ReplySource):
    """The last stage: every query that reaches it is forwarded; identical ones in flight go once.

    A forwarded query holds a socket until its upstream answers or times out, so their number
    is bounded (`quota`: in all and per client network); past a bound the query gets SERVFAIL
    at once, with EDE 0 saying why, and `on_overload` hears which bound it was. A query that
    joins an identical one in flight costs no socket, only its wait: those are bounded in all,
    at WAITERS_PER_SOCKET times the sockets (a flood of one name from spoofed sources).
    """

    WAITING = "waiting"   # the bound on all waiting queries, joined ones included

    def __init__(self, forwarder: Forwarder, quota: Quota | None = None,
                 on_overload: Callable[[str], None] = lambda bound: None) -> None:
        super().__init__()
        self.forwarder = forwarder
        if quota is None:
            defaults = UpstreamSettings()
            quota = Quota(defaults.max_in_flight, defaults.max_in_flight_per_client)
        self.quota = quota
        self.max_waiting = WAITERS_PER_SOCKET * quota.total
        self.waiting = 0
        self.on_overload = on_overload
        self._in_flight: dict[bytes, asyncio.Future] = {}

    async def fetch(self, query: Query) -> Reply:
        if self.waiting >= self.max_waiting:
            return self._overloaded(query, self.WAITING)
        if query.key in self._in_flight:
            network = ""
        else:
            network = client_network(query.client)
            full = self.quota.take(network)
            if full:
                return self._overloaded(query, full)
        self.waiting += 1
        try:
            outcome = await self._shared_exchange(query)
        finally:
            self.waiting -= 1
            if network:
                self.quota.give_back(network)
        if outcome is None:
            return Reply(Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), Trigger.NO_UPSTREAM))
        body, scan = outcome
        return Reply(Answer(AnswerKind.RESOLVED, for_client(body, query)), scan)

    def _overloaded(self, query: Query, bound: str) -> Reply:
        self.on_overload(bound)
        return Reply(Answer(AnswerKind.OVERLOADED, make_reply(query, Rcode.SERVFAIL), Trigger.OVERLOAD, detail=bound))

    async def _shared_exchange(self, query: Query) -> tuple[bytes, Scan] | None:
        key = query.key
        shared = self._in_flight.get(key)
        while shared is not None:
            try:
                # Asked already: wait for that answer; a waiter that gives up must not cancel it for the others.
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                if not shared.cancelled():
                    raise
                shared = self._in_flight.get(key)  # the first asker gave up (shutdown): ask again
        # The first asker forwards in its own coroutine (no task of its own) and hands the outcome on.
        shared = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            outcome = await self.forwarder.exchange(query)
        except Exception as error:
            shared.set_exception(error)
            shared.exception()  # every waiter raises it itself: nobody need log it as never retrieved
            raise
        except BaseException:
            shared.cancel()
            raise
        finally:
            del self._in_flight[key]
        shared.set_result(outcome)
        return outcome
