"""Forwarding against an in-process upstream on loopback: RFC 5452 checks, TCP retry, failover, sharing."""

import asyncio
import socket
import time

import dns.rcode
from fraudwall.resolver.dns.stages.cache import CacheStage
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import scan_reply
from fraudwall.resolver.dns.codes import AnswerKind, EDECode
from fraudwall.resolver.config import CacheSettings
from fraudwall.resolver.dns.quota import Quota
from fraudwall.resolver.server import upstream as upstream_module
from fraudwall.resolver.server.upstream import DESCRIPTORS_KEPT, WAITERS_PER_SOCKET, Forwarder, UpstreamStage, in_flight_bound
from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool

from tests.resolver.fake_upstream import FORGED_ADDRESS, FakeUpstream, ForgingUpstream
from tests.resolver.helpers import make_query, parse, upstream_reply

RECORDS = {"www.example.org": ["www.example.org. 300 A 192.0.2.1"]}


def dead_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def stage_for(*ports: int, timeout: float = 0.2, attempts: int = 1, quota: Quota | None = None,
              on_overload=lambda bound: None) -> UpstreamStage:
    pool = UpstreamPool(tuple(Upstream("127.0.0.1", port) for port in ports), time.monotonic)
    return UpstreamStage(Forwarder(pool, timeout, attempts), quota, on_overload)


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
        def forward(self, query):
            failed = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.01, failed.set_exception, RuntimeError("reply could not be re-encoded"))
            return failed

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


def test_queries_past_the_in_flight_bounds_get_servfail_at_once():
    async def main():
        silent = await FakeUpstream(RECORDS, silent=True).start()
        bounds = []
        stage = stage_for(silent.port, timeout=0.5, quota=Quota(total=5, per_client=3), on_overload=bounds.append)

        def ask(name, client):
            return asyncio.ensure_future(stage.resolve(make_query(name, client=client)))

        greedy = [ask(f"a{index}.example.org", "192.0.2.1") for index in range(4)]
        other = [ask(f"b{index}.example.org", "192.0.2.2") for index in range(3)]
        done, _ = await asyncio.wait(greedy + other, timeout=0.2)
        # Joining a query in flight costs no socket: it waits with it, over the bound or not.
        joined = ask("a0.example.org", "192.0.2.1")
        joined_at_once = (await asyncio.wait([joined], timeout=0.1))[0]
        at_once = {task: task.result() for task in done}
        await asyncio.gather(*greedy, *other, joined)
        silent.stop()
        assert set(at_once) == {greedy[3], other[2]}
        assert bounds == ["client", "total"]
        for answer in at_once.values():
            assert answer.kind is AnswerKind.OVERLOADED
            assert parse(answer.body).rcode() == dns.rcode.SERVFAIL
            assert answer.ede == (EDECode.OTHER, "too many queries in flight")
        assert not joined_at_once
        assert len(silent.udp_queries) == 5
        assert stage.quota.held == 0

    asyncio.run(main())


def test_the_in_flight_bound_leaves_room_for_tcp_clients_under_the_open_files_limit():
    assert in_flight_bound(1000, 512, open_files=65536) == 1000
    assert in_flight_bound(1000, 512, open_files=1024) == 1024 - 512 - DESCRIPTORS_KEPT
    assert in_flight_bound(1000, 2000, open_files=1024) == 1


def test_forged_replies_flooded_while_a_query_is_pending_are_never_accepted():
    async def main():
        forger = ForgingUpstream({"www.example.org": "192.0.2.1", "late.example.org": "192.0.2.2"},
                                 answer_second_try=("late.example.org",), never_answer=("never.example.org",)).start()
        stage = stage_for(forger.port, timeout=0.3, attempts=2)
        try:
            answers = await asyncio.gather(*(stage.resolve(make_query(name)) for name in
                                             ("www.example.org", "late.example.org", "never.example.org")))
        finally:
            forger.stop()
        www, late, never = answers
        assert [rrset[0].address for rrset in parse(www.body).answer] == ["192.0.2.1"]
        assert [rrset[0].address for rrset in parse(late.body).answer] == ["192.0.2.2"]
        assert never.kind is AnswerKind.SERVFAIL
        assert forger.queries.count("late.example.org") == 2 and forger.queries.count("never.example.org") == 2
        assert forger.forged >= 4 * 150

    asyncio.run(main())


