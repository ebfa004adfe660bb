"""The rate limit stage: a token bucket per client network, on an injected clock (no sleeping)."""

import dns.flags
import dns.message
import dns.rcode
import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.resolver import config
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import render
from fraudwall.resolver.dns.codes import AnswerKind, Transport
from fraudwall.resolver.config import AccessSettings, Config, ConfigError, RateLimitSettings
from fraudwall.resolver.dns.stages.ratelimit import RateLimitStage
from fraudwall.resolver.server.worker import Resolver
from fraudwall.resolver.dns.upstream_policy import Upstream

from tests.resolver.helpers import FixedAnswer, make_query, parse, run
from tests.resolver.dns.test_replay import Clock


def limiter(**settings):
    clock = Clock()
    options = {"qps": 10.0, "burst": 5, "action": "refuse", "exempt": ()}
    options.update(settings)
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    stage = RateLimitStage(RateLimitSettings(**options), clock)
    return link(stage, upstream), stage, upstream, clock


def kinds(stage, count, client="192.0.2.1", transport=Transport.UDP, **options):
    return [run(stage.resolve(make_query(client=client, transport=transport, **options))).kind
            for _ in range(count)]


def test_a_burst_is_answered_then_the_client_is_limited():
    chain, stage, upstream, _ = limiter()
    assert kinds(chain, 5) == [AnswerKind.RESOLVED] * 5
    assert kinds(chain, 3) == [AnswerKind.LIMITED] * 3
    assert upstream.calls == 5
    assert stage.limited == {"refuse": 3, "truncate": 0, "drop": 0}


def test_tokens_come_back_at_qps():
    chain, _, _, clock = limiter()
    kinds(chain, 6)
    clock.now += 0.1                     # 10 qps: one token a tenth of a second
    assert kinds(chain, 2) == [AnswerKind.RESOLVED, AnswerKind.LIMITED]
    clock.now += 60                      # never more than the burst, however long the pause
    assert kinds(chain, 6) == [AnswerKind.RESOLVED] * 5 + [AnswerKind.LIMITED]


def test_each_client_has_its_own_bucket():
    chain, _, _, _ = limiter()
    kinds(chain, 6, client="192.0.2.1")
    assert kinds(chain, 1, client="192.0.2.2") == [AnswerKind.RESOLVED]
    assert kinds(chain, 1, client="::ffff:192.0.2.1") == [AnswerKind.LIMITED]   # the same client


def test_ipv6_clients_share_a_bucket_per_56():
    chain, stage, _, _ = limiter()
    assert kinds(chain, 5, client="2001:db8:0:1ff::1") == [AnswerKind.RESOLVED] * 5
    assert kinds(chain, 1, client="2001:db8:0:100::abcd") == [AnswerKind.LIMITED]    # same /56
    assert kinds(chain, 1, client="2001:db8:0:200::1") == [AnswerKind.RESOLVED]      # another /56
    assert stage.tracked == 2


def test_prefix_lengths_are_configurable():
    chain, _, _, _ = limiter(ipv4_prefix=24, ipv6_prefix=128)
    kinds(chain, 5, client="192.0.2.1")
    assert kinds(chain, 1, client="192.0.2.200") == [AnswerKind.LIMITED]
    kinds(chain, 5, client="2001:db8::1")
    assert kinds(chain, 1, client="2001:db8::2") == [AnswerKind.RESOLVED]


def test_exempt_networks_are_never_limited():
    chain, stage, upstream, _ = limiter(exempt=("127.0.0.0/8", "::1/128", "192.0.2.10"))
    for client in ("127.0.0.1", "::1", "192.0.2.10"):
        assert kinds(chain, 20, client=client) == [AnswerKind.RESOLVED] * 20
    assert stage.tracked == 0
    assert kinds(chain, 6, client="192.0.2.11")[-1] is AnswerKind.LIMITED


def test_loopback_is_exempt_by_default():
    assert RateLimitSettings().exempt == ("127.0.0.0/8", "::1/128")
    stage = RateLimitStage(RateLimitSettings(qps=1, burst=1), Clock())
    assert all(stage.admits("127.0.0.1", 1.0) for _ in range(100))
    assert stage.admits("192.0.2.1", 1.0) and not stage.admits("192.0.2.1", 1.0)


