"""The cache stage: hits without upstream, TTL countdown, negative and SERVFAIL caching, LRU bound."""

import gc

import dns.rcode
from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.stages.cache import AnswerCache, CacheStage, lifetime
from fraudwall.resolver.dns.chain import ReplySource, link
from fraudwall.resolver.dns.codec import make_reply, scan_reply
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Rcode, Transport, Trigger
from fraudwall.resolver.config import CacheSettings
from fraudwall.resolver.dns.handler import QueryHandler

from tests.resolver.helpers import FixedAnswer, ede_of, make_query, parse, query_wire, run, upstream_reply

SOA = "example.org. 900 SOA ns1.example.org. hostmaster.example.org. 1 3600 600 86400 120"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached_chain(upstream: ReplySource, settings: CacheSettings = CacheSettings()):
    clock = Clock()
    stage = CacheStage(settings, clock)
    return link(stage, upstream), clock


def test_second_query_is_a_hit_and_not_forwarded():
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    chain, _ = cached_chain(upstream)
    first = run(chain.resolve(make_query()))
    second = run(chain.resolve(make_query()))
    assert first.kind is AnswerKind.RESOLVED and second.kind is AnswerKind.CACHED
    assert upstream.calls == 1
    assert parse(second.body).answer[0][0].address == "192.0.2.1"


def test_a_hit_is_addressed_to_the_new_client_in_its_case():
    chain, _ = cached_chain(FixedAnswer("www.example.org. 300 A 192.0.2.1"))
    run(chain.resolve(make_query("www.example.org")))
    query = make_query("WWW.EXAMPLE.ORG")
    body = run(chain.resolve(query)).body
    assert parse(body).id == query.id
    assert body[12:12 + len(query.question)] == query.question


def test_ttls_count_down_and_the_entry_expires():
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1", "www.example.org. 60 A 192.0.2.2")
    chain, clock = cached_chain(upstream)
    run(chain.resolve(make_query()))
    clock.now += 25.4
    reply = parse(run(chain.resolve(make_query())).body)
    assert reply.answer[0].ttl == 35  # smallest TTL of the rrset, 60 - 25
    clock.now += 35
    assert run(chain.resolve(make_query())).kind is AnswerKind.RESOLVED
    assert upstream.calls == 2


def test_ttls_are_capped_at_max_ttl():
    chain, _ = cached_chain(FixedAnswer("www.example.org. 604800 A 192.0.2.1"), CacheSettings(max_ttl=3600))
    run(chain.resolve(make_query()))
    assert parse(run(chain.resolve(make_query())).body).answer[0].ttl == 3600


def test_nxdomain_is_kept_for_the_soa_minimum():
    upstream = FixedAnswer(rcode=3, authority=(SOA,))
    chain, clock = cached_chain(upstream)
    run(chain.resolve(make_query("nx.example.org")))
    clock.now += 100
    hit = run(chain.resolve(make_query("nx.example.org")))
    assert hit.kind is AnswerKind.CACHED and parse(hit.body).rcode() == dns.rcode.NXDOMAIN
    assert parse(hit.body).authority[0].ttl == 20
    clock.now += 21
    run(chain.resolve(make_query("nx.example.org")))
    assert upstream.calls == 2


def test_negative_answer_without_soa_is_not_kept():
    upstream = FixedAnswer(rcode=3)
    chain, _ = cached_chain(upstream)
    run(chain.resolve(make_query("nx.example.org")))
    run(chain.resolve(make_query("nx.example.org")))
    assert upstream.calls == 2


class Failing(ReplySource):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def fetch(self, query):
        self.calls += 1
        return Reply(Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), Trigger.NO_UPSTREAM))


def test_servfail_is_kept_a_few_seconds():
    upstream = Failing()
    chain, clock = cached_chain(upstream, CacheSettings(servfail_ttl=5))
    run(chain.resolve(make_query()))
    again = run(chain.resolve(make_query()))
    assert again.kind is AnswerKind.SERVFAIL and upstream.calls == 1
    clock.now += 5
    run(chain.resolve(make_query()))
    assert upstream.calls == 2


