"""Hosts machines name for machines (infrastructure.py): low, with a reason, unless a brand or a word is there.

Every name here is made up for the test, in the shapes CDN and cloud providers document
(edge nodes, distribution hashes, numbered shards); none comes from a ranking or a feed.
"""

import pytest

from fraudwall.scoring.infrastructure import domain_kind
from fraudwall.scoring.score import Verdict


@pytest.mark.parametrize("name", [
    "e1234.a.akamaiedge.net",
    "fp2e7a.wpc.2be4.phicdn.net",
    "d1a2b3c4d5e6f7.cloudfront.net",
    "0ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5.edgekey.net",
    "151.101.1.57.fastly.net",
    "a-0001.a-afdentry.net.trafficmanager.net",
    "x1y2z3.gslb.examplecdn.net",
    "a2z8qx7.dfw.tlmtrycdn.net",
    "n2k4m6q9.telemetry-in.exampleanalytics.io",
])
def test_hashes_and_counters_under_serving_domains_are_allowed_with_a_reason(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW
    assert score.value < 0.3
    assert score.rule == "infrastructure"
    assert any(reason.startswith("infrastructure: ") for reason in score.reasons)


def test_a_brand_or_a_fraud_word_under_a_serving_domain_is_judged_as_before(scorer):
    branded = scorer.score("paypal-login.d1a2b3c4.cloudfront.net")
    assert branded.verdict is not Verdict.ALLOW and branded.rule != "infrastructure"
    worded = scorer.score("account-verify-update.x7k2.examplecdn.net")
    assert worded.rule != "infrastructure" and worded.value > 0.3


def test_a_cheap_tld_keeps_its_weight_and_no_serving_word_makes_it_infrastructure(scorer):
    # .top is where abuse reports find throwaway names: a `cdn` in the label is no excuse there.
    assert domain_kind("fastcdn", "top", "high") == ""
    assert domain_kind("fastcdn", "net", None)
    assert domain_kind("cloudfront", "net", None)
    assert domain_kind("example", "com", None) == ""
    assert scorer.score("fp2e7a.wpc.2be4.fastcdn.top").rule != "infrastructure"


def test_a_telemetry_host_holds_no_brand(scorer):
    # 'telemetry' holds the token 'eleme' (Ele.me), 'purchase' holds 'chase': everyday words, not brands.
    for name in ("telemetry.example.com", "telemetry-eu.example.org", "purchase.example.com",
                 "element.example.net"):
        score = scorer.score(name)
        assert score.brand is None, name
        assert score.verdict is Verdict.ALLOW, name
    assert scorer.score("eleme-pay.example.com").brand == "ele.me"
