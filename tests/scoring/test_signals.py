"""Each signal on its own, through the functions the Scorer combines."""

from collections import OrderedDict

import pytest

from fraudwall.scoring.brands import load_brands
from fraudwall.scoring.index import BrandIndex
from fraudwall.scoring.score import Rule
from fraudwall.scoring.signals import context_signals, domain_signals, read_labels, subdomain_signals


@pytest.fixture(scope="module")
def index():
    return BrandIndex(load_brands())


@pytest.mark.parametrize("label, rule, phrase", [
    ("icb", Rule.TYPOSQUAT, "omission look-alike of icbc.com.cn, edit distance 1"),
    ("pay-pal", Rule.TYPOSQUAT, "hyphenation look-alike of paypal.com"),
    ("bankofamerca", Rule.TYPOSQUAT, "omission look-alike of bankofamerica.com"),
    ("rnicrosoft", Rule.HOMOGLYPH, "homoglyph of microsoft.com"),
    ("xn--pypal-4ve", Rule.HOMOGLYPH, "homoglyph of paypal.com"),
    ("taobao-tuikuan", Rule.COMBOSQUAT, "fraud word 'tuikuan' next to brand 'taobao'"),
    ("secure-paypal-login", Rule.COMBOSQUAT, "fraud words 'secure', 'login' next to brand 'paypal'"),
    ("qq", Rule.TLD_SWAP, "brand 'qq' under .top"),
])
def test_domain_signal(index, label, rule, phrase):
    signals = domain_signals(index, label, "top").signals
    assert signals and signals[0].rule is rule and phrase in signals[0].reason, signals


@pytest.mark.parametrize("label", ["github", "jdsports", "ccbill", "abcnews", "booking"])
def test_no_brand_signal_for_names_that_only_contain_short_tokens(index, label):
    assert domain_signals(index, label, "com").signals == ()


def test_subdomain_split_and_brand_in_subdomain(index):
    split, _ = subdomain_signals(index, ["ban"], "kcomm", "kcomm.com")
    assert split[0].rule is Rule.TYPOSQUAT and "split by a dot" in split[0].reason
    spelled, words = subdomain_signals(index, ["www", "paypal", "com", "login"], "example", "example.top")
    assert spelled[0].rule is Rule.BRAND_SUBDOMAIN and spelled[0].value >= 0.85
    assert words == ("login",)
    plain, _ = subdomain_signals(index, ["paypal"], "example", "example.org")
    assert plain[0].value < 0.6      # alone, a brand in front of a domain only hints


def test_context_adds_tld_words_and_shape(index):
    traits = domain_signals(index, "x7k2q9zpl4mn", "top").traits
    rules = {s.rule for s in context_signals(traits, ("login",))}
    assert rules == {Rule.TLD, Rule.WORDS, Rule.SHAPE}
    assert context_signals(domain_signals(index, "github", "com").traits, ()) == ()


def test_context_reads_the_subdomain_structure(index):
    traits = domain_signals(index, "example", "com").traits
    signals = context_signals(traits, (), ["a7f3c9e2b1d4", "secure", "com"], "a7f3c9e2b1d4.secure.com.example.com")
    reasons = " ".join(s.reason for s in signals)
    assert "machine-made label 'a7f3c9e2b1d4' in front" in reasons
    assert "'secure.com' spelled out in front of another domain" in reasons
    assert max(s.value for s in signals) < 0.85     # under .com, never a block on structure alone


def test_slip_of_a_long_brand_in_a_subdomain(index):
    signals, _ = subdomain_signals(index, ["amazom"], "example", "example.top")
    assert signals[0].rule is Rule.BRAND_SUBDOMAIN and "look-alike of brand 'amazon'" in signals[0].reason
    assert signals[0].value < 0.6        # a letter replaced, alone a hint; the TLD or the shape decides
    swapped, _ = subdomain_signals(index, ["amaozn"], "example", "example.top")
    assert swapped[0].value >= 0.6       # two letters swapped: no word is made that way
    assert subdomain_signals(index, ["images"], "example", "example.com") == ((), ())


@pytest.mark.parametrize("label, brand", [("apple-locate", "apple.com"), ("usps-kqz", "usps.com"),
                                          ("allo-amazon-apps", "amazon.com")])
