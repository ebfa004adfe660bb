"""upstream: forward a query over UDP (TCP when truncated), fail over, and share identical queries.

RFC 5452: each UDP try goes out from a socket drawn at random from a pool of open ones, each
on its own random source port chosen by the kernel (Unbound's outgoing-range), carries a fresh
random ID, and a reply counts only when it comes from the address and port asked (the socket
is connected to it), with that ID and the same question. A socket carries one try at a time
and is replaced by a fresh one (a new port) after a random number of tries, a random age, or
any error, so the ports in use keep changing. A blind spoofer must hit a port with a query
waiting on it, as with a fresh socket per try, and then its ID and question. TCP connections
to an upstream are kept and reused, several queries in flight on each (RFC 7766).
"""

from __future__ import annotations

import array
import asyncio
import collections
import logging
import os
import resource
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
# A pooled UDP socket is replaced after a number of tries drawn between half this and this, or
# once idle past an age drawn between half this and this: its port then stops being one to aim at.
SOCKET_TRIES = 2000
SOCKET_SECONDS = 120.0


# Read once: an Enum class attribute costs a descriptor call each time, on every forwarded query.
_UDP = Transport.UDP
_TRUNCATED, _TIMEOUT, _ERROR = Outcome.TRUNCATED, Outcome.TIMEOUT, Outcome.ERROR
_outcome_of_rcode = Outcome.of_rcode
# Where the fields that stripping the OPT record changes sit in a Scan (see _readable).
_OPT_FIELDS = Scan._fields.index("opt_span")
assert Scan._fields[_OPT_FIELDS:_OPT_FIELDS + 3] == ("opt_span", "opt_is_last", "end"), Scan._fields
_tuple_new = tuple.__new__


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
    if body is reply:
        return body, scan   # no OPT, nothing after the last record: the scan holds as it is
    if body is not None:
        # Only the last record went: every other offset the scan found still holds. Rebuilt from
        # slices, as `_replace` (a dict and a call a field) cost 2.0 µs on each forwarded reply, this 0.5.
        return body, _tuple_new(Scan, scan[:_OPT_FIELDS] + (None, False, len(body)) + scan[_OPT_FIELDS + 3:])
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
    return bytes(record.pack())   # a bytearray: the codec reads bytes (compiled, it takes nothing else)


class RandomIds:
    """Unpredictable 16-bit numbers (query IDs, which free socket a try takes) from the kernel's
    CSPRNG, read 4 kB at a time: a `secrets` call per number was a system call, 1-2 µs a try."""

    __slots__ = ("_numbers",)

    def __init__(self) -> None:
        self._numbers = iter(())

    def __call__(self) -> int:
        number = next(self._numbers, None)
        if number is None:
            self._numbers = iter(array.array("H", os.urandom(4096)))
            number = next(self._numbers)
        return number


class _Port:
    """One UDP socket for tries: connected to the upstream of its current try, at most one try
    waiting on it (its ID, question, message and who waits for it)."""

    __slots__ = ("sock", "fd", "family", "peer", "pooled", "tries_left", "renew_at", "broken",
                 "waiter", "ident", "question", "message", "serial", "sent")

    def __init__(self, family: int, pooled: int, tries: int, renew_at: float) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self.family = family
        self.peer: Upstream | None = None
        self.pooled = pooled          # the pool's generation it belongs to; 0 for a socket of one try
        self.tries_left = tries
        self.renew_at = renew_at
        self.broken = False
        self.waiter: object | None = None   # what `on_done` is called with; None between tries
        self.ident = b""
        self.question = b""
        self.message = b""
        self.serial = 0               # tries it has carried: which one a deadline is for
        self.sent = 0                 # the serial of the last try sent: an error before it is the last one's


