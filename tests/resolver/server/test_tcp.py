"""The TCP listener's limits: per-client connections, refused clients, message deadlines, paused reading."""

import asyncio
import contextlib
import socket
import threading
import time

import dns.message
import dns.rcode
from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.server.tcp import MAX_IN_FLIGHT, TCP_BATCH, TcpConnections, TcpServer

from tests.resolver.fake_upstream import FakeUpstream
from tests.resolver.server.test_servers import RECORDS, start_resolver, udp_ask


def framed(name: str = "www.example.org", rdtype: str = "A") -> bytes:
    wire = dns.message.make_query(name, rdtype).to_wire()
    return len(wire).to_bytes(2, "big") + wire


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 2), "big")
    return await asyncio.wait_for(reader.readexactly(length), 2)


def framed_a_query(name: str, ident: int) -> bytes:
    """framed(name), built without dnspython, which takes most of a test's time for thousands."""
    wire = (ident.to_bytes(2, "big") + b"\x01\x00\x00\x01" + bytes(6)
            + b"".join(len(label).to_bytes(1, "big") + label.encode() for label in name.split("."))
            + b"\x00\x00\x01\x00\x01")
    return len(wire).to_bytes(2, "big") + wire


async def read_frames(reader: asyncio.StreamReader, count: int, seconds: float = 10) -> None:
    """Read `count` framed messages, whatever they hold; TimeoutError after `seconds`."""
    buffered = b""
    async with asyncio.timeout(seconds):
        while count:
            if len(buffered) >= 2 and len(buffered) >= 2 + (length := int.from_bytes(buffered[:2], "big")):
                buffered = buffered[2 + length:]
                count -= 1
            else:
                buffered += await reader.read(65536)


async def read_reply(reader: asyncio.StreamReader) -> dns.message.Message:
    return dns.message.from_wire(await read_frame(reader))


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server closes the connection (EOF or reset) within `seconds`; replies are read past."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while (left := deadline - loop.time()) > 0:
            if await asyncio.wait_for(reader.read(65536), left) == b"":
                return True
    except ConnectionResetError:
        return True
    except asyncio.TimeoutError:
        return False
    return False


@contextlib.asynccontextmanager
async def resolver(**limits):
    """The resolver's UDP and TCP listeners on loopback with `limits`, the in-process upstream behind them."""
    upstream = await FakeUpstream(RECORDS).start()
    port, udp, tcp = await start_resolver(upstream.port, **limits)
    try:
        yield port, upstream
    finally:
        udp.close()
        tcp.close()
        upstream.stop()


