"""Forwarding against an in-process upstream on loopback: RFC 5452 checks, TCP retry, failover, sharing."""

import asyncio
import socket

import dns.rcode
from fraudwall.resolver.codes import AnswerKind
from fraudwall.resolver.upstream import Forwarder, UpstreamStage
from fraudwall.resolver.upstream_pool import Upstream, UpstreamPool

from tests.resolver.fake_upstream import FakeUpstream
from tests.resolver.helpers import make_query, parse

RECORDS = {"www.example.org": ["www.example.org. 300 A 192.0.2.1"]}


def dead_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def stage_for(*ports: int, timeout: float = 0.2, attempts: int = 1) -> UpstreamStage:
    import time

    pool = UpstreamPool(tuple(Upstream("127.0.0.1", port) for port in ports), time.monotonic)
    return UpstreamStage(Forwarder(pool, timeout, attempts))


def test_forwards_and_answers():
    async def main():
        upstream = await FakeUpstream(RECORDS).start()
        answer = await stage_for(upstream.port).resolve(make_query("WWW.example.org"))
        upstream.stop()
        assert answer.kind is AnswerKind.RESOLVED
        assert parse(answer.body).answer[0][0].address == "192.0.2.1"
        assert upstream.udp_queries == ["www.example.org."]  # forwarded in lowercase

    asyncio.run(main())


def test_a_reply_with_another_id_is_ignored():
    async def main():
        upstream = await FakeUpstream(RECORDS, spoof_first=True).start()
        answer = await stage_for(upstream.port).resolve(make_query())
        upstream.stop()
        assert answer.kind is AnswerKind.RESOLVED

    asyncio.run(main())


def test_truncated_udp_is_retried_over_a_kept_tcp_connection():
    async def main():
        upstream = await FakeUpstream(RECORDS, truncate_udp=True).start()
        stage = stage_for(upstream.port)
        first = await stage.resolve(make_query())
        second = await stage.resolve(make_query())
        upstream.stop()
        assert parse(first.body).answer[0][0].address == "192.0.2.1"
        assert parse(second.body).answer[0][0].address == "192.0.2.1"
        assert len(upstream.tcp_queries) == 2 and upstream.tcp_connections == 1

    asyncio.run(main())


def test_fails_over_to_the_next_upstream_and_then_prefers_it():
    async def main():
        silent = await FakeUpstream(RECORDS, silent=True).start()
        good = await FakeUpstream(RECORDS).start()
        stage = stage_for(silent.port, good.port)
        first = await stage.resolve(make_query())
        second = await stage.resolve(make_query())
        silent.stop()
        good.stop()
        assert first.kind is AnswerKind.RESOLVED and second.kind is AnswerKind.RESOLVED
        assert len(silent.udp_queries) == 1 and len(good.udp_queries) == 2

    asyncio.run(main())


def test_servfail_when_every_upstream_fails():
    async def main():
        answer = await stage_for(dead_port(), dead_port()).resolve(make_query())
        assert answer.kind is AnswerKind.SERVFAIL
        assert parse(answer.body).rcode() == dns.rcode.SERVFAIL

    asyncio.run(main())


def test_identical_queries_in_flight_go_upstream_once():
    async def main():
        upstream = await FakeUpstream(RECORDS, delay=0.05).start()
        stage = stage_for(upstream.port)
        queries = [make_query("www.example.org") for _ in range(5)]
        answers = await asyncio.gather(*(stage.resolve(query) for query in queries))
        upstream.stop()
        assert len(upstream.udp_queries) == 1
        assert [parse(answer.body).id for answer in answers] == [query.id for query in queries]

    asyncio.run(main())


async def first_asker_waiting():
    """A slow upstream, its stage, and a first query forwarded and waiting for the reply."""
    upstream = await FakeUpstream(RECORDS, delay=0.05).start()
    stage = stage_for(upstream.port)
    first = asyncio.ensure_future(stage.resolve(make_query("www.example.org")))
    await asyncio.sleep(0.01)
    return upstream, stage, first


def test_a_waiter_that_gives_up_does_not_cancel_the_answer_for_the_others():
    async def main():
        upstream, stage, first = await first_asker_waiting()
        impatient = asyncio.ensure_future(stage.resolve(make_query("www.example.org")))
        patient = asyncio.ensure_future(stage.resolve(make_query("www.example.org")))
        await asyncio.sleep(0.01)
        impatient.cancel()
        answers = await asyncio.gather(first, patient)
        upstream.stop()
        assert impatient.cancelled()
        assert [parse(answer.body).answer[0][0].address for answer in answers] == ["192.0.2.1"] * 2
        assert len(upstream.udp_queries) == 1

    asyncio.run(main())


def test_when_the_first_asker_is_cancelled_the_others_ask_again():
    async def main():
        upstream, stage, first = await first_asker_waiting()
        follower = asyncio.ensure_future(stage.resolve(make_query("www.example.org")))
        await asyncio.sleep(0.01)
        first.cancel()
        answer = await follower
        later = await stage.resolve(make_query("www.example.org"))
        upstream.stop()
        assert first.cancelled()
        assert parse(answer.body).answer[0][0].address == "192.0.2.1"
        assert parse(later.body).answer[0][0].address == "192.0.2.1"
        # The cancelled try, the follower's own, and `later`'s (nothing was in flight any more, no cache here).
        assert len(upstream.udp_queries) == 3

    asyncio.run(main())


def test_every_asker_hears_of_a_failed_exchange():
    class Broken:
        async def exchange(self, query):
            await asyncio.sleep(0.01)
            raise RuntimeError("reply could not be re-encoded")

    async def main():
        stage = UpstreamStage(Broken())
        outcomes = await asyncio.gather(*(stage.resolve(make_query("www.example.org")) for _ in range(3)),
                                        return_exceptions=True)
        assert [type(outcome) for outcome in outcomes] == [RuntimeError] * 3
        assert not stage._in_flight

    asyncio.run(main())


def test_refused_fails_over_and_holds_the_upstream_back():
    async def main():
        refusing = await FakeUpstream(RECORDS, rcode=5).start()
        good = await FakeUpstream(RECORDS).start()
        stage = stage_for(refusing.port, good.port)
        first = await stage.resolve(make_query())
        second = await stage.resolve(make_query("mail.example.org"))
        refusing.stop()
        good.stop()
        assert parse(first.body).answer[0][0].address == "192.0.2.1"
        assert second.kind is AnswerKind.RESOLVED
        assert len(refusing.udp_queries) == 1  # held back after refusing once

    asyncio.run(main())


def test_servfail_asks_the_next_upstream_and_stands_only_when_nobody_answers_better():
    async def main():
        failing = await FakeUpstream(RECORDS, rcode=2).start()
        good = await FakeUpstream(RECORDS).start()
        answer = await stage_for(failing.port, good.port).resolve(make_query())
        only_failing = await stage_for(failing.port).resolve(make_query())
        failing.stop()
        good.stop()
        assert parse(answer.body).answer[0][0].address == "192.0.2.1"
        assert only_failing.kind is AnswerKind.RESOLVED
        assert parse(only_failing.body).rcode() == dns.rcode.SERVFAIL

    asyncio.run(main())