def test_records_for_other_names_in_a_reply_never_answer_those_names():
    async def main():
        forger = ForgingUpstream({"www.example.org": "192.0.2.1", "victim.example.net": "192.0.2.99"},
                                 wrong_ids=0, smuggle=(f"victim.example.net. 3600 A {FORGED_ADDRESS}",)).start()
        chain = link(CacheStage(CacheSettings()), stage_for(forger.port))
        try:
            www = await chain.resolve(make_query("www.example.org"))
            victim = await chain.resolve(make_query("victim.example.net"))
            victim_again = await chain.resolve(make_query("victim.example.net"))
        finally:
            forger.stop()
        assert parse(www.body).answer[0][0].address == "192.0.2.1"
        assert forger.queries == ["www.example.org", "victim.example.net"]   # asked, not taken from www's reply
        for answer in (victim, victim_again):
            assert [item.address for rrset in parse(answer.body).answer for item in rrset
                    if rrset.name.to_text() == "victim.example.net."] == ["192.0.2.99"]
        assert victim_again.kind is AnswerKind.CACHED

    asyncio.run(main())


def test_truncated_replies_at_once_share_one_new_tcp_connection():
    async def main():
        records = {f"n{index}.example.org": [f"n{index}.example.org. 300 A 192.0.2.{index}"] for index in range(20)}
        upstream = await FakeUpstream(records, truncate_udp=True).start()
        stage = stage_for(upstream.port)
        answers = await asyncio.gather(*(stage.resolve(make_query(name)) for name in records))
        stage.forwarder.close()
        upstream.stop()
        assert [parse(answer.body).answer[0][0].address for answer in answers] == \
            [f"192.0.2.{index}" for index in range(20)]
        assert upstream.tcp_connections == 1   # not one each, most of them never closed again

    asyncio.run(main())


def test_queries_joining_one_in_flight_are_bounded_too():
    async def main():
        silent = await FakeUpstream(RECORDS, silent=True).start()
        bounds = []
        stage = stage_for(silent.port, timeout=0.3, quota=Quota(total=2, per_client=2), on_overload=bounds.append)
        asked = [asyncio.ensure_future(stage.resolve(make_query(client=f"192.0.2.{index}"))) for index in range(25)]
        done, _ = await asyncio.wait(asked, timeout=0.1)
        await asyncio.gather(*asked)
        silent.stop()
        assert len(done) == 25 - WAITERS_PER_SOCKET * 2
        assert bounds == [UpstreamStage.WAITING] * 5
        assert len(silent.udp_queries) == 1 and stage.waiting == 0

    asyncio.run(main())


def test_each_exchange_is_counted_with_its_outcome():
    async def main():
        refusing = await FakeUpstream(RECORDS, rcode=5).start()
        truncating = await FakeUpstream(RECORDS, truncate_udp=True).start()
        tries = []
        pool = UpstreamPool((Upstream("127.0.0.1", refusing.port), Upstream("127.0.0.1", truncating.port)),
                            time.monotonic)
        forwarder = Forwarder(pool, 0.5, 1, on_try=lambda server, outcome, seconds: tries.append((server.port, outcome)))
        answer = await UpstreamStage(forwarder).resolve(make_query())
        forwarder.close()
        refusing.stop()
        truncating.stop()
        assert parse(answer.body).answer[0][0].address == "192.0.2.1"
        # REFUSED is an error; the truncated UDP reply and its TCP retry are one ok each.
        assert tries == [(refusing.port, "error"), (truncating.port, "ok"), (truncating.port, "ok")]

    asyncio.run(main())


def test_the_walk_handed_up_with_a_reply_is_the_walk_of_the_body_without_opt():
    # The cache patches TTLs at the walk's offsets and the inspect stage reads its names: they must
    # be the body's, the OPT record (the last one, or not) gone.
    query = make_query("www.example.org")
    records = ("www.example.org. 300 CNAME www.example.net.", "www.example.net. 60 A 192.0.2.1")
    for reply in (upstream_reply(query, *records), upstream_reply(query, *records, edns=False)):
        body, scan = upstream_module._readable(reply)
        assert scan == scan_reply(body)
        assert scan.opt_span is None and scan.end == len(body)
        assert parse(body).edns < 0 and [rrset.ttl for rrset in parse(body).answer] == [300, 60]


def test_an_error_nobody_expected_reaches_every_asker_instead_of_leaving_them_waiting():
    def broken_metrics(server, outcome, seconds):
        raise RuntimeError("metrics broke")

    async def main():
        upstream = await FakeUpstream(RECORDS, delay=0.05).start()
        pool = UpstreamPool((Upstream("127.0.0.1", upstream.port),), time.monotonic)
        stage = UpstreamStage(Forwarder(pool, 0.5, 1, on_try=broken_metrics))
        try:
            # Raised in the socket's reader callback, where no asker's coroutine is running.
            outcomes = await asyncio.wait_for(asyncio.gather(
                *(stage.resolve(make_query("www.example.org")) for _ in range(3)), return_exceptions=True), 5)
        finally:
            stage.forwarder.close()
            upstream.stop()
        assert [type(outcome) for outcome in outcomes] == [RuntimeError] * 3
        assert not stage._in_flight and stage.waiting == 0

    asyncio.run(main())
