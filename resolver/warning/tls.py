"""The warning page's HTTPS listener: the name is read before TLS starts, and its leaf is made off the event loop.

Python's SNI callback runs inside the handshake, on the event loop that also answers DNS, and
cannot wait: making a leaf there (milliseconds each) let a flood of handshakes with new names
stall every DNS answer of the worker. So each connection is accepted as a plain socket, its
ClientHello is peeked (MSG_PEEK: the bytes stay queued for the TLS layer) and read by
clienthello.py; the name is checked against the lists, every time, even when a leaf for it is
kept; the leaf is found, or made on one worker thread; only then does TLS start, with a
context holding that leaf, and the HTTP request is served as on the plain listener.

A name that is not blocked, or no name, gets a fatal alert (unrecognized_name, handshake_failure):
the sinkhole never hands out a certificate for a name people may trust.

Bounds, so that no client can take the listener or the loop:
* a client outside `allows` is disconnected as soon as it is accepted;
* at most `max_connections` connections wait for their ClientHello or leaf, each for at most
  `timeout` seconds, then as long again for the TLS handshake;
* leaves: LEAVES_PER_SECOND made (LEAF_BURST at once), MOST_WAITING handshakes waiting for one
  in all and PER_CLIENT of one client (an address, an IPv6 /56); past any, the handshake gets an
  internal_error alert. The leaf cache keeps one client's leaves to a share of it
  (certificates.LeafContexts), so a flood of new names cannot evict everybody else's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import ssl
import time
from typing import Awaitable, Callable

from fraudwall.resolver.dns.quota import Quota, client_network
from fraudwall.resolver.warning import clienthello
from fraudwall.resolver.warning.certificates import LeafContexts, is_certifiable
from fraudwall.resolver.warning.clienthello import ClientHello, NotClientHello
from fraudwall.resolver.warning.signer import LeafSigner

log = logging.getLogger("fraudwall.warning")

# Handshakes waiting for a leaf: of one client (a browser opens a few connections to a name at once), and in all.
PER_CLIENT = 2
MOST_WAITING = 8
# Leaves made a second, and at once. A leaf costs milliseconds of CPU (a signature, OpenSSL loading
# it), on the worker's cores: people reach a few new blocked names a second; beyond this a flood of
# new names gets alerts, not the CPU the event loop needs.
LEAVES_PER_SECOND = 20
LEAF_BURST = 20
# An accept that fails (out of file descriptors) is retried after this; the connection waits in the backlog.
ACCEPT_PAUSE = 0.1
# A wake-up without new bytes (the kernel may ignore SO_RCVLOWAT under memory pressure): look again after this.
NO_PROGRESS_PAUSE = 0.01

ALERT = 21
HANDSHAKE_FAILURE = 40
INTERNAL_ERROR = 80
UNRECOGNIZED_NAME = 112

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def alert(description: int) -> bytes:
    """A fatal TLS alert record, in the clear as before the server's first flight (RFC 8446 6)."""
    return bytes((ALERT, 3, 3, 0, 2, 2, description))


class LeafMinter:
    """A name's leaf from the cache, or made off the loop, within the bounds above.

    A leaf is made on one thread, its signature in the signing process (signer.py). A handshake
    asking for a leaf another handshake asked for first waits for that one: a name is never made
    twice at once.
    """

    def __init__(self, leaves: LeafContexts, clock: Callable[[], float] = time.monotonic) -> None:
        self._leaves = leaves
        self._clock = clock
        self._signer = LeafSigner()
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fraudwall-leaf")
        self._thread.submit(self._signer.start)   # now, not at the first leaf
        self._queued: dict[str, asyncio.Future] = {}
        self._waiting = Quota(MOST_WAITING, PER_CLIENT)
        # The budget of leaves as one number, when it is whole again (GCRA, as the DNS rate limit).
        self._interval = 1.0 / LEAVES_PER_SECOND
        self._window = (LEAF_BURST - 0.5) * self._interval
        self._whole_at = 0.0

    async def context_for(self, name: str, client: str) -> ssl.SSLContext | None:
        """The SSLContext serving `name`'s leaf; None when over a bound (the caller refuses the handshake)."""
        context = self._leaves.cached(name)
        if context is not None:
            return context
        owner = client_network(client)
        if self._waiting.take(owner):
            return None
        try:
            made = self._queued.get(name)
            if made is None:
                if not self._spend():
                    return None
                made = asyncio.get_running_loop().run_in_executor(self._thread, self._leaves.make, name, owner,
                                                                  self._signer.sign)
                self._queued[name] = made
                made.add_done_callback(lambda done: self._made(name, done))
            # Shielded: a handshake that times out must not cancel a leaf other handshakes wait for.
            return await asyncio.shield(made)
        finally:
            self._waiting.give_back(owner)

    def _spend(self) -> bool:
        now = self._clock()
        whole_at = max(self._whole_at, now)
        if whole_at - now > self._window:
            return False
        self._whole_at = whole_at + self._interval
        return True

    def _made(self, name: str, done: asyncio.Future) -> None:
        del self._queued[name]
        if not done.cancelled() and done.exception() is not None:
            log.error("warning page: cannot make a certificate for %s: %r", name, done.exception())

    def close(self) -> None:
        # After the leaves already asked for: at most MOST_WAITING, milliseconds each.
        self._thread.submit(self._signer.close)
        self._thread.submit(self._leaves.close)
        self._thread.shutdown(wait=False)


