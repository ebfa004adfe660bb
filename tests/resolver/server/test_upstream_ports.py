"""The kept UDP sockets tries go out from ([upstream] outgoing_range): RFC 5452 still holds with a
pool (ports and IDs vary, spoofed replies are ignored), errors do not stick, ports keep changing."""

import asyncio
import socket
import time

import dns.message
import pytest
from fraudwall.resolver.config import ConfigError, UpstreamSettings, from_document
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.quota import Quota
from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool
from fraudwall.resolver.server import upstream as upstream_module
from fraudwall.resolver.server.upstream import SOCKET_SECONDS, Forwarder, UpstreamStage

from tests.resolver.fake_upstream import FakeUpstream, ForgingUpstream
from tests.resolver.helpers import make_query, parse

RECORDS = {f"n{index}.example.org": [f"n{index}.example.org. 300 A 192.0.2.1"] for index in range(100)}


class RecordingUpstream(FakeUpstream):
    """Answers as FakeUpstream does and notes each query's source port and ID."""

    def __init__(self, records: dict[str, list[str]], **options) -> None:
        super().__init__(records, **options)
        self.sources: list[int] = []
        self.ids: list[int] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.sources.append(addr[1])
        self.ids.append(dns.message.from_wire(data).id)
        super().datagram_received(data, addr)


def forwarder_for(*ports: int, outgoing_range: int, timeout: float = 0.5, attempts: int = 1,
                  outcomes: list | None = None) -> Forwarder:
    pool = UpstreamPool(tuple(Upstream("127.0.0.1", port) for port in ports), time.monotonic)
    on_try = (lambda server, outcome, seconds: outcomes.append((server.port, outcome))) if outcomes is not None else None
    return Forwarder(pool, timeout, attempts, on_try=on_try, outgoing_range=outgoing_range)


async def resolve_all(forwarder: Forwarder, names) -> list:
    stage = UpstreamStage(forwarder)
    return [await stage.resolve(make_query(name)) for name in names]


def kept_sockets(forwarder: Forwarder) -> int:
    return sum(forwarder.ports._kept.values())


def test_tries_go_out_from_many_ports_with_ids_that_vary():
    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=UpstreamSettings.outgoing_range)
        try:
            answers = await resolve_all(forwarder, [f"n{index}.example.org" for index in range(60)])
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        # One after the other, yet not from one socket: each try draws a free one at random.
        assert len(set(upstream.sources)) > 30
        assert len(set(upstream.ids)) > 55

    asyncio.run(main())


def test_a_small_range_reuses_its_sockets_and_no_more():
    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=3)
        try:
            answers = await resolve_all(forwarder, [f"n{index}.example.org" for index in range(40)])
            assert kept_sockets(forwarder) == 3
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        assert 2 <= len(set(upstream.sources)) <= 3
        assert len(set(upstream.ids)) > 35

    asyncio.run(main())


def test_sockets_are_replaced_after_their_tries_so_ports_keep_changing(monkeypatch):
    monkeypatch.setattr(upstream_module, "SOCKET_TRIES", 4)

    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=2)
        try:
            answers = await resolve_all(forwarder, [f"n{index}.example.org" for index in range(40)])
            assert kept_sockets(forwarder) == 2
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        assert len(set(upstream.sources)) >= 10

    asyncio.run(main())


def test_idle_sockets_past_their_age_are_replaced():
    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=2)
        try:
            await resolve_all(forwarder, [f"n{index}.example.org" for index in range(20)])
            before = set(upstream.sources)
            upstream.sources.clear()
            forwarder.close_idle(time.monotonic() + SOCKET_SECONDS)   # what the worker calls every second
            answers = await resolve_all(forwarder, [f"n{index}.example.org" for index in range(20, 40)])
            assert kept_sockets(forwarder) == 2
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        assert not set(upstream.sources) & before

    asyncio.run(main())


def test_spoofed_and_late_replies_reaching_a_reused_socket_are_never_accepted():
    async def main():
        # One kept socket: the forged replies (other IDs, other questions) and the late copies of
        # each answer arrive on the socket the next try is waiting on.
        forger = ForgingUpstream({"www.example.org": "192.0.2.1"}, wrong_ids=50).start()
        forwarder = forwarder_for(forger.port, outgoing_range=1, timeout=1.0)
        try:
            answers = await resolve_all(forwarder, ["www.example.org"] * 15)
        finally:
            forwarder.close()
            forger.stop()
        for answer in answers:
            assert [rrset[0].address for rrset in parse(answer.body).answer] == ["192.0.2.1"]
        assert forger.forged >= 15 * 50

    asyncio.run(main())