async def until(condition, seconds: float = 5.0) -> None:
    """Poll `condition` on the event loop until it holds; AssertionError after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_one_client_cannot_take_every_tcp_connection():
    async def main():
        async with resolver(max_connections=8, idle=5, per_client=3) as (port, _):
            hog = [await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0)) for _ in range(10)]
            beyond_its_share = [await closed_within(reader, 1) for reader, _ in hog[3:]]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(framed())
            reply = await read_reply(reader)
            for _, hog_writer in hog:
                hog_writer.close()
            writer.close()
        assert beyond_its_share == [True] * 7
        assert reply.answer[0][0].address == "192.0.2.1"

    asyncio.run(main())


def test_a_refused_client_gets_one_refused_then_the_connection_closes():
    async def main():
        async with resolver(idle=5, message_timeout=0.3, allow=("127.0.0.1/32",)) as (port, upstream):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
            writer.write(framed() + framed("mail.example.org"))
            reply = await read_reply(reader)
            closed_after_reply = await closed_within(reader, 1)
            # One that sends nothing has a message's time, not the idle timeout.
            silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port,
                                                                         local_addr=("127.0.0.2", 0))
            silent_closed = await closed_within(silent_reader, 1)
            writer.close()
            silent_writer.close()
        assert reply.rcode() == dns.rcode.REFUSED
        assert closed_after_reply and silent_closed
        assert upstream.udp_queries == []

    asyncio.run(main())


def test_a_message_trickled_in_is_cut_at_its_deadline():
    async def main():
        async with resolver(idle=5, message_timeout=0.3) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            loop = asyncio.get_running_loop()
            started = loop.time()
            closed = False
            for byte in framed():
                writer.write(bytes([byte]))   # a byte every 0.1 s: each one used to restart the idle timer
                if await closed_within(reader, 0.1):
                    closed = True
                    break
            waited = loop.time() - started
            writer.close()
        assert closed and waited < 1.0

    asyncio.run(main())


def test_whole_messages_keep_a_connection_open_past_the_message_deadline():
    async def main():
        async with resolver(idle=5, message_timeout=0.2) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            addresses = []
            for _ in range(4):
                writer.write(framed())
                addresses.append((await read_reply(reader)).answer[0][0].address)
                assert not await closed_within(reader, 0.1)
            writer.close()
        assert addresses == ["192.0.2.1"] * 4

    asyncio.run(main())


class HoldingHandler:
    """A query handler that answers only when told, as one waiting for a slow upstream would.

    Like QueryHandler, a query that waits is in `pending` until it is answered. `reply_size`
    bytes go back for each; `at_once` answers every query as it comes.
    """

    def __init__(self, reply_size: int = 40, at_once: bool = False) -> None:
        self.reply_size = reply_size
        self.at_once = at_once
        self.held: list = []
        self.pending: set = set()
        self.handled = 0
        self.most_held = 0

    def handle(self, data: bytes, client: str, transport: Transport, send) -> None:
        self.handled += 1
        reply = data[:2] + bytes(self.reply_size - 2)
        if self.at_once:
            send(reply)
            return
        token = object()
        self.pending.add(token)
        self.held.append((token, reply, send))
        self.most_held = max(self.most_held, len(self.held))

    def answer_held(self) -> None:
        held, self.held = self.held, []
        for token, reply, send in held:
            self.pending.discard(token)
            send(reply)


async def serve(handler: HoldingHandler) -> tuple[int, TcpConnections, asyncio.AbstractServer]:
    connections = TcpConnections(handler, 5, 8)  # type: ignore[arg-type]
    server = await asyncio.get_running_loop().create_server(lambda: TcpServer(connections), "127.0.0.1", 0)
    return server.sockets[0].getsockname()[1], connections, server


def test_reading_pauses_while_a_connection_has_many_queries_in_flight():
    async def main():
        handler = HoldingHandler()
        port, _, server = await serve(handler)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count = 500
        writer.write(b"".join(framed(f"n{index}.example.org") for index in range(count)))
        answered = 0
        while answered < count:
            await until(lambda: handler.held)
            handler.answer_held()
            while answered < handler.handled - len(handler.held):
                await read_frame(reader)
                answered += 1
        writer.close()
        server.close()
        assert handler.most_held <= MAX_IN_FLIGHT
        assert answered == count

    asyncio.run(main())


def test_reading_pauses_while_replies_wait_for_a_client_that_does_not_read():
    async def main():
        handler = HoldingHandler(reply_size=60_000, at_once=True)
        port, connections, server = await serve(handler)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count = 1000   # 60 MB of replies
        writer.write(b"".join(framed(f"n{index}.example.org") for index in range(count)))
        await until(lambda: connections.open and len(connections.open) == 1)
        connection = next(iter(connections.open))
        await until(lambda: handler.handled == count or connection.reading_paused)
        handled_while_unread = handler.handled
        buffered = connection.transport.get_write_buffer_size()
        for _ in range(count):   # the client reads at last: reading resumes until every query is answered
            await read_frame(reader)
        writer.close()
        server.close()
        assert handled_while_unread < count
        assert buffered < 200_000   # the high-water mark and a reply or two, not the backlog

    asyncio.run(main())


class CountingHandler:
    """The resolver's handler, counting the TCP messages handed to it."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.pending = handler.pending
        self.tcp_messages = 0

    def handle(self, data: bytes, client: str, transport: Transport, send) -> None:
        if transport is Transport.TCP:
            self.tcp_messages += 1
        self.handler.handle(data, client, transport, send)