def test_brand_joined_by_a_hyphen_to_another_word_warns(index, label, brand):
    signals = domain_signals(index, label, "com").signals
    assert signals and signals[0].rule is Rule.COMBOSQUAT and signals[0].brand == brand
    assert signals[0].value >= 0.6 and "joined by a hyphen" in signals[0].reason


@pytest.mark.parametrize("label", ["home-office", "paper-chase", "visa-services", "ups-store", "web-de"])
def test_everyday_and_short_tokens_are_not_brand_parts(index, label):
    assert not any("joined by a hyphen" in s.reason for s in domain_signals(index, label, "com").signals)


@pytest.mark.parametrize("label, suffix", [("vita", "de"), ("amax", "jp"), ("chaze", "ir")])
def test_a_short_brands_slip_under_a_foreign_country_code_only_hints(index, label, suffix):
    signals = domain_signals(index, label, suffix).signals
    assert signals and signals[0].value < 0.6 and f"under .{suffix} where it has no site" in signals[0].reason


def test_a_short_brands_slip_under_its_own_country_code_still_warns(index):
    signals = domain_signals(index, "allebro", "pl").signals     # allegro.pl
    assert signals and signals[0].value >= 0.6
    assert domain_signals(index, "vita", "com").signals[0].value >= 0.6


@pytest.mark.parametrize("label, brand", [("cibi", "cib.com.cn"), ("cibl", "cib.com.cn")])
def test_a_local_brands_look_alike_beats_a_foreign_brands(index, label, brand):
    signals = domain_signals(index, label, "com.cn").signals      # citi.com has no site under .cn
    assert signals and signals[0].brand == brand and signals[0].value >= 0.6


@pytest.mark.parametrize("label, suffix, warns", [
    ("airbnb", "hk", True),           # Airbnb's Hong Kong site is airbnb.com.hk, not airbnb.hk
    ("fedex", "tw", True),
    ("capitalone", "hk", True),
    ("bankofamerica", "hk", True),
    ("linkedin", "io", True),         # io is sold as a generic TLD
    ("icbc", "de", True),             # a Chinese brand
    ("office", "co.uk", False),       # a brand that is an everyday word: that country's own shops use it
    ("visa", "com.br", False),
])
def test_a_brands_label_under_a_country_code_it_does_not_list_warns(index, label, suffix, warns):
    signal = domain_signals(index, label, suffix).signals[0]
    assert signal.rule is Rule.TLD_SWAP and (signal.value >= 0.6) is warns


def test_labels_read_before_say_the_same_under_another_domain_and_before_another_label(index):
    readings: OrderedDict = OrderedDict()
    cases = [(["paypal", "com", "login"], "example", "example.top"),   # spelled: paypal then com
             (["paypal", "login"], "example", "example.top"),          # the same label before another
             (["paypal", "com", "login"], "other", "other.xyz"),       # the same labels, another domain
             (["ban"], "kcomm", "kcomm.com"), (["ban"], "kcomm", "kcomm.net"),
             (["a1b2c3", "cdn"], "example", "example.org"), (["www", "secure-amaozn"], "shop", "shop.top")]
    for labels, label, registrable in cases + cases:
        assert subdomain_signals(index, labels, label, registrable, readings) == \
            subdomain_signals(index, labels, label, registrable)
    remembered = subdomain_signals(index, ["paypal", "com", "login"], "other", "other.xyz", readings)[0]
    assert "other.xyz" in remembered[0].reason and remembered[0].value > \
        subdomain_signals(index, ["paypal", "login"], "other", "other.xyz", readings)[0][0].value


def test_a_label_in_front_is_read_once_and_says_the_same_when_read_again(index):
    labels = ["secure-paypa1", "x7k2q9zpl4mn", "www"]
    readings: OrderedDict = OrderedDict()
    read = read_labels(index, labels, readings)
    assert read == read_labels(index, labels) == read_labels(index, labels, readings)
    assert readings["secure-paypa1"] is read[0]     # kept by the label
    secure, machine, www = read
    assert secure.words == ("secure",) and secure.part == "paypa1" and secure.shown.brand.domain == "paypal.com"
    assert machine.front.machine_made and machine.shown is None and www.words == ()