def test_size_bound_evicts_the_least_recently_used():
    upstream = FixedAnswer("a.example.org. 300 A 192.0.2.1")
    chain, _ = cached_chain(upstream, CacheSettings(size=2))
    for name in ("a.example.org", "b.example.org", "a.example.org", "c.example.org"):
        run(chain.resolve(make_query(name)))
    assert upstream.calls == 3
    run(chain.resolve(make_query("a.example.org")))
    assert upstream.calls == 3  # a was used recently, b was evicted
    run(chain.resolve(make_query("b.example.org")))
    assert upstream.calls == 4


def test_lifetime_rules():
    query = make_query()
    settings = CacheSettings(min_ttl=10, max_ttl=100)
    positive = scan_reply(upstream_reply(query, "www.example.org. 5 A 192.0.2.1"))
    assert lifetime(positive, AnswerKind.RESOLVED, settings) == 10
    truncated = scan_reply(bytes([*upstream_reply(query, "www.example.org. 50 A 192.0.2.1")[:2], 0x82,
                                  *upstream_reply(query, "www.example.org. 50 A 192.0.2.1")[3:]]))
    assert lifetime(truncated, AnswerKind.RESOLVED, settings) == 0
    refused = scan_reply(upstream_reply(query, rcode=5))
    assert lifetime(refused, AnswerKind.RESOLVED, settings) == 0


class Outage(ReplySource):
    """An upstream that answers until `down`, then fails as every upstream timing out does."""

    def __init__(self, *records: str, rcode: int = 0, authority: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.working = FixedAnswer(*records, rcode=rcode, authority=authority)
        self.down = False
        self.calls = 0

    async def fetch(self, query):
        self.calls += 1
        if self.down:
            return Reply(Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), Trigger.NO_UPSTREAM))
        return await self.working.fetch(query)


class Overloaded(ReplySource):
    """The upstream stage past its in-flight bound: SERVFAIL at once, no upstream asked."""

    async def fetch(self, query):
        return Reply(Answer(AnswerKind.OVERLOADED, make_reply(query, Rcode.SERVFAIL), Trigger.OVERLOAD, detail="total"))


def expired_with_upstream_down(settings: CacheSettings = CacheSettings()):
    upstream = Outage("www.example.org. 300 A 192.0.2.1")
    chain, clock = cached_chain(upstream, settings)
    run(chain.resolve(make_query()))
    upstream.down = True
    clock.now += 301
    return chain, clock, upstream


def test_an_expired_answer_is_served_stale_when_no_upstream_answers():
    chain, clock, upstream = expired_with_upstream_down()
    stale = run(chain.resolve(make_query()))
    reply = parse(stale.body)
    assert stale.kind is AnswerKind.STALE
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer[0][0].address == "192.0.2.1"
    assert reply.answer[0].ttl == 30
    assert stale.ede[0] == EDECode.STALE_ANSWER
    assert upstream.calls == 2


def test_after_a_failed_refresh_the_stale_answer_goes_out_at_once_for_30_seconds():
    chain, clock, upstream = expired_with_upstream_down()
    run(chain.resolve(make_query()))
    clock.now += 29
    assert run(chain.resolve(make_query())).kind is AnswerKind.STALE
    assert upstream.calls == 2           # held back: not asked again
    clock.now += 1
    assert run(chain.resolve(make_query())).kind is AnswerKind.STALE
    assert upstream.calls == 3           # the recheck
    upstream.down = False
    clock.now += 30
    fresh = run(chain.resolve(make_query()))
    assert fresh.kind is AnswerKind.RESOLVED and parse(fresh.body).answer[0].ttl == 300


def test_stale_answers_end_serve_stale_seconds_after_expiry():
    chain, clock, _ = expired_with_upstream_down(CacheSettings(serve_stale=100))   # expired 1 s ago
    clock.now += 98
    assert run(chain.resolve(make_query())).kind is AnswerKind.STALE
    clock.now += 31
    assert run(chain.resolve(make_query())).kind is AnswerKind.SERVFAIL