def udp_round_trips(port: int, counting: CountingHandler, done: threading.Event, most: int = 1000) -> list:
    """(seconds, TCP messages handled meanwhile) of each UDP query for a cached name, asked one
    after the other from another thread until `done` is set (at most `most`)."""
    trips = []
    wire = dns.message.make_query("www.example.org", "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        while not done.is_set() and len(trips) < most:
            handled, started = counting.tcp_messages, time.monotonic()
            sock.sendto(wire, ("127.0.0.1", port))
            sock.recv(65535)
            trips.append((time.monotonic() - started, counting.tcp_messages - handled))
    return trips


def test_tcp_clients_pipelining_many_queries_leave_udp_its_turn():
    connections, per_connection = 64, 100

    async def main():
        loop = asyncio.get_running_loop()
        upstream = await FakeUpstream(RECORDS).start()
        counting = None

        def watch(handler):
            nonlocal counting
            counting = CountingHandler(handler)
            return counting

        port, udp, tcp = await start_resolver(upstream.port, max_connections=connections, per_client=connections,
                                              idle=10, watch=watch)
        clients = []
        try:
            await loop.run_in_executor(None, udp_ask, port, dns.message.make_query("www.example.org", "A").to_wire())
            clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
            # Names under a blocked one, each asked once: answered from the list, no cache, no upstream.
            pipelined = [b"".join(framed_a_query(f"n{index}-{query}.icbc-tuikuan.example.com", query)
                                  for query in range(per_connection)) for index in range(connections)]
            for (_, writer), queries in zip(clients, pipelined):
                writer.write(queries)
            done = threading.Event()
            trips = loop.run_in_executor(None, udp_round_trips, port, counting, done)
            for reader, _ in clients:
                await read_frames(reader, per_connection)
            done.set()
            trips = await trips
        finally:
            for _, writer in clients:
                writer.close()
            udp.close()
            tcp.close()
            upstream.stop()
        assert counting.tcp_messages == connections * per_connection
        return trips

    trips = asyncio.run(main())
    waited_for = max(handled for _, handled in trips)
    slowest = max(seconds for seconds, _ in trips)
    # Each connection's messages are handled a batch at a time, and UDP is read between two
    # batches: a UDP query waits for the rest of one batch of every connection and the next,
    # not for everything they pipelined (all 6,400 here before, up to 2 s in-process).
    assert len(trips) >= 2
    assert waited_for <= 3 * connections * TCP_BATCH, f"waited {slowest * 1000:.0f} ms for {waited_for} TCP messages"


def test_a_client_sending_faster_than_it_is_answered_is_not_read_ahead():
    class Watching(HoldingHandler):
        """Answers at once and notes the most bytes a connection held unread."""

        connections = None
        most_buffered = 0

        def handle(self, data, client, transport, send) -> None:
            for connection in self.connections.open:
                self.most_buffered = max(self.most_buffered, len(connection.buffer))
            super().handle(data, client, transport, send)

    async def main():
        handler = Watching(at_once=True)
        port, connections, server = await serve(handler)
        handler.connections = connections
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count = 40_000   # 1.5 MB of queries, sent as fast as the socket takes them
        writer.write(b"".join(framed_a_query(f"n{index}.example.org", index % 65536) for index in range(count)))
        await read_frames(reader, count, seconds=30)
        writer.close()
        server.close()
        return handler.most_buffered

    most_buffered = asyncio.run(main())
    # What one read brings (256 kB) and the start of one message, not the client's whole backlog.
    assert most_buffered <= 256 * 1024 + 65537
