"""inspect: a CNAME into a look-alike is judged like the look-alike; a CDN naming its customer is not."""

import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.dns.stages.cache import CacheStage
from fraudwall.resolver.dns.stages.inspection import InspectStage
from fraudwall.resolver.config import CacheSettings
from fraudwall.scoring.scorer import Scorer

from tests.resolver.helpers import FixedAnswer, make_query, policy, run


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def inspect(scorer, qname, *records, client_policy=None, allowlist=frozenset()):
    upstream = FixedAnswer(*records)
    stage = link(InspectStage(MemoryBlocklist([]), client_policy or policy(), scorer, allowlist), upstream)
    return run(stage.fetch(make_query(qname))).answer


def test_a_cname_into_a_look_alike_is_sinkholed_as_the_look_alike(scorer):
    answer = inspect(scorer, "cname2.example.net", "cname2.example.net. 300 CNAME www.paypa1.com.",
                     "www.paypa1.com. 300 A 192.0.2.7")
    assert answer.kind is AnswerKind.SCORED and answer.trigger is Trigger.CNAME_TARGET
    assert answer.detail == "www.paypa1.com" and answer.match.rule == "homoglyph"
    code, text = answer.ede
    assert code == 17 and text.startswith("alias www.paypa1.com scored 0.9")


def test_a_brand_behind_its_cdn_is_answered(scorer):
    for qname, target in (("www.paypal.com", "www.paypal.com.edgekey.net"),
                          ("login.microsoftonline.com", "login.microsoftonline.com.akadns.net"),
                          ("shop.example.org", "shop-example-org.customer.fastly.net")):
        answer = inspect(scorer, qname, f"{qname}. 300 CNAME {target}.", f"{target}. 300 A 192.0.2.7")
        assert answer.kind is AnswerKind.RESOLVED and answer.warning is None, qname


def test_an_allowlisted_target_and_a_policy_without_scorer_are_answered(scorer):
    records = ("cname2.example.net. 300 CNAME www.paypa1.com.", "www.paypa1.com. 300 A 192.0.2.7")
    assert inspect(scorer, "cname2.example.net", *records,
                   allowlist=frozenset({"paypa1.com"})).kind is AnswerKind.RESOLVED
    assert inspect(scorer, "cname2.example.net", *records,
                   client_policy=policy(scorer="off")).kind is AnswerKind.RESOLVED
    warned = inspect(scorer, "cname2.example.net", *records, client_policy=policy(scorer="warn"))
    assert warned.kind is AnswerKind.RESOLVED and warned.warning.trigger is Trigger.CNAME_TARGET


def test_a_warned_answer_is_not_cached_so_every_query_of_it_is_logged(scorer):
    upstream = FixedAnswer("cname2.example.net. 300 CNAME www.paypa1.com.", "www.paypa1.com. 300 A 192.0.2.7")
    stage = link(CacheStage(CacheSettings()), InspectStage(MemoryBlocklist([]), policy(scorer="warn"), scorer),
                 upstream)
    for _ in range(2):
        assert run(stage.resolve(make_query("cname2.example.net"))).warning is not None
    assert upstream.calls == 2
