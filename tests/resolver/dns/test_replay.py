"""The replay memo and the handler's use of it: bytes answered twice get the same reply while it holds."""

import dns.message
import pytest
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer
from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.dns.stages.cache import CacheStage
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import make_reply
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport
from fraudwall.resolver.config import CacheSettings, Config
from fraudwall.resolver.dns.handler import TALLY_UNDER, QueryHandler
from fraudwall.resolver.dns.replay import ReplayMemo
from fraudwall.resolver.server.worker import Resolver
from fraudwall.resolver.dns.upstream_policy import Upstream

from tests.resolver.helpers import FixedAnswer, make_query, parse, query_wire


class LiveBlocklist:
    """A blocklist an admin changes while the resolver runs."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def block(self, name: str) -> None:
        self.names.add(name)

    def match_name(self, name: str, lists=None) -> Match | None:
        if name in self.names:
            return Match(name, Action.BLOCK, "live", name, "admin", 0.0)
        return None

    def match_address(self, address: str, lists=None) -> Match | None:
        return None


class Clock:
    """Reads `now`, which moves on by `step` at every reading (0: time stands still)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.step = 0.0

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now


def blocked_answer(query, until=UNTIL_LISTS_CHANGE):
    return Answer(AnswerKind.BLOCKED, make_reply(query, Rcode.NXDOMAIN), "listed", "demo", steady_until=until)


def keep_twice(memo, query, wire, answer, now):
    """The same bytes answered twice: a reply is kept from the second time on."""
    memo.keep(query, wire, answer, now)
    memo.keep(query, wire, answer, now)


# ---------------------------------------------------------------- the memo

def test_kept_reply_is_found_by_the_bytes_after_the_id():
    memo = ReplayMemo()
    query = make_query("fraud.example.net")
    wire = b"\x12\x34" + b"reply"
    keep_twice(memo, query, wire, blocked_answer(query), 5.0)
    other_id = b"\xab\xcd" + query.wire[2:]
    replay = memo.get(other_id, "127.0.0.1", now=6.0)
    assert replay is not None and replay.tail == b"reply" and replay.answer.kind is AnswerKind.BLOCKED


def test_other_bytes_case_or_edns_are_other_entries():
    memo = ReplayMemo()
    query = make_query("fraud.example.net")
    keep_twice(memo, query, b"\x00\x00reply", blocked_answer(query), 5.0)
    assert memo.get(query_wire("FRAUD.example.net"), "127.0.0.1", 6.0) is None
    assert memo.get(query_wire("fraud.example.net", use_edns=0, payload=4096), "127.0.0.1", 6.0) is None
    assert memo.get(query_wire("fraud.example.net", "AAAA"), "127.0.0.1", 6.0) is None


def test_a_reply_is_gone_once_its_answer_no_longer_holds():
    memo = ReplayMemo()
    query = make_query()
    keep_twice(memo, query, b"\x00\x00reply", blocked_answer(query, until=10.0), 5.0)
    assert memo.get(query.wire, "127.0.0.1", 9.9) is not None
    assert memo.get(query.wire, "127.0.0.1", 10.0) is None
    assert len(memo) == 0


def test_answers_without_a_promise_are_not_kept():
    memo = ReplayMemo()
    query = make_query()
    keep_twice(memo, query, b"\x00\x00reply", Answer(AnswerKind.RESOLVED, b"body"), 5.0)
    keep_twice(memo, query, b"\x00\x00reply", blocked_answer(query, until=5.0), 5.0)
    assert len(memo) == 0


def test_a_datagram_beyond_an_ordinary_query_is_not_kept():
    memo = ReplayMemo()
    query = make_query("fraud.example.net")
    padded = query._replace(wire=query.wire + b"\x00" * 600)
    keep_twice(memo, padded, b"\x00\x00reply", blocked_answer(padded), 5.0)
    assert len(memo) == 0


