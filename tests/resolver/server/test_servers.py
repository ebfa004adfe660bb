"""The UDP and TCP listeners over real loopback sockets, with the in-process upstream behind them."""

import asyncio
import socket
import time

import dns.message
import dns.query
import dns.rcode
import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.resolver.config import AccessSettings, Config, UpstreamSettings
from fraudwall.resolver.server.worker import Resolver
from fraudwall.resolver.server.tcp import TcpConnections, TcpServer
from fraudwall.resolver.server.udp import UdpServer
from fraudwall.resolver.dns.upstream_policy import Upstream

from tests.resolver.fake_upstream import FakeUpstream

pytestmark = pytest.mark.usefixtures("datagram_io")

RECORDS = {"www.example.org": ["www.example.org. 300 A 192.0.2.1"],
           "mail.example.org": ["mail.example.org. 300 A 192.0.2.2"]}


async def start_resolver(upstream_port: int, max_connections: int = 8, idle: float = 0.3, per_client: int = 16,
                         message_timeout: float = 2.0, allow: tuple[str, ...] = ("127.0.0.0/8",),
                         watch=lambda handler: handler):
    """A resolver's UDP and TCP listeners on one loopback port; both reach its handler through `watch(handler)`."""
    loop = asyncio.get_running_loop()
    config = Config(access=AccessSettings(allow=allow),
                    upstream=UpstreamSettings(servers=(f"127.0.0.1:{upstream_port}",), timeout=0.3))
    resolver = Resolver(config, MemoryBlocklist.from_files(["demo"]), (Upstream("127.0.0.1", upstream_port),))
    handler = watch(resolver.handler)
    connections = TcpConnections(handler, idle, max_connections, per_client, message_timeout,
                                 admits=resolver.handler.replays.admits)
    for _ in range(20):
        # The UDP port the kernel picks may be taken for TCP by another process: pick again.
        udp = UdpServer.bind(handler, "127.0.0.1", 0)
        port = udp.port
        try:
            tcp = await loop.create_server(lambda: TcpServer(connections), "127.0.0.1", port)
        except OSError:
            udp.close()
            continue
        udp.start()
        return port, udp, tcp
    raise OSError("no port free for both UDP and TCP")


def udp_ask(port: int, wire: bytes, timeout: float = 1.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(wire, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except socket.timeout:
            return None


def test_udp_answers_and_survives_garbage():
    async def main():
        upstream = await FakeUpstream(RECORDS).start()
        port, udp, tcp = await start_resolver(upstream.port)
        query = dns.message.make_query("www.example.org", "A")
        loop = asyncio.get_running_loop()
        garbage = await loop.run_in_executor(None, udp_ask, port, b"\x00\x01garbage", 0.3)
        reply = await loop.run_in_executor(None, lambda: dns.query.udp(query, "127.0.0.1", port=port, timeout=2))
        udp.close()
        tcp.close()
        upstream.stop()
        assert reply.answer[0][0].address == "192.0.2.1"
        assert garbage is None or dns.message.from_wire(garbage).rcode() == dns.rcode.FORMERR

    asyncio.run(main())


def test_tcp_pipelined_queries_on_one_connection():
    async def main():
        upstream = await FakeUpstream(RECORDS, delay=0.05).start()
        port, udp, tcp = await start_resolver(upstream.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        slow = dns.message.make_query("www.example.org", "A")
        fast = dns.message.make_query("icbc-tuikuan.example.com", "A")  # blocked: answered at once
        for message in (slow, fast):
            wire = message.to_wire()
            writer.write(len(wire).to_bytes(2, "big") + wire)
        replies = []
        for _ in range(2):
            length = int.from_bytes(await reader.readexactly(2), "big")
            replies.append(dns.message.from_wire(await reader.readexactly(length)))
        writer.close()
        udp.close()
        tcp.close()
        upstream.stop()
        # Out of order: the blocked name needs no upstream and overtakes the slow one.
        assert [reply.id for reply in replies] == [fast.id, slow.id]
        assert replies[0].answer[0][0].address == "0.0.0.0"
        assert replies[1].answer[0][0].address == "192.0.2.1"

    asyncio.run(main())


def test_tcp_idle_connections_are_closed():
    async def main():
        upstream = await FakeUpstream(RECORDS).start()
        port, udp, tcp = await start_resolver(upstream.port, idle=0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        data = await asyncio.wait_for(reader.read(1), 2)
        waited = time.monotonic() - started
        udp.close()
        tcp.close()
        upstream.stop()
        assert data == b"" and waited < 1.5

    asyncio.run(main())


def test_tcp_connections_beyond_the_cap_are_dropped():
    async def main():
        upstream = await FakeUpstream(RECORDS).start()
        port, udp, tcp = await start_resolver(upstream.port, max_connections=1, idle=5)
        first = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.05)
        second_reader, second_writer = await asyncio.open_connection("127.0.0.1", port)
        wire = dns.message.make_query("www.example.org", "A").to_wire()
        second_writer.write(len(wire).to_bytes(2, "big") + wire)
        try:
            closed = await asyncio.wait_for(second_reader.read(2), 2) == b""
        except ConnectionResetError:
            closed = True
        first[1].close()
        udp.close()
        tcp.close()
        upstream.stop()
        assert closed

    asyncio.run(main())


def test_udp_datagrams_of_every_size_reach_the_handler_whole():
    class Keeping:
        def __init__(self) -> None:
            self.datagrams: list = []

        def handle(self, data, client, transport, send) -> None:
            self.datagrams.append(data)

    async def main():
        handler = Keeping()
        udp = UdpServer.bind(handler, "127.0.0.1", 0)   # type: ignore[arg-type]
        sent = [b"", b"\x01" * 12, bytes(range(256)) * 6, b"\xff" * 65507, b"\x02" * 40]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
            for datagram in sent:
                sock.sendto(datagram, ("127.0.0.1", udp.port))
        udp.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(handler.datagrams) < len(sent) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        udp.close()
        return handler.datagrams, sent

    received, sent = asyncio.run(main())
    # Read into one buffer that the next datagram overwrites: each is handed on as a copy of its own.
    assert received == sent
    assert {type(datagram) for datagram in received} == {bytes}
