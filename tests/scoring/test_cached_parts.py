"""What the scorer keeps per registrable domain and per label changes no score: a name scores the same
whatever was scored before it, and with every cache off."""

import gc
import random

import pytest

from fraudwall.scoring.score import Score, Verdict
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.signals import context_signals, host_traits, weigh

# Hosts under domains whose own traits weigh (a ranked TLD, a lure word, a hyphen, the sign-in step,
# a serving domain), with labels in front that add words, lures, structure or a brand.
NAMES = [
    "s7a1b2c3d4e5f6.abcxyz-pay.top", "s7ffee00112233.abcxyz-pay.top", "abcxyz-pay.top",
    "www.abcxyz-pay.top", "track-parcel.abcxyz-pay.top", "login.abcxyz-pay.top", "com-secure.abcxyz-pay.top",
    "paypal.com.abcxyz-pay.top", "a.b.c.d.abcxyz-pay.top", "10-0-0-1.abcxyz-pay.top",
    "secure-login.example.top", "login.secure-login.example.top", "account-signin.com",
    "www.account-signin.com", "api.account-signin.com", "x7k2q9zpl4mn.account-signin.com",
    "e1234.a.akamaiedge.net", "paypal-login.d1a2b3.cloudfront.net", "d1a2b3c4d5e6f7.northcdn.net",
    "pay.d1a2b3c4d5e6f7.northcdn.net", "login.northcdn.net", "com-x.example.org", "miss-3-12345.bench.example.org",
    "com-pay.com-secure.xyz", "wallet.com-secure.xyz", "tuikuan.icbc-kefu.cc", "amaozn.example.top",
    "mail.x7k2q9zpl4mn.top", "a7f3c9e2b1d4.secure.com.example.com", "1.2.3.4.example.net",
]


@pytest.fixture(scope="module")
def scores():
    return [Scorer(cache_size=0).score(name) for name in NAMES]


def test_a_name_scores_the_same_whatever_was_scored_before(scores):
    for seed in range(3):
        order = list(range(len(NAMES)))
        random.Random(seed).shuffle(order)
        scorer = Scorer()
        seen = {i: scorer.score(NAMES[i]) for i in order}
        assert [seen[i] for i in range(len(NAMES))] == scores


def test_the_domains_traits_weighed_once_say_what_they_say_weighed_with_each_host(scorer):
    compared = 0
    for name in NAMES:
        evidence = scorer.evidence(name)
        if isinstance(evidence, Score) or not evidence[2]:
            continue
        compared += 1
        signals, domain, subdomain, words, host, _ = evidence
        assert context_signals(domain.weighed, words, subdomain, host, bool(signals)) == \
            context_signals(domain.traits, words, subdomain, host, bool(signals)) == \
            weigh(host_traits(domain.traits, words, subdomain, host, bool(signals))).signals
    assert compared >= 25


def test_the_labels_a_scorer_keeps_give_the_collector_nothing_new_to_walk():
    # The resolver's scorer keeps the readings of tens of thousands of labels. Were each an object the
    # collector tracks, its collections of the older generations would walk them all at once: a stall
    # of tens of milliseconds for every query waiting, every few tens of thousands of new names.
    scorer = Scorer()
    for warm_up in ("www.example.org", "1-2.bench.example.org", "a7f3c9e2b1d4x.cdn.example.net"):
        scorer.score_uncached(warm_up)
    gc.collect()
    tracked_before = len(gc.get_objects())
    for number in range(10_000):
        # Counters and hashes, each label new: a flood of random subdomains, CDN hosts, telemetry.
        assert scorer.score_uncached(f"miss-{number}-{number * 7}.bench.example.org").verdict is Verdict.ALLOW
        scorer.score_uncached(f"{number * 7919:x}f{number:x}a9c3e.cdn.example.net")
    gc.collect()
    assert len(gc.get_objects()) - tracked_before < 200
    # Still read: a label that does say something keeps its own reading.
    assert scorer.score_uncached("paypal.bench.example.org").brand == "paypal.com"
