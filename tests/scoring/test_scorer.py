import os
import socket
import time

import pytest

from fraudwall.scoring.brands import load_brands
from fraudwall.scoring.names import InvalidName
from fraudwall.scoring.score import Verdict
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.settings import ScorerSettings


@pytest.mark.parametrize("name", ["paypal.com", "www.paypal.com", "login.paypal.com", "icbc.com.cn",
                                  "mybank.icbc.com.cn", "jd.com", "qq.com", "10086.cn", "PayPal.com."])
def test_brands_own_domains_are_allowed(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "brand-domain"


@pytest.mark.parametrize("name", ["amazon.com.be", "www.amazon.com.be", "a.b.amazon.com.be"])
def test_a_brand_domain_the_suffix_list_splits_further_is_allowed_with_the_names_below_it(scorer, name):
    # The list makes com.be the registrable domain: the brand's own domain is found above it.
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "brand-domain" and score.brand == "amazon.com"


def test_a_brand_domain_in_front_of_another_is_not_its_own(scorer):
    assert scorer.score("amazon.com.be.example.net").verdict is Verdict.BLOCK
    assert scorer.score("x.com.be").rule != "brand-domain"


def test_every_shipped_brand_domain_is_allowed(scorer):
    for brand in load_brands():
        for domain in brand.domains:
            assert scorer.score(domain).verdict is Verdict.ALLOW, domain


@pytest.mark.parametrize("name", ["google.com", "github.com", "abc.xyz", "abc.com", "abc.net.au",
                                  "wikipedia.org", "example.org", "jdsports.com", "qqq.example",
                                  "ccbill.com", "office-depot.example", "steamykitchen.com",
                                  "163.com", "apple.stackexchange.com"])
def test_benign_names_are_allowed(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW, scorer.score(name)


def test_homoglyph_typo_blocks_and_names_the_brand(scorer):
    score = scorer.score("paypa1.com")
    assert score.verdict is Verdict.BLOCK
    assert score.brand == "paypal.com" and "paypal.com" in score.reasons[0]


def test_combosquat_with_pinyin_fraud_word_blocks(scorer):
    score = scorer.score("icbc-tuikuan.top")
    assert score.verdict is Verdict.BLOCK and score.rule == "combosquat"
    assert any("'tuikuan' next to brand 'icbc'" in r for r in score.reasons)


def test_brand_in_subdomain_of_unrelated_domain_blocks(scorer):
    score = scorer.score("www.paypal.com.account-verify.top")
    assert score.verdict is Verdict.BLOCK and score.rule == "brand-subdomain"
    assert "brand 'paypal' in subdomain of an unrelated domain account-verify.top" in score.reasons


def test_brand_under_another_tld_is_flagged_more_on_abused_tlds(scorer):
    assert scorer.score("icbc.top").verdict is not Verdict.ALLOW
    assert scorer.score("icbc.top").rule == "tld-swap"
    assert scorer.score("icbc.top").value > scorer.score("icbc.de").value


def test_idn_homoglyph_blocks(scorer):
    score = scorer.score("xn--80ak6aa92e.com")     # аррӏе.com in Cyrillic
    assert score.verdict is Verdict.BLOCK and score.rule == "homoglyph" and score.brand == "apple.com"


def test_short_tokens_need_care(scorer):
    assert scorer.score("jd-login.com").verdict is Verdict.BLOCK
    assert scorer.score("jdd.com").verdict is Verdict.WARN          # addition: warn only
    assert scorer.score("jdm.example").verdict is not Verdict.BLOCK
    assert scorer.score("ajdb.com").verdict is Verdict.ALLOW           # no plain substring match


def test_thresholds_are_configurable():
    strict = Scorer(ScorerSettings(block_threshold=0.7, warn_threshold=0.5))
    assert strict.score("jdd.com").verdict is Verdict.BLOCK


def test_admin_brand_is_protected(tmp_path):
    extra = tmp_path / "brands.toml"
    extra.write_text('[[brand]]\nname = "Example Bank"\ngroup = "intl"\ncategory = "bank"\n'
                     'domains = ["examplebank.org"]\n')
    scorer = Scorer(ScorerSettings(brands_file=str(extra)))
    assert scorer.score("examplebank.org").verdict is Verdict.ALLOW
    assert scorer.score("examp1ebank.org").verdict is Verdict.BLOCK
    assert scorer.score("examplebank-login.top").brand == "examplebank.org"


def test_invalid_names_raise(scorer):
    with pytest.raises(InvalidName):
        scorer.score("a" * 64 + ".com")


def test_cache_serves_a_name_seen_before_fast(scorer):
    scorer.score("paypa1.example.com")
    start = time.perf_counter()
    for _ in range(10_000):
        scorer.score("paypa1.example.com")
    assert (time.perf_counter() - start) / 10_000 < 5e-6


def test_subdomains_of_one_domain_can_score_differently(scorer):
    assert scorer.score("paypal.example.top").brand == "paypal.com"
    assert scorer.score("blog.example.top").brand is None


def test_suffix_list_is_never_fetched_nor_cached(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("the scorer must not open a connection")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    scorer = Scorer()
    assert scorer.score("paypal.com.example.top").verdict is not Verdict.ALLOW
    assert scorer.score("example.co.uk").verdict is Verdict.ALLOW
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("name", ["1.0.0.127.in-addr.arpa", "4.3.2.1.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                                  "_dns.resolver.arpa"])
def test_reverse_lookups_and_the_arpa_tree_are_allowed(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW


@pytest.mark.parametrize("name, brand", [("clb.com.cn", "cib.com.cn"), ("elb.com.cn", "cib.com.cn"),
                                         ("doc.cn", "boc.cn"), ("hxd.com.cn", "hxb.com.cn"),
                                         ("chinateleeonn.com.cn", "chinatelecom.com.cn"),
                                         ("barkconm.com", "bankcomm.com")])
def test_ascii_homoglyphs_under_the_brands_own_suffix_warn(scorer, name, brand):
    # .cn and .com.cn take no accented letters: b/d, c/e, n/m/r, lb/b are what is left.
    score = scorer.score(name)
    assert score.verdict is not Verdict.ALLOW and score.rule == "homoglyph" and score.brand == brand


@pytest.mark.parametrize("name", ["clb.de", "doc.com", "gq.com", "gg.com", "pinger.com", "jb.com.br"])
def test_weak_ascii_confusions_elsewhere_stay_allowed(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW, scorer.score(name)


@pytest.mark.parametrize("text, brand", [("ċçb", "ccb.com"), ("ǵġ", "qq.com"), ("ɉḋ", "jd.com")])
def test_two_swap_idn_homoglyphs_of_short_brands_warn_at_least(scorer, text, brand):
    score = scorer.score(text.encode("idna").decode("ascii") + ".com")
    assert score.verdict is not Verdict.ALLOW and score.brand == brand


@pytest.mark.parametrize("name", ["pbc.gov.cn", "www.chinatax.gov.cn", "hmrc.gov.uk", "mit.edu", "army.mil"])
def test_names_under_restricted_government_and_school_suffixes_are_allowed(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW


def test_the_restricted_suffix_must_be_the_real_one(scorer):
    # "gov" as a word in an ordinary .cn name earns nothing; the brand combo still blocks.
    assert scorer.score("chinatax-gov-tuikuan.cn").verdict is Verdict.BLOCK


def test_a_brand_in_front_of_a_domain_under_any_ranked_tld_warns(scorer):
    assert scorer.score("amazon.qwlkio.cn").verdict is Verdict.WARN      # .cn: the low tier
    assert scorer.score("apple.stackexchange.com").verdict is Verdict.ALLOW
