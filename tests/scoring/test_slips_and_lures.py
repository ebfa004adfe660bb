"""Slips of a brand that no honest name makes, and the lures of toll and payee texts.
The names are made up for the test (example.com and look-alikes of the shipped brands)."""

import pytest

from fraudwall.scoring.score import Verdict


@pytest.mark.parametrize("name, brand", [
    ("app-lnstagram.com", "instagram.com"),      # a homoglyph of a brand next to another word
    ("best-amazom-deals.com", None),             # a letter replaced: amazom could be a word, so no
    ("my-amaozn-shop.com", "amazon.com"),        # two letters swapped
    ("get-telgram.com", "telegram.org"),         # a letter left out
])
def test_a_brand_misspelled_next_to_another_word_warns(scorer, name, brand):
    score = scorer.score(name)
    if brand is None:
        assert score.brand is None, score
    else:
        assert score.verdict is not Verdict.ALLOW and score.brand == brand, score
        assert "look-alike of brand" in score.reasons[0]


@pytest.mark.parametrize("name", ["ntt-finance.co.jp", "doujin-ichiban.com", "telegraf-agent.com"])
def test_a_word_one_letter_from_a_brand_next_to_another_word_is_not_flagged(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW


def test_two_letters_of_a_long_brand_swapped_in_front_of_a_domain_warn(scorer):
    score = scorer.score("amaozn.example.com")
    assert score.verdict is Verdict.WARN and score.rule == "brand-subdomain"
    # A letter replaced is often a word (finance, telegraf): in front of an honest .com it only hints.
    for name in ("finance.example.com", "telegraf.example.com"):
        assert scorer.score(name).verdict is Verdict.ALLOW, name


@pytest.mark.parametrize("name", ["allegro.pl-offer.example.eu", "paypal.com-help.example.net"])
def test_a_brand_with_its_domain_ending_glued_to_the_next_label_is_spelled_out(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.BLOCK and score.rule == "brand-subdomain", score


@pytest.mark.parametrize("name, word", [("paytollxq.vip", "paytoll"), ("newpayee-cancel.top", "payee")])
def test_toll_and_payee_lures_are_reasons(scorer, name, word):
    # A lure word is a hint: with a TLD the abuse reports rank it warns, alone it does not.
    score = scorer.score(name)
    assert score.verdict is not Verdict.ALLOW and any(f"'{word}'" in r for r in score.reasons), score
    assert scorer.score(f"{word}.com").verdict is Verdict.ALLOW


@pytest.mark.parametrize("lookalike, own", [
    ("rakutem.com", "rakuten.co.jp"),
    ("mercadolivre-ofertas.top", "mercadolivre.com.br"),
    ("snapchat-login.com", "snapchat.com"),
    ("vinted.shop", "vinted.fr"),
])
def test_brands_the_phishing_reports_name_are_protected(scorer, lookalike, own):
    assert scorer.score(lookalike).verdict is not Verdict.ALLOW
    assert scorer.score(own).rule == "brand-domain"


@pytest.mark.parametrize("name, flagged", [
    ("aliexpresrt.com", True),        # two slips, the start kept
    ("kurnoekoyamato.co.jp", True),
    ("hiexpress.com", False),         # the start rewritten: another name that ends in 'express'
    ("flixpress.com", False),
])
def test_two_edits_of_a_long_brand_count_only_where_its_start_is_kept(scorer, name, flagged):
    assert (scorer.score(name).verdict is not Verdict.ALLOW) is flagged


@pytest.mark.parametrize("name, reason", [
    ("淘宝客服.top", "fraud word '客服'"),          # an internationalised name: the words in Hanzi count
    ("冷钱包.top", "lure word '钱包'"),
])
def test_chinese_fraud_and_lure_words_in_hanzi_count(scorer, name, reason):
    score = scorer.score(name)
    assert score.verdict is not Verdict.ALLOW and reason in score.reasons, score