def test_serve_stale_zero_turns_it_off():
    chain, _, _ = expired_with_upstream_down(CacheSettings(serve_stale=0))
    assert run(chain.resolve(make_query())).kind is AnswerKind.SERVFAIL


def test_an_upstream_answer_wins_over_a_stale_one_even_nxdomain():
    upstream = Outage("www.example.org. 300 A 192.0.2.1")
    chain, clock = cached_chain(upstream)
    run(chain.resolve(make_query()))
    upstream.working = FixedAnswer(rcode=3, authority=(SOA,))
    clock.now += 301
    answer = run(chain.resolve(make_query()))
    assert answer.kind is AnswerKind.RESOLVED and parse(answer.body).rcode() == dns.rcode.NXDOMAIN


def test_an_upstream_servfail_reply_lets_the_stale_answer_out():
    upstream = Outage("www.example.org. 300 A 192.0.2.1")
    chain, clock = cached_chain(upstream)
    run(chain.resolve(make_query()))
    upstream.working = FixedAnswer(rcode=2)
    clock.now += 301
    assert run(chain.resolve(make_query())).kind is AnswerKind.STALE


def test_overload_gets_the_stale_answer_without_holding_the_refresh_back():
    upstream = Outage("www.example.org. 300 A 192.0.2.1")
    chain, clock = cached_chain(upstream)
    run(chain.resolve(make_query()))
    clock.now += 301
    chain.next = Overloaded()
    assert run(chain.resolve(make_query())).kind is AnswerKind.STALE
    chain.next = upstream
    assert run(chain.resolve(make_query())).kind is AnswerKind.RESOLVED   # asked at once, not held back


def test_a_stale_answer_is_never_replayed():
    upstream = Outage("www.example.org. 300 A 192.0.2.1")
    chain, clock = cached_chain(upstream)
    handler = QueryHandler(chain, clock=clock)
    sent = []
    wire = query_wire(use_edns=0)
    for _ in range(3):
        handler.handle(wire, "127.0.0.1", Transport.UDP, sent.append)   # kept for replay from the second on
    upstream.down = True
    clock.now += 301
    for _ in range(3):
        handler.handle(wire, "127.0.0.1", Transport.UDP, sent.append)
    upstream.down = False
    clock.now += 30
    handler.handle(wire, "127.0.0.1", Transport.UDP, sent.append)
    replies = [parse(wire) for wire in sent[3:]]
    assert [ede_of(reply) for reply in replies[:3]] == [[(EDECode.STALE_ANSWER, replies[0].options[0].text)]] * 3
    assert [reply.answer[0].ttl for reply in replies] == [30, 30, 30, 300]
    assert ede_of(replies[3]) == []


def test_an_overloaded_servfail_is_not_kept():
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    chain, _ = cached_chain(upstream)
    chain.next = Overloaded()
    assert run(chain.resolve(make_query())).kind is AnswerKind.OVERLOADED
    chain.next = upstream
    assert run(chain.resolve(make_query())).kind is AnswerKind.RESOLVED   # one client's flood: nobody else's SERVFAIL


def test_cached_answers_give_the_garbage_collector_nothing_to_walk():
    # A collection walks every object it tracks: were each cached answer one, a cache of names asked
    # once would make the collections that stall every waiting query grow with it.
    cache = AnswerCache(size=20_000)
    reply = make_reply(make_query("www.example.org"), Rcode.NOERROR)
    gc.collect()
    tracked_before = len(gc.get_objects())
    for number in range(20_000):
        cache.put(b"key-%d" % number, reply, ((12, 300), (20, 60)), 300, AnswerKind.RESOLVED, 1000.0)
    assert cache.get(b"key-7", 1001.5)[1] is AnswerKind.RESOLVED     # a hit counts TTLs down: a new entry
    assert cache.stale(b"key-8", 1400.0) is None                        # expired, not kept stale
    gc.collect()
    assert len(gc.get_objects()) - tracked_before < 100
    assert len(cache) == 20_000