def test_the_table_of_clients_is_bounded():
    _, stage, _, _ = limiter(max_clients=100)
    for index in range(1000):
        assert stage.admits(f"10.0.{index // 256}.{index % 256}", 1.0, tcp=index % 2 == 0)
        assert stage.tracked <= 100


def test_a_full_table_forgets_idle_clients_before_limited_ones():
    chain, stage, _, clock = limiter(max_clients=10)
    kinds(chain, 6, client="192.0.2.1")            # limited, and the oldest entry
    clock.now += 0.05
    for index in range(50):                        # a flood of new (spoofed) sources
        kinds(chain, 1, client=f"10.0.0.{index}")
    assert kinds(chain, 1, client="192.0.2.1") == [AnswerKind.LIMITED]


def test_udp_and_tcp_have_their_own_buckets():
    # A spoofed UDP flood drains the victim's UDP bucket; over TCP (which needs the real
    # address) the victim is still answered, which is what TC=1 sends it to do.
    chain, _, _, _ = limiter()
    kinds(chain, 6, client="192.0.2.1")
    assert kinds(chain, 5, client="192.0.2.1", transport=Transport.TCP) == [AnswerKind.RESOLVED] * 5
    assert kinds(chain, 1, client="192.0.2.1", transport=Transport.TCP) == [AnswerKind.LIMITED]


# ---------------------------------------------------------------- what a limited client gets

def limited_answer(action, transport=Transport.UDP, **options):
    chain, stage, _, _ = limiter(action=action, burst=1)
    query = make_query(client="192.0.2.1", transport=transport, **options)
    run(chain.resolve(query))
    return [run(chain.resolve(query)) for _ in range(4)], query, stage


@pytest.mark.parametrize("options", [{}, {"use_edns": 0}, {"use_edns": 0, "payload": 4096, "want_dnssec": True}])
def test_refuse_echoes_header_and_question_and_is_no_larger_than_the_query(options):
    answers, query, stage = limited_answer("refuse", **options)
    for answer in answers:
        wire = render(query, answer.body, answer.ede)
        reply = parse(wire)
        assert reply.rcode() == dns.rcode.REFUSED and reply.answer == []
        assert len(wire) <= len(query.wire)
    assert stage.limited["refuse"] == 4


def test_drop_sends_nothing():
    answers, _, stage = limited_answer("drop")
    assert [answer.body for answer in answers] == [None] * 4
    assert stage.limited["drop"] == 4


@pytest.mark.parametrize("options", [{}, {"use_edns": 0}])
def test_slip_truncates_every_other_limited_query_and_drops_the_rest(options):
    answers, query, stage = limited_answer("slip", **options)
    sent = [answer.body for answer in answers]
    assert sent[1] is None and sent[3] is None
    for body in (sent[0], sent[2]):
        wire = render(query, body)
        reply = parse(wire)
        assert reply.flags & dns.flags.TC and reply.answer == [] and reply.rcode() == dns.rcode.NOERROR
        assert len(wire) <= len(query.wire)
    assert stage.limited == {"truncate": 2, "drop": 2, "refuse": 0}


def test_slip_over_tcp_refuses_there_is_nothing_to_retry_over():
    answers, _, stage = limited_answer("slip", transport=Transport.TCP)
    assert all(parse(answer.body).rcode() == dns.rcode.REFUSED for answer in answers)
    assert stage.limited["refuse"] == 4


def test_a_reply_larger_than_the_query_is_dropped_instead():
    # A query whose OPT record is cut short (edns_size read, fewer bytes than our own OPT):
    # the REFUSED with our OPT would be larger than what the client sent.
    chain, stage, _, _ = limiter(action="refuse", burst=1)
    query = make_query(client="192.0.2.1", use_edns=0)
    short = query._replace(wire=query.wire[:-4])
    run(chain.resolve(query))
    answer = run(chain.resolve(short))
    assert answer.kind is AnswerKind.LIMITED and answer.body is None
    assert stage.limited["drop"] == 1


# ---------------------------------------------------------------- settings