def test_replayed_cached_answers_count_as_cache_hits_servfail_too():
    memo = ReplayMemo()
    for name, kind in (("a.example.org", AnswerKind.CACHED), ("b.example.org", AnswerKind.SERVFAIL),
                       ("c.example.net", AnswerKind.BLOCKED)):
        query = make_query(name)
        keep_twice(memo, query, b"\x00\x00reply", Answer(kind, b"body", steady_until=10.0), 5.0)
        assert memo.get(query.wire, "127.0.0.1", 6.0) is not None
    assert memo.cached_hits == 2


def test_the_memo_is_bounded_and_cleared_on_demand():
    memo = ReplayMemo(size=3)
    for index in range(7):
        query = make_query(f"n{index}.example.net")
        keep_twice(memo, query, b"\x00\x00reply", blocked_answer(query), 1.0)
        assert len(memo) <= 3
    memo.clear()
    assert len(memo) == 0


def test_a_reply_is_kept_from_the_second_answer_on():
    memo = ReplayMemo()
    query = make_query("fraud.example.net")
    memo.keep(query, b"\x00\x00reply", blocked_answer(query), 5.0)
    assert memo.get(query.wire, "127.0.0.1", 6.0) is None
    memo.keep(query, b"\x00\x00reply", blocked_answer(query), 6.0)
    assert memo.get(query.wire, "127.0.0.1", 7.0) is not None


def test_names_asked_once_do_not_push_out_kept_replies():
    memo = ReplayMemo(size=4)
    hot = make_query("fraud.example.net")
    keep_twice(memo, hot, b"\x00\x00reply", blocked_answer(hot), 1.0)
    for index in range(100):   # random subdomains, each asked once
        query = make_query(f"u{index}.fraud.example.net")
        memo.keep(query, b"\x00\x00reply", blocked_answer(query), 1.0)
    assert memo.get(hot.wire, "127.0.0.1", 2.0) is not None


def test_a_lapsed_reply_asked_again_is_kept_again_at_once():
    memo = ReplayMemo()
    query = make_query()
    keep_twice(memo, query, b"\x00\x00reply", blocked_answer(query, until=10.0), 5.0)
    assert memo.get(query.wire, "127.0.0.1", 10.0) is None     # lapsed: the chain answers this one
    memo.keep(query, b"\x00\x00later", blocked_answer(query, until=11.0), 10.0)
    assert memo.get(query.wire, "127.0.0.1", 10.5).tail == b"later"


# ---------------------------------------------------------------- the handler

def handler_over_cache(ttl: int = 300):
    """access (loopback only), cache, upstream: the resolver's chain without the blocking stages."""
    clock = Clock()
    upstream = FixedAnswer(f"www.example.org. {ttl} A 192.0.2.1")
    access = AccessStage(("127.0.0.0/8",))
    cache = CacheStage(CacheSettings(), clock)
    seen = []
    handler = QueryHandler(link(access, cache, upstream),
                           observers=(lambda q, a, s, count=1: seen.extend([(q.client, a.kind)] * count),),
                           replays=ReplayMemo(access.allows), clock=clock)
    return handler, upstream, clock, seen


def ask(handler, wire: bytes, client: str = "127.0.0.1", transport: Transport = Transport.UDP) -> bytes:
    sent = []
    handler.handle(wire, client, transport, sent.append)
    assert len(sent) == 1
    return sent[0]


def test_a_repeated_datagram_gets_the_cached_reply_with_its_own_id():
    handler, upstream, _, seen = handler_over_cache()
    first = dns.message.make_query("www.example.org", "A")
    ask(handler, first.to_wire())
    ask(handler, first.to_wire())          # a cache hit
    ask(handler, first.to_wire())          # a cache hit again: now kept
    again = dns.message.make_query("www.example.org", "A")
    again.id = (first.id + 1) % 65536
    reply = parse(ask(handler, again.to_wire()))
    assert reply.id == again.id
    assert reply.answer[0][0].address == "192.0.2.1"
    assert upstream.calls == 1
    assert len(handler.replays) == 1 and handler.replays.cached_hits == 1
    assert [kind for _, kind in seen] == [AnswerKind.RESOLVED] + [AnswerKind.CACHED] * 2
    handler.report_replays()   # the worker does so every second: a replay is counted, then observed
    assert [kind for _, kind in seen] == [AnswerKind.RESOLVED] + [AnswerKind.CACHED] * 3