class OutgoingPorts:
    """The UDP sockets tries go out from: `size` kept open for each address family in use, one
    drawn at random for each try (Unbound's outgoing-range), so a try costs a send and a read,
    not a socket opened, connected and closed. Each socket keeps its reader registered, so a
    datagram arriving between tries (a late or forged reply, an ICMP error) is read and dropped
    at once. A socket whose try met an error is replaced. When every kept socket is busy, a try
    gets a socket of its own, closed after it, as every try does with `size` 0.

    A try ends in one call, `on_done(waiter, result)`, made from the reader, the timer or the
    send: `result` is the reply, or the error (UpstreamError, TimeoutError). No future, task or
    coroutine per try: the one future a forwarded query's askers wait on is settled once, when the
    policy has its answer (Forwarder).

    Deadlines share one timer: every try waits the same `timeout`, so they come due in the
    order the tries started, and a queue of (deadline, socket, try) replaces a timer armed
    and cancelled for each try (2.4 µs under uvloop).
    """

    def __init__(self, size: int, timeout: float, random16: Callable[[], int],
                 on_done: Callable[[object, bytes | Exception], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.timeout = timeout
        self.random16 = random16
        self.on_done = on_done
        self.clock = clock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.generation = 1            # a socket of an older one, given back, is closed
        self._free: dict[int, list[_Port]] = {}
        self._kept: dict[int, int] = {}  # pooled sockets open, busy or free, by family
        self._deadlines: collections.deque[tuple[float, _Port, int]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._outbox: list[_Port] = []   # sockets whose try is sent at the end of this turn
        self._buffer = bytearray(65535)
        self._view = memoryview(self._buffer)

    def take(self, server: Upstream, loop: asyncio.AbstractEventLoop) -> _Port:
        """A socket connected to `server` with no try waiting on it; OSError when none can be."""
        if loop is not self.loop:
            self.close()          # another event loop (a test, a restarted worker): sockets of its own
            self.loop = loop
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        free = self._free.get(family)
        if free is None:
            free = self._free[family] = []
            self._kept[family] = 0
            self._top_up(family)
        if free:
            # A random free socket, not the one given back last: which port a try uses is not foreseeable.
            index = self.random16() % len(free)
            free[index], free[-1] = free[-1], free[index]
            port = free.pop()
        else:
            port = self._open(family, 0)
        if port.peer != server:
            try:
                # Connected: the kernel drops datagrams from any other address and port and reports
                # the upstream's ICMP errors; the port stays the one the first connect bound.
                port.sock.connect((server.host, server.port))
            except OSError:
                port.broken = True
                self.give_back(port)
                raise
            port.peer = server
            self._readable(port)      # what the last upstream sent meanwhile goes, unread
        return port

    def start(self, port: _Port, message: bytes, question: bytes, waiter: object) -> None:
        """Send `message` from `port` and wait for the reply with its ID and `question` (lowercase);
        `on_done(waiter, ...)` says how it ended, `timeout` seconds after at the latest.

        The message goes at the end of this turn of the loop, with every other try started in it. A
        burst of sends finds the upstream awake; one send at a time wakes it each time, and on a
        virtual machine the wake-up is most of a send's CPU (16 µs against 5 here)."""
        port.waiter = waiter
        port.ident = message[:2]
        port.question = question
        port.message = message
        port.serial += 1
        loop = self.loop
        deadline = loop.time() + self.timeout
        self._deadlines.append((deadline, port, port.serial))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        self._outbox.append(port)
        if len(self._outbox) == 1:
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        for port in outbox:
            if port.waiter is None:
                continue   # the try ended before its turn (the pool closed)
            try:
                port.sock.send(port.message)
                port.sent = port.serial
                continue
            except OSError as error:
                if not port.pooled:
                    self._fail(port, error)
                    continue
            # An ICMP error that reached a kept socket after its last try and was not read yet is
            # reported by the next send, which clears it: it is about that try, not this one. Once more.
            try:
                port.sock.send(port.message)
                port.sent = port.serial
            except OSError as error:
                self._fail(port, error)

    def _expire(self) -> None:
        deadlines = self._deadlines
        now = self.loop.time()
        while deadlines and deadlines[0][0] <= now:
            _, port, serial = deadlines.popleft()
            if port.serial == serial and port.waiter is not None:
                self._done(port, asyncio.TimeoutError())
        self._timer = self.loop.call_at(deadlines[0][0], self._expire) if deadlines else None

    def _fail(self, port: _Port, error: OSError) -> None:
        port.broken = True
        self._done(port, UpstreamError(f"UDP error: {error}"))

    def _done(self, port: _Port, result: bytes | Exception) -> None:
        """The try on `port` is over: the socket goes back before the waiter hears, so that a next
        try may take it."""
        waiter = port.waiter
        port.waiter = None
        try:
            self.give_back(port)
        finally:
            self.on_done(waiter, result)   # whatever happened to the socket: nobody else would tell the waiter

    def give_back(self, port: _Port) -> None:
        """`port` after its try: free again, or closed and a fresh one kept in its place."""
        port.tries_left -= 1
        if port.pooled == self.generation and not port.broken and port.tries_left > 0:
            self._free[port.family].append(port)
            return
        self._close(port)
        if port.pooled == self.generation:
            self._kept[port.family] -= 1
            self._top_up(port.family)

    def renew(self, now: float) -> None:
        """Free sockets past their age replaced by fresh ones (new ports); the pool filled up
        again where descriptors ran short."""
        for family, free in self._free.items():
            for port in [port for port in free if port.renew_at <= now]:
                free.remove(port)
                self._close(port)
                self._kept[family] -= 1
            self._top_up(family)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()
        self._outbox = []   # a flush owed by a loop that is gone would never run
        for free in self._free.values():
            for port in free:
                self._close(port)
        self._free.clear()
        self._kept.clear()
        self.generation += 1

    def _top_up(self, family: int) -> None:
        free = self._free[family]
        try:
            while self._kept[family] < self.size:
                free.append(self._open(family, self.generation))
                self._kept[family] += 1
        except OSError as error:
            # Out of descriptors: fewer kept sockets for now (renew tries again), not a failed try.
            log.warning("upstream: %d of %d UDP sockets kept open: %s", self._kept[family], self.size, error)

    def _open(self, family: int, pooled: int) -> _Port:
        share = self.random16() / 0xFFFF     # each socket its own lifetime, so they are not replaced all at once
        port = _Port(family, pooled, int(SOCKET_TRIES * (1 + share) / 2), self.clock() + SOCKET_SECONDS * (1 + share) / 2)
        try:
            self.loop.add_reader(port.fd, self._readable, port)
        except BaseException:
            port.sock.close()
            raise
        return port

    def _close(self, port: _Port) -> None:
        if port.sock.fileno() >= 0:
            if self.loop is not None and not self.loop.is_closed():
                self.loop.remove_reader(port.fd)
            port.sock.close()

    def _readable(self, port: _Port) -> None:
        sock, buffer, view = port.sock, self._buffer, self._view
        while True:
            try:
                # Into the buffer all sockets share, copied out at its size: recv(65535) allocated
                # 64 kB a reply and shrank it, fragmenting the heap under the parts the cache keeps.
                size = sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # ICMP port unreachable: the upstream is not there
                # Before the try is sent (it waits for the end of the turn), the error is the last try's.
                if port.waiter is not None and port.sent == port.serial:
                    self._fail(port, error)
                return   # between tries: about a try that is over; reading it cleared it
            # No try waiting, another ID or question: a late reply, a spoofing attempt or a stray.
            if port.waiter is not None:
                data = view[:size].tobytes()
                if _is_reply_to(data, port.ident, port.question):
                    self._done(port, data)
                    # Not read on to the error that says the socket is empty (a system call and an
                    # exception each reply): the loop comes back while anything is left on it.
                    return


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


class _Exchange:
    """One query on its way through the upstreams: the policy's `Resolution`, the future its
    askers wait on, and the try under way (which upstream, since when)."""

    __slots__ = ("query", "question", "resolution", "future", "server", "started")

    def __init__(self, query: Query, resolution: Resolution, future: asyncio.Future) -> None:
        self.query = query
        self.question = query.question.lower()   # as it goes out, and as a reply must carry it
        self.resolution = resolution
        self.future = future
        self.server: Upstream | None = None
        self.started = 0.0


class Forwarder:
    """The asyncio side of forwarding: sends what a `Resolution` asks for over real sockets and
    tells it what came back; every choice (whom, which transport, what failed) is the policy's.

    Driven by callbacks, not a coroutine: a UDP try is started by `forward` or by the end of the
    try before it, and ends in `_tried`, called by the sockets; a TCP try (after a truncated reply)
    runs as a task of its own and ends there too.
    """

    def __init__(self, pool: UpstreamPool, timeout: float, attempts: int,
                 on_try: Callable[[Upstream, str, float], None] | None = None,
                 outgoing_range: int = UpstreamSettings.outgoing_range) -> None:
        self.pool = pool
        self.timeout = timeout
        self.attempts = attempts
        self.on_try = on_try or (lambda server, outcome, seconds: None)
        self.random16 = RandomIds()
        self.ports = OutgoingPorts(outgoing_range, timeout, self.random16, self._tried)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tcp: dict[Upstream, _TcpConnection] = {}
        self._connecting: dict[Upstream, asyncio.Future] = {}
        self._tcp_tries: set[asyncio.Task] = set()   # the loop keeps only weak references to tasks

    def forward(self, query: Query) -> asyncio.Future:
        """A future for the reply the policy settles on, without its OPT record, and its scan; None
        when every try failed. Cancelling it drops the try under way when it ends (its reply or
        timeout), as nobody waits for it any more."""
        loop = self.loop
        # Only one loop runs in a thread at a time: when this one is not running, another is.
        # (get_running_loop is a getpid() system call each time.)
        if loop is None or not loop.is_running():
            loop = self.loop = asyncio.get_running_loop()
        exchange = _Exchange(query, Resolution(self.pool, self.attempts), loop.create_future())
        self._next(exchange)
        return exchange.future

    def _next(self, exchange: _Exchange) -> None:
        """Start the try the policy asks for next, or settle the exchange when it asks for none."""
        resolution = exchange.resolution
        while (request := resolution.next_request()) is not None:
            server, transport = request
            exchange.server = server
            exchange.started = time.monotonic()
            if transport is not _UDP:
                task = self.loop.create_task(self._tcp_try(exchange))
                self._tcp_tries.add(task)
                task.add_done_callback(self._tcp_tries.discard)
                return
            try:
                port = self.ports.take(server, self.loop)
            except OSError as error:
                self._record(exchange, _ERROR, None, error)
                continue
            self.ports.start(port, make_upstream_query(exchange.query, self.random16()), exchange.question, exchange)
            return
        exchange.future.set_result(resolution.reply)

    def _tried(self, exchange: _Exchange, result: bytes | Exception) -> None:
        """The try under way ended: `result` is its reply or the error it met. The policy hears of it
        and says what next; an error nobody expected reaches the askers."""
        future = exchange.future
        if future.done():
            return   # every asker gave up (the worker is stopping)
        try:
            if type(result) is not bytes:
                self._record(exchange, _TIMEOUT if isinstance(result, asyncio.TimeoutError) else _ERROR,
                             None, result)
            elif result[2] & 0x02:   # TC: not read, the policy says where the whole answer comes from
                self._record(exchange, _TRUNCATED, None, None)
            else:
                try:
                    readable = _readable(result)
                except UpstreamError as error:
                    self._record(exchange, _ERROR, None, error)
                else:
                    self._record(exchange, _outcome_of_rcode(readable[1].rcode), readable, None)
            self._next(exchange)
        except Exception as error:  # noqa: BLE001 - handed to whoever awaits the exchange
            future.set_exception(error)

    def _record(self, exchange: _Exchange, outcome: Outcome, readable: tuple[bytes, Scan] | None,
                error: BaseException | None) -> None:
        if error is not None:
            log.debug("upstream %s failed for %s: %r", exchange.server, exchange.query.qname, error)
        seconds = time.monotonic() - exchange.started
        exchange.resolution.record(outcome, seconds, readable)
        self.on_try(exchange.server, outcome.label, seconds)

    async def _tcp_try(self, exchange: _Exchange) -> None:
        try:
            result = await self._tcp_exchange(exchange.server, exchange)
        except (UpstreamError, OSError, asyncio.TimeoutError) as error:
            result = error
        self._tried(exchange, result)

    async def _tcp_exchange(self, server: Upstream, exchange: _Exchange) -> bytes:
        message = make_upstream_query(exchange.query, self.random16())
        connection = self._tcp.get(server)
        if connection is None or not connection.usable:
            connection = await self._connect(server)
        return await asyncio.wait_for(connection.send(message, exchange.question), self.timeout)

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
        """Called every second or so: idle TCP connections closed, pooled UDP sockets past their age replaced."""
        self.ports.renew(now)
        for connection in list(self._tcp.values()):
            if not connection.pending and now - connection.last_used > TCP_IDLE_SECONDS:
                connection.transport.close()

    def close(self) -> None:
        self.ports.close()
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
        # No more sockets kept than queries may hold at once: the in-flight bound was fitted under
        # the open-files limit, and the descriptors past it are the TCP clients'.
        if isinstance(forwarder, Forwarder):
            forwarder.ports.size = min(forwarder.ports.size, quota.total)
        self.max_waiting = WAITERS_PER_SOCKET * quota.total
        self.waiting = 0
        self.on_overload = on_overload
        self._in_flight: dict[bytes, asyncio.Future] = {}

    async def fetch(self, query: Query) -> Reply:
        if self.waiting >= self.max_waiting:
            return self._overloaded(query, self.WAITING)
        key = query.key
        in_flight = self._in_flight
        shared = in_flight.get(key)
        if shared is None:
            network = client_network(query.client)
            full = self.quota.take(network)
            if full:
                return self._overloaded(query, full)
        else:
            network = ""
        self.waiting += 1
        try:
            while True:
                if shared is None or shared.cancelled():
                    # The first asker's wait is the exchange itself: no task, no coroutine of its own.
                    shared = in_flight[key] = self.forwarder.forward(query)
                    try:
                        outcome = await shared
                    finally:
                        if in_flight.get(key) is shared:
                            del in_flight[key]
                    break
                try:
                    # Asked already: wait for that answer; a waiter that gives up must not cancel it for the others.
                    outcome = await asyncio.shield(shared)
                    break
                except asyncio.CancelledError:
                    if not shared.cancelled():
                        raise
                    shared = in_flight.get(key)   # the first asker gave up (shutdown): ask again
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
