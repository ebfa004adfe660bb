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
    "p3plzcpnl500001.prod.phx3.secureserver.net",    # a hosting server's name: 'secure' is GoDaddy's word
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


def test_a_hash_id_in_front_of_an_ordinary_domain_is_one_hint_not_a_warning(scorer):
    # Telemetry and sync hosts put a 26-character base32 or a 32-character hex id in front.
    for name in ("v7hyynarm52tk4mxay3zve7psb.events.example.net",
                 "5da6efc3cd834219d183286382380dc1.collector.example.com"):
        assert scorer.score(name).verdict is Verdict.ALLOW, name
    # A long label of words joined by hyphens is still read as a phishing kit's.
    assert scorer.score("secure-account-verify-center.a7f3c9e2b1.example.com").verdict is not Verdict.ALLOW


def test_an_address_written_as_labels_holds_no_brand_number(scorer):
    # 189 is a China Telecom token; as the last byte of an address it is just a number.
    score = scorer.score("185.123.13.189.example-edge.net")
    assert score.brand is None and score.verdict is Verdict.ALLOW


@pytest.mark.parametrize("name", ["www.apple.com.edgekey.net", "images.amazon.de.edgesuite.net",
                                  "www.microsoft.com-c-3.edgekey.net"])
def test_a_providers_edge_name_for_a_brands_own_host_is_allowed(scorer, name):
    # Akamai names the edge host of a customer's host after it: www.example.com.edgekey.net
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "infrastructure" and "edge host" in score.reasons[0]


@pytest.mark.parametrize("name", ["www.paypal.com.login.edgekey.net", "www.paypal.com-login.edgekey.net",
                                  "www.paypal.com.example.net"])
def test_a_brands_domain_with_more_after_it_or_off_a_provider_is_judged(scorer, name):
    assert scorer.score(name).verdict is not Verdict.ALLOW


@pytest.mark.parametrize("name", [
    "examplebank.global.ssl.fastly.net",        # Fastly: the service's name, then its TLS map
    "paypal.global.ssl.fastly.net",
    "ebay-a.akamaihd.net",                       # Akamai: the customer's name and a one-letter tag
    "lazada-a.akamaihd.net",                     # ... which is no slip of the name (lazadaa)
    "facebook-0a1b2c3d4e5f.z01.azurefd.net",     # Azure Front Door: the endpoint's name and a hash
    "spotify.app.link",                          # Branch: the app's link domain
    "netflix.onelink.me",                        # AppsFlyer OneLink
    "microsoft.onelink.me",                      # ... where no brand is split by a dot (microsoftonline)
])
def test_a_brands_name_as_a_providers_customer_is_not_made_a_warning_by_the_providers_layout(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW, score
    assert any(reason.startswith("infrastructure: ") for reason in score.reasons), score


def test_a_brand_spelled_out_or_with_a_fraud_word_at_a_provider_is_still_judged(scorer):
    assert scorer.score("paypal.com.d1a2b3c4.cloudfront.net").verdict is Verdict.BLOCK
    assert scorer.score("paypa1-a.akamaihd.net").verdict is Verdict.BLOCK
    assert scorer.score("paypal-login.app.link").verdict is not Verdict.ALLOW
    # Words without a brand are weighed as on any platform (github.io): the provider's TLD adds nothing.
    worded = scorer.score("secure-login-verify.x7k2.app.link")
    assert worded.rule == "words" and not any(reason.startswith("TLD") for reason in worded.reasons)


@pytest.mark.parametrize("name", [
    "api-7f9c2d1e4b-x2k9z.eu-west-1.prod.example.io",          # a workload: deployment, hash, replica
    "ingest-d71e9a7293-pccm3.us-east-1.prod.example.com",      # the same, 50+ characters in all
    "a1b2c3d4e5f6a7b8.us-east-1.prod.example.com",
])
def test_the_labels_in_front_are_one_hint_however_many_of_their_traits(scorer, name):
    # Depth, a machine-made label, a long label and a long host describe one layout: cloud workloads share it.
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW, score
    assert score.value <= 0.56


def test_the_labels_in_front_and_a_second_hint_still_warn(scorer):
    assert scorer.score("api-7f9c2d1e4b-x2k9z.eu-west-1.prod.example.top").verdict is not Verdict.ALLOW
    assert scorer.score("api-7f9c2d1e4b-x2k9z.eu-west-1.verify-account.example.com").verdict is not Verdict.ALLOW


@pytest.mark.parametrize("name", [
    "paypal.com.dbl.spamhaus.org",               # a spam filter checks a link to PayPal
    "example-login.top.dbl.spamhaus.org",        # ... or to a phishing domain: the lookup must get through
    "2.0.0.127.zen.spamhaus.org",                # ... or the sender's address
    "amazon.co.jp.multi.uribl.com",
    "example.com.multi.surbl.org",
])
def test_a_lookup_in_a_dns_blocklist_is_allowed_whatever_is_looked_up(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.value == 0.0, score
    assert score.rule == "infrastructure" and "DNS blocklist" in score.reasons[0]


def test_a_blocklists_name_under_another_domain_is_judged(scorer):
    assert scorer.score("paypal.com.dbl.spamhaus-example.top").verdict is Verdict.BLOCK


@pytest.mark.parametrize("name, verdict", [
    ("paypal.com._report._dmarc.example.com", Verdict.ALLOW),   # a receiver checks that example.com takes
                                                                # PayPal's DMARC reports: PayPal's domain is data
    ("_sip._tcp.example.com", Verdict.ALLOW),
    ("selector1._domainkey.paypa1.com", Verdict.BLOCK),         # a look-alike's own records are the look-alike's
    ("paypal.com._x.example.top", Verdict.BLOCK),               # any other underscore hides nothing
])
def test_a_mail_record_is_judged_as_the_domain_it_belongs_to(scorer, name, verdict):
    assert scorer.score(name).verdict is verdict


@pytest.mark.parametrize("name, flagged", [
    ("trustwallet.example.com", False),       # Trust Wallet's name holds 'wallet': alone in front it is the
    ("trustwallet.b-cdn.net", False),         # brand's weak hint, not also a word
    ("trustwallet-login.example.com", True),
    ("trustwallet.login.example.com", True),
])
def test_a_brands_own_name_in_front_explains_the_word_it_holds(scorer, name, flagged):
    assert (scorer.score(name).verdict is not Verdict.ALLOW) is flagged


@pytest.mark.parametrize("name", ["d18fa310000bfb.example.com", "c0a8110000e7.example.net", "r2310086977.example.org"])
def test_a_brands_number_inside_a_longer_number_in_front_is_an_id_not_the_brand(scorer, name):
    # China Telecom's 10000 and China Mobile's 10086, run into other digits of a hash or a counter.
    score = scorer.score(name)
    assert score.brand is None and score.verdict is Verdict.ALLOW


@pytest.mark.parametrize("name", ["kefu10000.example.top", "10086-kefu.example.top"])
def test_a_brands_number_standing_on_its_own_in_front_still_counts(scorer, name):
    score = scorer.score(name)
    assert score.brand is not None and score.verdict is not Verdict.ALLOW
