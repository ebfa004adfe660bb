"""The cache stage: hits without upstream, TTL countdown, negative and SERVFAIL caching, LRU bound."""

import dns.rcode
from fraudwall.resolver.answer import Answer
from fraudwall.resolver.cache import CacheStage, lifetime
from fraudwall.resolver.chain import Stage, link
from fraudwall.resolver.codec import make_reply, scan_reply
from fraudwall.resolver.codes import AnswerKind, Rcode
from fraudwall.resolver.config import CacheSettings

from tests.resolver.helpers import FixedAnswer, make_query, parse, run, upstream_reply

SOA = "example.org. 900 SOA ns1.example.org. hostmaster.example.org. 1 3600 600 86400 120"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached_chain(upstream: Stage, settings: CacheSettings = CacheSettings()):
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


class Failing(Stage):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def resolve(self, query):
        self.calls += 1
        return Answer(AnswerKind.SERVFAIL, make_reply(query, Rcode.SERVFAIL), "no upstream answered")


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
