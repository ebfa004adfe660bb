"""The TCP listener (RFC 7766): several queries a connection, answered as they finish, and limits
that keep one client from holding TCP for everybody.

* At most `max_connections` open, `max_per_client` of them from one client network (quota.py):
  a connection over either bound is closed at once.
* A client the access stage refuses gets its answer to one message, then the connection closes;
  it has `message_timeout` to send that message, not the idle timeout.
* A message must be whole `message_timeout` after its first byte arrived; the idle timeout
  restarts only on a whole message or a reply, so bytes trickled in keep nothing open.
* Messages are handed to the handler TCP_BATCH at a time, the rest in a later turn of the event
  loop, so connections pipelining hundreds of queries cannot hold up UDP or each other; none
  while MAX_IN_FLIGHT queries of the connection are being answered or the unsent reply bytes
  exceed WRITE_HIGH (the client is not reading).
* Reading pauses while a whole message waits in the buffer or the replies wait unsent, and
  resumes when they drain: a client that pipelines, fast or never reading, has one read's
  worth buffered here and a few kB of replies, not its whole backlog.
* From a sender in `[server] proxy_from` the connection starts with a PROXY v2 header (dns/proxy.py),
  whole within `message_timeout`: the client it names is the connection's client (the access
  stage's test, the per-client bound, the chain). Until it is read the slot is counted for the
  connection alone, so the balancer's many connections are not held to one client's bound. A
  trusted sender without a header, or a header from anyone else, gets the connection closed.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.handler import QueryHandler
from fraudwall.resolver.dns.proxy import ProxyError, ProxyGate, Refusal, read_header, refusal, starts_header
from fraudwall.resolver.dns.quota import Quota, client_network

WRITE_HIGH = 64 * 1024   # unsent reply bytes at which a connection stops being read
WRITE_LOW = 16 * 1024    # ... and below which it is read again
MAX_IN_FLIGHT = 64       # queries of one connection being answered at once (RFC 7766 6.2.1.1 pipelining)
TCP_BATCH = 8            # messages of one connection handled per callback, so UDP and the others get their turn


class TcpConnections:
    """What all connections of one listener share: the handler, the limits, the open connections."""

    def __init__(self, handler: QueryHandler, idle_timeout: float, max_connections: int,
                 max_per_client: int = 16, message_timeout: float = 2.0,
                 admits: Callable[[str], bool] = lambda client: True, proxy: ProxyGate | None = None) -> None:
        """`admits` is the access stage's test: a client it refuses gets one answer, then the connection closes.
        `proxy`: whose connections start with a PROXY v2 header (by default nobody's)."""
        self.handler = handler
        self.proxy = proxy if proxy is not None else ProxyGate()
        self.idle_timeout = idle_timeout
        self.message_timeout = message_timeout
        self.admits = admits
        self.quota = Quota(max_connections, max_per_client)
        self.open: set["TcpServer"] = set()

    def close_all(self) -> None:
        for connection in list(self.open):
            connection.close()


class TcpServer(asyncio.Protocol):
    def __init__(self, shared: TcpConnections) -> None:
        self.shared = shared
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.client = ""
        self.network = ""          # the quota key; "" until the connection holds a slot
        self.served = True         # False: the access stage refuses this client
        self.idle_timer: asyncio.TimerHandle | None = None
        self.message_timer: asyncio.TimerHandle | None = None
        self.in_flight = 0         # messages handed to the handler and not answered yet
        self.write_blocked = False  # the transport's buffer is above WRITE_HIGH
        self.reading_paused = False
        self.answering = False     # inside _answer_buffered: a resume must not re-enter it
        self.next_batch: asyncio.Handle | None = None  # the rest of the buffer, scheduled for a later turn
        self.header = _NO_HEADER   # what the first bytes must be: a PROXY header, or anything but one

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        shared = self.shared
        peer = transport.get_extra_info("peername")
        client = peer[0]
        if shared.proxy.trusts(client):
            self.header = _AWAITED
            network = f"{client} port {peer[1]}"   # this connection's own slot, until the header names the client
        else:
            network = client_network(client)
        if shared.quota.take(network):
            transport.abort()
            return
        self.client = client
        self.network = network
        shared.open.add(self)
        transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)  # type: ignore[attr-defined]
        if self.header is _AWAITED:
            self._restart_idle(shared.message_timeout)
            return
        self.served = shared.admits(client)
        self._restart_idle(shared.idle_timeout if self.served else shared.message_timeout)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.header is not _READ and not self._read_header():
            return
        if self.next_batch is None:   # else the batch scheduled reads it in its turn
            self._answer_buffered()

    def _read_header(self) -> bool:
        """Settle what the connection starts with; False while more bytes are needed or when it is refused."""
        gate = self.shared.proxy
        buffer = self.buffer
        if self.header is _NO_HEADER:
            starts = starts_header(buffer)
            if starts:
                gate.refuse(Refusal.UNTRUSTED, Transport.TCP, self.client,
                            "a PROXY header from a sender not in proxy_from")
                self._expire()
                return False
            if starts is None:
                return False
            self.header = _READ
            return True
        try:
            header = read_header(buffer)
        except ProxyError as error:
            gate.refuse(refusal(buffer), Transport.TCP, self.client, str(error))
            self._expire()
            return False
        if header is None:
            return False
        del buffer[:header.size]
        self.header = _READ
        shared = self.shared
        if header.client is not None:   # else LOCAL: the sender asks for itself
            shared.quota.give_back(self.network)
            self.network = ""
            network = client_network(header.client)
            if shared.quota.take(network):
                self._expire()
                return False
            self.network = network
            self.client = header.client
        self.served = shared.admits(self.client)
        self._restart_idle(shared.idle_timeout if self.served else shared.message_timeout)
        return True

    def _answer_buffered(self) -> None:
        """Hand whole messages in the buffer to the handler, TCP_BATCH of them in one turn of the
        event loop (the rest wait for a later turn, after the sockets that became readable
        meanwhile: UDP, the other connections), none while MAX_IN_FLIGHT are being answered or
        the replies wait unsent; then read on only if no whole message is left waiting."""
        self.next_batch = None
        buffer = self.buffer
        completed = 0
        self.answering = True
        try:
            while (len(buffer) >= 2 and self.in_flight < MAX_IN_FLIGHT and not self.write_blocked
                   and self.transport is not None):
                length = (buffer[0] << 8) | buffer[1]
                if len(buffer) < 2 + length:
                    break
                if completed == TCP_BATCH:
                    self.next_batch = asyncio.get_running_loop().call_soon(self._answer_buffered)
                    break
                message = bytes(buffer[2:2 + length])
                del buffer[:2 + length]
                completed += 1
                self._handle(message)
                if not self.served:
                    # One answer is all a refused client gets: the reply goes out, then the connection closes.
                    buffer.clear()
                    self.close()
                    return
        finally:
            self.answering = False
        if completed:
            self._restart_idle(self.shared.idle_timeout)
        self._update_reading()
        if not buffer or self.reading_paused:
            self._stop_message_timer()  # a whole message waiting for its turn is not late by the client's fault
        elif completed or self.message_timer is None:
            # What is left is the start of the next message: its first byte came in this read.
            self._stop_message_timer()
            self.message_timer = asyncio.get_running_loop().call_later(self.shared.message_timeout, self._expire)

    def _handle(self, message: bytes) -> None:
        handler = self.shared.handler
        reply = _Reply(self)
        tasks = len(handler.pending)
        self.in_flight += 1
        handler.handle(message, self.client, Transport.TCP, reply)
        if not reply.sent and len(handler.pending) == tasks:
            # Finished without a reply (a drop, a response sent to us): nothing is in flight for it.
            # One that waits and then sends nothing (a drop after the upstream) stays counted.
            reply.settle()

    def _answered(self, wire: bytes | None) -> None:
        self.in_flight -= 1
        transport = self.transport
        if wire is not None and transport is not None and not transport.is_closing():
            transport.write(len(wire).to_bytes(2, "big") + wire)
            self._restart_idle(self.shared.idle_timeout)
        self._go_on()

    def pause_writing(self) -> None:
        self.write_blocked = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_blocked = False
        self._go_on()

    def _go_on(self) -> None:
        """A query answered or the replies drained: answer what waits, unless that is under way."""
        if not self.answering and self.next_batch is None:
            self._answer_buffered()

    def _update_reading(self) -> None:
        """Read while the replies are not stuck and no whole message waits in the buffer: a client
        sending faster than it is answered has one read's worth buffered here, not its backlog."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        buffer = self.buffer
        pause = self.write_blocked or (len(buffer) >= 2 and len(buffer) >= 2 + ((buffer[0] << 8) | buffer[1]))
        if pause != self.reading_paused:
            self.reading_paused = pause
            if pause:
                transport.pause_reading()
                self._stop_message_timer()
            else:
                transport.resume_reading()

    def _restart_idle(self, seconds: float) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _stop_message_timer(self) -> None:
        if self.message_timer is not None:
            self.message_timer.cancel()
            self.message_timer = None

    def _expire(self) -> None:
        """Idle, or a message too slow: close without waiting for a client that may never read."""
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.next_batch is not None:
            self.next_batch.cancel()
            self.next_batch = None
        self._stop_message_timer()
        if self.network:
            self.shared.quota.give_back(self.network)
            self.network = ""
        self.shared.open.discard(self)
        self.transport = None


_NO_HEADER = "no header"     # an untrusted sender: a connection starting with the signature is refused
_AWAITED = "awaited"         # a trusted sender: nothing is answered before its header
_READ = "read"               # settled: messages follow


class _Reply:
    """The `send` callback for one message: counts it answered once, whether a reply is sent or not."""

    __slots__ = ("connection", "sent")

    def __init__(self, connection: TcpServer) -> None:
        self.connection = connection
        self.sent = False

    def __call__(self, wire: bytes) -> None:
        if not self.sent:
            self.sent = True
            self.connection._answered(wire)

    def settle(self) -> None:
        if not self.sent:
            self.sent = True
            self.connection._answered(None)