def test_an_unreachable_upstream_fails_fast_and_leaves_the_pool_usable():
    async def main():
        dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        upstream = await FakeUpstream(RECORDS).start()
        outcomes: list = []
        # Two minutes of timeout: only the ICMP error can make the dead upstream fail in time.
        forwarder = forwarder_for(dead_port, upstream.port, outgoing_range=1, timeout=120, outcomes=outcomes)
        try:
            answers = await asyncio.wait_for(
                resolve_all(forwarder, [f"n{index}.example.org" for index in range(20)]), 30)
            assert kept_sockets(forwarder) == 1
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        assert outcomes[0] == (dead_port, "error")
        assert outcomes[1:] == [(upstream.port, "ok")] * 20

    asyncio.run(main())


async def closed(port: int, deadline: float = 5.0) -> None:
    """Returns once nothing holds UDP `port` on 127.0.0.1 (asyncio closes a transport on the next turn)."""
    give_up = time.monotonic() + deadline
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", port))
            return
        except OSError:
            if time.monotonic() > give_up:
                raise
            await asyncio.sleep(0.01)
        finally:
            probe.close()


def test_an_icmp_error_left_on_an_idle_socket_does_not_fail_the_next_try():
    async def main():
        loop = asyncio.get_running_loop()
        first = await FakeUpstream(RECORDS).start()
        port = first.port
        outcomes: list = []
        forwarder = forwarder_for(port, outgoing_range=1, outcomes=outcomes)
        try:
            await resolve_all(forwarder, ["n1.example.org"])
            # The upstream goes away; a datagram from the kept socket brings back ICMP port
            # unreachable, left on the socket, unread. The upstream comes back on the same port,
            # and the next try is sent before the event loop could read the error.
            first.stop()
            await closed(port)
            (kept,) = forwarder.ports._free[socket.AF_INET]
            kept.sock.send(b"\0" * 12)
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", port))
            asking = asyncio.ensure_future(resolve_all(forwarder, ["n2.example.org", "n3.example.org"]))
            transport, _ = await loop.create_datagram_endpoint(lambda: FakeUpstream(RECORDS), sock=back)
            try:
                answers = await asyncio.wait_for(asking, 10)
            finally:
                transport.close()
        finally:
            forwarder.close()
        assert [answer.kind for answer in answers] == [AnswerKind.RESOLVED] * 2
        assert outcomes == [(port, "ok")] * 3

    asyncio.run(main())


def test_every_socket_busy_a_try_gets_one_of_its_own():
    async def main():
        upstream = await RecordingUpstream(RECORDS, delay=0.05).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=1)
        stage = UpstreamStage(forwarder)
        try:
            answers = await asyncio.gather(*(stage.resolve(make_query(f"n{index}.example.org")) for index in range(6)))
            assert kept_sockets(forwarder) == 1
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)
        assert len(set(upstream.sources)) == 6

    asyncio.run(main())


def test_outgoing_range_zero_opens_a_socket_for_every_try():
    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=0)
        try:
            answers = await resolve_all(forwarder, [f"n{index}.example.org" for index in range(10)])
            assert kept_sockets(forwarder) == 0
        finally:
            forwarder.close()
            upstream.stop()
        assert all(answer.kind is AnswerKind.RESOLVED for answer in answers)

    asyncio.run(main())


def test_outgoing_range_is_read_from_the_config_and_checked():
    config = from_document({"upstream": {"servers": ["192.0.2.53"], "outgoing_range": 64}}, "test.toml")
    assert config.upstream.outgoing_range == 64
    with pytest.raises(ConfigError, match="outgoing_range"):
        from_document({"upstream": {"servers": ["192.0.2.53"], "outgoing_range": -1}}, "test.toml")


def test_no_more_sockets_are_kept_than_queries_may_be_in_flight():
    async def main():
        upstream = await RecordingUpstream(RECORDS).start()
        forwarder = forwarder_for(upstream.port, outgoing_range=256)
        stage = UpstreamStage(forwarder, Quota(8, 8))
        try:
            answer = await stage.resolve(make_query("n1.example.org"))
            assert kept_sockets(forwarder) == 8
        finally:
            forwarder.close()
            upstream.stop()
        assert answer.kind is AnswerKind.RESOLVED

    asyncio.run(main())