class TlsServer(asyncio.AbstractServer):
    """Accepts on `sock`, reads each ClientHello, then starts TLS with the name's leaf and calls `serve`."""

    def __init__(self, sock: socket.socket, minter: LeafMinter, blocked: Callable[[str], bool],
                 allows: Callable[[str], bool], serve: Serve, timeout: float, max_connections: int,
                 stream_limit: int) -> None:
        self._sock = sock
        self._minter = minter
        self._blocked = blocked
        self._allows = allows
        self._serve = serve
        self._timeout = timeout
        self._max_connections = max_connections
        self._stream_limit = stream_limit
        self._handshakes: set[asyncio.Task] = set()
        self._accepting: asyncio.Task | None = None
        self._loop = asyncio.get_running_loop()
        sock.setblocking(False)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,) if self._sock.fileno() >= 0 else ()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._accepting is not None and not self._accepting.done()

    async def start_serving(self) -> None:
        if self._accepting is None:
            self._accepting = self._loop.create_task(self._accept())

    async def serve_forever(self) -> None:
        await self.start_serving()
        await self.wait_closed()

    def close(self) -> None:
        if self._accepting is None:
            self._sock.close()
        else:
            self._accepting.cancel()   # it closes the socket once the loop has let go of it

    def close_clients(self) -> None:
        for handshake in list(self._handshakes):
            handshake.cancel()

    async def wait_closed(self) -> None:
        if self._accepting is not None:
            await asyncio.gather(self._accepting, return_exceptions=True)

    async def _accept(self) -> None:
        try:
            while True:
                try:
                    connection, peer = await self._loop.sock_accept(self._sock)
                except OSError as error:
                    log.warning("warning page: cannot accept an HTTPS connection: %s", error)
                    await asyncio.sleep(ACCEPT_PAUSE)
                    continue
                client = peer[0]
                if not self._allows(client) or len(self._handshakes) >= self._max_connections:
                    connection.close()
                    continue
                connection.setblocking(False)
                handshake = self._loop.create_task(self._handshake(connection, client))
                self._handshakes.add(handshake)
                handshake.add_done_callback(self._handshakes.discard)
        finally:
            self._sock.close()

    async def _handshake(self, connection: socket.socket, client: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                hello = await read_hello(self._loop, connection)
                context = await self._context(connection, hello, client)
        except (TimeoutError, OSError, NotClientHello) as error:
            log.debug("warning page: TLS connection from %s ended before its handshake: %r", client, error)
            connection.close()
            return
        except BaseException:
            connection.close()
            raise
        if context is None:
            return
        reader = asyncio.StreamReader(limit=self._stream_limit)
        protocol = asyncio.StreamReaderProtocol(reader, self._serve)
        try:
            await self._loop.connect_accepted_socket(lambda: protocol, connection, ssl=context,
                                                     ssl_handshake_timeout=self._timeout)
        except (TimeoutError, OSError, ssl.SSLError) as error:
            log.debug("warning page: TLS handshake with %s failed: %r", client, error)

    async def _context(self, connection: socket.socket, hello: ClientHello, client: str) -> ssl.SSLContext | None:
        """The context for the name asked for; None after refusing the handshake with an alert."""
        name = hello.server_name.lower().rstrip(".")
        # Asked on every handshake, kept leaf or not: the name may have left the lists since.
        if not name:
            refusal = HANDSHAKE_FAILURE
        elif not is_certifiable(name) or not self._blocked(name):
            refusal = UNRECOGNIZED_NAME
        else:
            try:
                context = await self._minter.context_for(name, client)
            except Exception:  # noqa: BLE001 - logged where the leaf was made; an alert, not a stuck handshake
                context = None
            if context is not None:
                return context
            log.debug("warning page: no certificate for %s from %s (too many asked for at once?)", name, client)
            refusal = INTERNAL_ERROR
        refuse(connection, hello, refusal)
        return None


async def read_hello(loop: asyncio.AbstractEventLoop, connection: socket.socket) -> ClientHello:
    """The connection's ClientHello, peeked: its bytes stay queued for the TLS layer."""
    seen = 0
    while True:
        await _readable(loop, connection)
        try:
            data = connection.recv(clienthello.MOST_BYTES, socket.MSG_PEEK)
        except BlockingIOError:
            continue    # woken without data after all
        if not data:
            raise ConnectionResetError("closed before its ClientHello")
        result = clienthello.read(data)
        if isinstance(result, ClientHello):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
            return result
        if len(data) == seen:
            await asyncio.sleep(NO_PROGRESS_PAUSE)
        seen = len(data)
        # Peeked bytes keep the socket readable: wake up only once the rest has come.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, result.needed)


async def _readable(loop: asyncio.AbstractEventLoop, connection: socket.socket) -> None:
    descriptor = connection.fileno()
    ready = loop.create_future()

    def wake() -> None:
        loop.remove_reader(descriptor)
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(descriptor, wake)
    try:
        await ready
    finally:
        loop.remove_reader(descriptor)


def refuse(connection: socket.socket, hello: ClientHello, description: int) -> None:
    """End the handshake with a fatal alert; the ClientHello is read first, so that closing sends FIN, not RST."""
    try:
        connection.recv(hello.length)
        connection.send(alert(description))
    except OSError:
        pass
    connection.close()