@pytest.mark.parametrize("text, words", [
    ("[ratelimit]\nqps = -1\n", ["[ratelimit] qps"]),
    ("[ratelimit]\nqps = nan\n", ["[ratelimit] qps"]),
    ("[ratelimit]\nburst = 0\n", ["[ratelimit] burst", "at least 1"]),
    ("[ratelimit]\naction = 'tarpit'\n", ["[ratelimit] action", "slip, refuse or drop"]),
    ("[ratelimit]\nexempt = ['10.0.0.0/33']\n", ["[ratelimit] exempt", "10.0.0.0/33"]),
    ("[ratelimit]\nipv6_prefix = 129\n", ["[ratelimit] ipv6_prefix"]),
    ("[ratelimit]\nipv4_prefix = -1\n", ["[ratelimit] ipv4_prefix"]),
    ("[ratelimit]\nmax_clients = 0\n", ["[ratelimit] max_clients"]),
    ("[ratelimit]\nbursts = 3\n", ["[ratelimit] unknown key 'bursts'"]),
])
def test_config_errors_name_the_key(tmp_path, text, words):
    path = tmp_path / "fraudwall.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        config.load(path)
    for word in ("fraudwall.toml", *words):
        assert word in str(raised.value)


def test_defaults_are_on_and_out_of_a_workstations_reach():
    loaded = config.load()
    settings = loaded.ratelimit
    assert settings.qps >= 100 and settings.burst >= 500     # a browsing workstation asks a few a second
    assert settings.action == "slip" and settings.ipv4_prefix == 32 and settings.ipv6_prefix == 56
    assert settings.max_clients >= 10_000


# ---------------------------------------------------------------- replays

def resolver_with_limit(**settings):
    """The whole resolver, answering the demo list's blocked names (no upstream needed)."""
    options = {"qps": 1.0, "burst": 3, "action": "refuse", "exempt": ()}
    options.update(settings)
    config = Config(access=AccessSettings(allow=("192.0.2.0/24",)), ratelimit=RateLimitSettings(**options))
    return Resolver(config, MemoryBlocklist.from_files(["demo"]), (Upstream("127.0.0.1", 9),))


def ask(resolver, client, count=1):
    wire = dns.message.make_query("icbc-tuikuan.example.com", "A").to_wire()
    rcodes = []
    for _ in range(count):
        sent = []
        resolver.handler.handle(wire, client, Transport.UDP, sent.append)
        rcodes.append(parse(sent[0]).rcode() if sent else None)
    return rcodes


def test_replayed_datagrams_take_tokens_too():
    resolver = resolver_with_limit()
    # answered three times (the third from the replay memo), then refused: replays are no way round
    assert ask(resolver, "192.0.2.1", 6) == [dns.rcode.NOERROR] * 3 + [dns.rcode.REFUSED] * 3
    assert len(resolver.handler.replays) == 1
    # another client gets the kept reply at once
    assert ask(resolver, "192.0.2.2", 1) == [dns.rcode.NOERROR]


def test_a_limited_client_is_counted_once_per_query():
    resolver = resolver_with_limit(action="slip")
    rcodes = ask(resolver, "192.0.2.1", 7)
    assert rcodes[:3] == [dns.rcode.NOERROR] * 3
    assert rcodes[3:] == [dns.rcode.NOERROR, None, dns.rcode.NOERROR, None]    # TC=1, nothing, TC=1, nothing


def test_the_limit_is_in_the_metrics():
    resolver = resolver_with_limit()
    ask(resolver, "192.0.2.1", 5)
    ask(resolver, "192.0.2.2", 1)
    resolver.sample_metrics()
    counters = resolver.counters
    assert counters.counters["fraudwall_ratelimit_limited"][("refuse",)] == 2
    assert counters.gauges["fraudwall_ratelimit_clients"][()] == 2


def test_qps_zero_leaves_the_stage_out():
    resolver = resolver_with_limit(qps=0)
    assert ask(resolver, "192.0.2.1", 10) == [dns.rcode.NOERROR] * 10
    stage = resolver.chain
    while stage is not None:
        assert not isinstance(stage, RateLimitStage)
        stage = stage.next
