"""Issue 16's false alarms of the look-alike code, each a family: a brand that is an everyday word,
a short brand one letter from a word, a fraud word inside a longer word."""

import pytest

from fraudwall.scoring.brands import load_brands
from fraudwall.scoring.combo import find_words
from fraudwall.scoring.index import BrandIndex
from fraudwall.scoring.score import Rule, Verdict
from fraudwall.scoring.signals import domain_signals


@pytest.fixture(scope="module")
def index():
    return BrandIndex(load_brands())


def _strongest(index, label, suffix="com"):
    signals = domain_signals(index, label, suffix).signals
    return max((s.value for s in signals), default=0.0)


@pytest.mark.parametrize("label", ["evening-telegram", "telegram-gazette", "home-office", "paper-chase"])
def test_an_everyday_brand_word_in_a_compound_is_no_brand(index, label):
    assert _strongest(index, label) < 0.6


@pytest.mark.parametrize("label", ["telegram-xq", "24hrs-office", "chase-uk"])
def test_an_everyday_brand_word_next_to_a_code_still_warns(index, label):
    assert _strongest(index, label) >= 0.6


@pytest.mark.parametrize("suffix, warns", [("com", False), ("hr", False), ("top", True), ("xyz", True)])
def test_an_everyday_brand_word_under_com_or_a_country_code_only_hints(scorer, suffix, warns):
    # Telegram runs telegram.org; the word's .com and a country's sites are others' too.
    assert (scorer.score(f"telegram.{suffix}").verdict is not Verdict.ALLOW) is warns


def test_a_brand_that_is_no_everyday_word_still_warns_under_com(index):
    signal = domain_signals(index, "navyfederal", "com").signals[0]     # navyfederal.org
    assert signal.rule is Rule.TLD_SWAP and signal.value >= 0.6


@pytest.mark.parametrize("label", ["mail", "appid", "11888", "100id"])
def test_a_letter_misread_and_an_edit_on_a_short_brand_is_a_word(index, label):
    # mail read as mall, one letter from tmall; appid read as appld, one letter from apple;
    # 11888 read as 11333, one digit from 12333: another number
    assert not any(s.rule is Rule.HOMOGLYPH for s in domain_signals(index, label, "com").signals)


@pytest.mark.parametrize("label", ["amaz0n8", "paypa1"])
def test_a_digit_for_a_letter_is_a_look_alike_on_purpose(index, label):
    assert _strongest(index, label) >= 0.6


@pytest.mark.parametrize("label, suffix", [("mail", "com"), ("mail", "fr"), ("cloud", "com"), ("tunes", "net"),
                                           ("email", "net"), ("xcloud", "net")])
def test_a_products_letter_left_out_leaves_a_word_that_only_hints(scorer, label, suffix):
    score = scorer.score(f"{label}.{suffix}")
    assert score.verdict is Verdict.ALLOW and "the letter in front of a word left out or changed" in " ".join(score.reasons)


@pytest.mark.parametrize("name", ["cloud.top", "gmai.com", "mall.com"])
def test_other_slips_of_the_same_brands_still_warn(scorer, name):
    # a ranked TLD decides; a letter left out elsewhere; a brand's own name with its letter left out
    assert scorer.score(name).verdict is not Verdict.ALLOW


@pytest.mark.parametrize("label, words", [
    ("designingstudio", ()), ("esigning", ()), ("resigning", ()), ("unlimitedly", ()),
    ("myrefundcenter", ("refund",)),
    ("mysignin", ("signin",)), ("billinguk", ("billing",)), ("3dsecure", ("secure",)), ("updated", ("update",)),
    ("loginpage", ("login",)), ("paypal-signin", ("signin",)),
])
def test_a_fraud_word_counts_only_where_a_word_can_begin_and_end(label, words):
    assert find_words(label) == words


def test_the_length_a_brand_and_its_fraud_words_make_does_not_turn_a_warning_into_a_block(scorer):
    # a brand's own product names run long (brand, product, services): the combosquat signal warns,
    # and a ranked TLD or another hint still blocks
    assert scorer.score("paypalmerchantservices.com").verdict is Verdict.WARN
    assert scorer.score("paypalmerchantservices.top").verdict is Verdict.BLOCK


@pytest.mark.parametrize("label", ["billingcloud", "email-support"])
def test_a_fraud_word_next_to_a_products_word_is_no_combosquat(index, label):
    assert not any(s.rule is Rule.COMBOSQUAT for s in domain_signals(index, label, "com").signals)


@pytest.mark.parametrize("label", ["icloud-verify", "gmail-login", "lcloud-verify"])
def test_a_fraud_word_next_to_the_product_or_another_slip_of_it_still_is(index, label):
    signals = domain_signals(index, label, "com").signals
    assert signals and signals[0].rule is Rule.COMBOSQUAT
