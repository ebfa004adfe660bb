"""The UDP and TCP listeners behind a balancer: the client a PROXY v2 header names is the one the
handler sees, replies go back to the balancer, and headers from anyone else are refused."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.proxy import ProxyGate, Refusal, build_header, local_header
from fraudwall.resolver.server.tcp import TcpConnections, TcpServer
from fraudwall.resolver.server.udp import UdpServer

from tests.resolver.server.test_tcp import closed_within

pytestmark = pytest.mark.usefixtures("datagram_io")

BALANCER = "127.0.0.1"          # the trusted sender (dnsdist)
STRANGER = "127.0.0.2"          # anyone else on the network
QUERY = bytes.fromhex("abcd01000001000000000000076578616d706c65036f72670000010001")


def framed(message: bytes = QUERY) -> bytes:
    return len(message).to_bytes(2, "big") + message


def tcp_header(client: str) -> bytes:
    return build_header(client, 40000, "::1" if ":" in client else "127.0.0.1", 53, Transport.TCP)


class Recorder:
    """A handler that answers each message with the client it was handed."""

    def __init__(self) -> None:
        self.pending: set = set()
        self.seen: list[tuple[bytes, str, Transport]] = []

    def handle(self, data: bytes, client: str, transport: Transport, send) -> None:
        self.seen.append((data, client, transport))
        send(client.encode())


@contextlib.asynccontextmanager
async def listening(per_client: int = 16, admits=lambda client: True):
    handler = Recorder()
    refusals: list[tuple[Refusal, Transport]] = []
    gate = ProxyGate((f"{BALANCER}/32",), lambda reason, transport: refusals.append((reason, transport)))
    connections = TcpConnections(handler, 5, 64, per_client, 2.0, admits=admits, proxy=gate)
    loop = asyncio.get_running_loop()
    for _ in range(20):
        udp = UdpServer.bind(handler, "127.0.0.1", 0, gate)
        try:
            tcp = await loop.create_server(lambda: TcpServer(connections), "127.0.0.1", udp.port)
        except OSError:
            udp.close()
            continue
        break
    udp.start()
    try:
        yield udp.port, handler, refusals
    finally:
        connections.close_all()
        udp.close()
        tcp.close()


async def udp_exchange(port: int, payload: bytes, source: str) -> bytes | None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, payload, ("127.0.0.1", port))
        try:
            return await asyncio.wait_for(loop.sock_recv(sock, 65535), 0.5)
        except asyncio.TimeoutError:
            return None


async def connect(port: int, source: str):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 2), "big")
    return await asyncio.wait_for(reader.readexactly(length), 2)


# ---------------------------------------------------------------- UDP

def test_udp_the_handler_sees_the_client_in_the_header_and_the_balancer_gets_the_reply():
    async def main():
        async with listening() as (port, handler, refusals):
            reply = await udp_exchange(port, build_header("192.0.2.7", 5353, "127.0.0.1", 53) + QUERY, BALANCER)
            health = await udp_exchange(port, local_header() + QUERY, BALANCER)
            return reply, health, handler.seen, refusals
    reply, health, seen, refusals = asyncio.run(main())
    assert reply == b"192.0.2.7"           # sent back to the balancer's socket
    assert health == BALANCER.encode()     # a LOCAL header: the balancer asks for itself
    assert seen == [(QUERY, "192.0.2.7", Transport.UDP), (QUERY, BALANCER, Transport.UDP)]
    assert refusals == []


def test_udp_headers_refused_from_strangers_and_required_from_the_balancer():
    async def main():
        async with listening() as (port, handler, refusals):
            forged = await udp_exchange(port, build_header("192.0.2.7", 1, "127.0.0.1", 53) + QUERY, STRANGER)
            plain = await udp_exchange(port, QUERY, STRANGER)
            bare = await udp_exchange(port, QUERY, BALANCER)
            return forged, plain, bare, handler.seen, refusals
    forged, plain, bare, seen, refusals = asyncio.run(main())
    assert forged is None and bare is None
    assert plain == STRANGER.encode()      # plain DNS from anyone else is answered as before
    assert seen == [(QUERY, STRANGER, Transport.UDP)]
    assert refusals == [(Refusal.UNTRUSTED, Transport.UDP), (Refusal.MISSING, Transport.UDP)]


# ---------------------------------------------------------------- TCP

def test_tcp_the_header_names_the_client_of_every_message_of_the_connection():
    async def main():
        async with listening() as (port, handler, refusals):
            reader, writer = await connect(port, BALANCER)
            stream = tcp_header("2001:db8::7") + framed() + framed()
            for at in range(0, len(stream), 5):   # in pieces: the header is read whole, however it arrives
                writer.write(stream[at:at + 5])
                await writer.drain()
            replies = [await read_frame(reader), await read_frame(reader)]
            writer.close()
            return replies, handler.seen, refusals
    replies, seen, refusals = asyncio.run(main())
    assert replies == [b"2001:db8::7"] * 2
    assert seen == [(QUERY, "2001:db8::7", Transport.TCP)] * 2
    assert refusals == []


def test_tcp_a_health_check_connection_is_the_balancers_own():
    async def main():
        async with listening() as (port, handler, _):
            reader, writer = await connect(port, BALANCER)
            writer.write(local_header() + framed())
            reply = await read_frame(reader)
            writer.close()
            return reply
    assert asyncio.run(main()) == BALANCER.encode()


def test_tcp_connections_refused_for_their_header_are_closed_and_counted():
    async def main():
        async with listening() as (port, handler, refusals):
            closed = []
            for source, payload in ((STRANGER, tcp_header("192.0.2.7") + framed()),   # forged
                                    (BALANCER, framed()),                             # no header
                                    (BALANCER, tcp_header("192.0.2.7")[:13] + b"\x12" + bytes(20))):  # broken
                reader, writer = await connect(port, source)
                writer.write(payload)
                closed.append(await closed_within(reader, 2))
                writer.close()
            reader, writer = await connect(port, STRANGER)
            writer.write(framed())
            plain = await read_frame(reader)
            writer.close()
            return closed, plain, handler.seen, refusals
    closed, plain, seen, refusals = asyncio.run(main())
    assert closed == [True, True, True]
    assert plain == STRANGER.encode()
    assert seen == [(QUERY, STRANGER, Transport.TCP)]
    assert refusals == [(Refusal.UNTRUSTED, Transport.TCP), (Refusal.MISSING, Transport.TCP),
                        (Refusal.MALFORMED, Transport.TCP)]


def test_tcp_the_per_client_bound_counts_real_clients_not_the_balancer():
    async def main():
        async with listening(per_client=2) as (port, handler, _):
            served = []
            opened = []
            for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9", "192.0.2.9",
                           "192.0.2.9"):
                reader, writer = await connect(port, BALANCER)
                opened.append(writer)
                writer.write(tcp_header(client) + framed())
                try:
                    served.append(await read_frame(reader) == client.encode())
                except (asyncio.IncompleteReadError, ConnectionResetError):
                    served.append(False)
            for writer in opened:
                writer.close()
            return served
    # more connections from the balancer than one client may hold; the third of one client is refused
    assert asyncio.run(main()) == [True, True, True, True, True, True, False]


def test_tcp_the_access_test_is_of_the_real_client():
    async def main():
        async with listening(admits=lambda client: client != "192.0.2.66") as (port, handler, _):
            reader, writer = await connect(port, BALANCER)
            writer.write(tcp_header("192.0.2.66") + framed() + framed())
            reply = await read_frame(reader)
            closed = await closed_within(reader, 2)
            writer.close()
            return reply, closed, handler.seen
    reply, closed, seen = asyncio.run(main())
    assert reply == b"192.0.2.66" and closed   # one answer (REFUSED, from the chain), then the connection closes
    assert seen == [(QUERY, "192.0.2.66", Transport.TCP)]