def test_replays_reach_the_observers_counted_once_reported_and_a_slow_one_at_once():
    handler, _, clock, _ = handler_over_cache()
    calls = []
    handler.observers = (lambda query, answer, seconds, count=1: calls.append((query.client, count, seconds)),)
    wire = query_wire()
    for _ in range(3):   # forwarded, cached, cached and kept
        ask(handler, wire)
    calls.clear()
    for client in ("127.0.0.1",) * 5 + ("127.0.0.2",) * 2:
        ask(handler, wire, client=client)
    assert calls == []
    handler.report_replays()
    assert sorted((client, count) for client, count, _ in calls) == [("127.0.0.1", 5), ("127.0.0.2", 2)]
    handler.report_replays()
    assert len(calls) == 2                 # reported once

    # A replay slower than the first bucket of /metrics' durations is observed at once, with its time.
    clock.step = TALLY_UNDER * 50
    calls.clear()
    replayed = handler.replays.cached_hits
    ask(handler, wire)
    assert handler.replays.cached_hits == replayed + 1          # a replay still
    assert calls == [("127.0.0.1", 1, pytest.approx(TALLY_UNDER * 50))]


def test_replayed_ttls_still_count_down():
    handler, _, clock, _ = handler_over_cache(ttl=300)
    wire = query_wire()
    for _ in range(3):   # forwarded, cached, cached and kept
        ask(handler, wire)
    clock.now += 0.5
    assert parse(ask(handler, wire)).answer[0].ttl == 300
    clock.now += 1.0
    assert parse(ask(handler, wire)).answer[0].ttl == 299
    clock.now += 10.0
    assert parse(ask(handler, wire)).answer[0].ttl == 289


def test_a_client_the_access_stage_refuses_is_never_served_a_replay():
    handler, _, _, seen = handler_over_cache()
    wire = query_wire()
    for _ in range(3):   # forwarded, cached, cached and kept
        ask(handler, wire)
    refused = parse(ask(handler, wire, client="192.0.2.99"))
    assert refused.rcode() == Rcode.REFUSED and not refused.answer
    assert handler.replays.cached_hits == 0
    assert seen[-1] == ("192.0.2.99", AnswerKind.REFUSED)


def test_another_admitted_client_gets_the_replay_under_its_own_address():
    handler, _, _, seen = handler_over_cache()
    wire = query_wire()
    for _ in range(3):   # forwarded, cached, cached and kept
        ask(handler, wire)
    ask(handler, wire, client="127.0.0.2")
    assert handler.replays.cached_hits == 1
    handler.report_replays()
    assert seen[-1] == ("127.0.0.2", AnswerKind.CACHED)


def test_tcp_queries_are_not_replayed():
    handler, _, _, _ = handler_over_cache()
    wire = query_wire()
    ask(handler, wire, transport=Transport.TCP)
    ask(handler, wire, transport=Transport.TCP)
    ask(handler, wire, transport=Transport.TCP)
    assert len(handler.replays) == 0


def test_a_name_blocked_live_is_blocked_once_the_resolver_forgets_its_answers():
    clock = Clock()
    blocklist = LiveBlocklist()
    resolver = Resolver(Config(), blocklist, (Upstream("127.0.0.1", 9),))
    resolver.cache.clock = resolver.handler.clock = clock
    resolver.cache.next.next = FixedAnswer("www.example.org. 300 A 192.0.2.1")  # in place of inspect/upstream
    wire = query_wire()
    for _ in range(3):   # forwarded, cached, cached and kept
        ask(resolver.handler, wire)
    assert len(resolver.handler.replays) == 1
    blocklist.block("www.example.org")
    assert parse(ask(resolver.handler, wire)).answer[0][0].address == "192.0.2.1"  # still kept
    resolver.on_generation(1)
    for _ in range(3):   # blocked, blocked and kept, replayed
        assert parse(ask(resolver.handler, wire)).answer[0][0].address == "0.0.0.0"
    assert len(resolver.handler.replays) == 1
