"""A brand's own secondary domains are never flagged; another country's institution one letter
from a foreign brand is warned, not blocked. Look-alikes here are made up for the test."""

import pytest

from fraudwall.scoring.score import Verdict


@pytest.mark.parametrize("name", [
    "login.microsoftonline-p.com",     # Microsoft's sign-in, as its Microsoft 365 endpoint list names it
    "x1.partner.outlook.cn",           # Office 365 operated by 21Vianet
    "r2.gvt1.com",                     # Google's download and update hosts
    "assets.adobedtm.com",             # Adobe's tag manager
    "capitalone.ca",                   # a country site of the brand
    "barclaycard.de",
    "static.line-scdn.net",
    "airbnb.com.hk",                   # country sites as the brand's own region selector links them
    "airbnb.pt",
    "citibank.pl",
    "google.com.jm",                   # Google's list of the domains it serves search under
    "amazon.co.za",
    "365online.com",                   # Bank of Ireland's online banking
    "bbva.mx",
])
def test_a_brand_s_own_domains_are_allowed_as_its_own(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "brand-domain"


def test_a_long_brand_s_slip_under_another_country_s_code_warns_not_blocks(scorer):
    # correos (a post office's name in Spanish) is one letter from Brazil's correios.
    abroad = scorer.score("correos.es")
    assert abroad.verdict is Verdict.WARN and "under .es where it has no site" in abroad.reasons[0]
    assert scorer.score("correos.com").verdict is Verdict.BLOCK
    # A TLD given away for free is no country's, and a homoglyph is a homoglyph anywhere.
    assert scorer.score("correos.tk").verdict is Verdict.BLOCK
    assert scorer.score("paypa1.de").verdict is Verdict.BLOCK


def test_a_country_s_academic_and_government_second_levels_are_not_judged_for_slips(scorer):
    # Only universities register under ac.uk, only the state under go.jp.
    assert scorer.score("citl.ac.uk").verdict is Verdict.ALLOW
    assert scorer.score("goog1e.go.jp").verdict is Verdict.ALLOW
    assert scorer.score("paypa1.ac").verdict is Verdict.BLOCK        # the .ac TLD is anyone's


def test_a_brand_s_name_under_a_country_code_it_does_not_list_warns(scorer):
    # aka.ms and db.tt are the brands' own, but no country site: microsoft.tw is still a TLD swap that warns;
    # so are brands with country sites elsewhere, under a code they do not list (airbnb.com.hk, not airbnb.hk).
    assert scorer.score("aka.ms").rule == "brand-domain"
    for name in ("microsoft.tw", "dropbox.tw", "fedex.tw", "airbnb.hk", "capitalone.hk", "fedex.com.cn"):
        score = scorer.score(name)
        assert score.verdict is Verdict.WARN and score.rule == "tld-swap", name


def test_a_brands_own_hyphenated_label_under_another_suffix_is_a_tld_swap_not_a_hyphen_put_in(scorer):
    # credit-agricole and sf-express are the brands' own labels: under another country's code they are the
    # brand's name under a suffix it does not list (warn), not a hyphen slipped into it (pay-pal: block).
    for name in ("credit-agricole.ch", "sf-express.hk", "disney-plus.de"):
        score = scorer.score(name)
        assert score.verdict is Verdict.WARN, score
        assert score.rule == "tld-swap", score
    assert scorer.score("credit-agricole.top").verdict is Verdict.BLOCK
    assert scorer.score("pay-pal.com").verdict is Verdict.BLOCK
    assert scorer.score("bank-of-america.com").verdict is Verdict.BLOCK


@pytest.mark.parametrize("name", ["ups.ee", "irs.de", "ccb.de", "okx.com.tr", "189.de"])
def test_an_acronym_under_a_country_code_outside_the_brands_market_is_a_hint(scorer, name):
    # Some organisation of every country holds each three-letter acronym: a hint, as an everyday word is.
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "tld-swap" and score.value == 0.56, score


@pytest.mark.parametrize("name, verdict", [
    ("boc.hk", Verdict.WARN),       # a Chinese brand's acronym under a Chinese-language code: its customers'
    ("qq.tw", Verdict.WARN),
    ("ups.io", Verdict.WARN),       # a country code sold as a generic TLD is no country's
    ("jd.id", Verdict.WARN),        # a ranked TLD (.id, low) still makes it warn
    ("ups.top", Verdict.BLOCK),
    ("ups-login.de", Verdict.BLOCK),
    ("ebay.ee", Verdict.WARN),      # four letters: a name, not an acronym
])
def test_an_acronym_in_its_market_or_with_a_second_hint_is_still_flagged(scorer, name, verdict):
    assert scorer.score(name).verdict is verdict


@pytest.mark.parametrize("name", [
    "yahoo.co.uk", "yahoo.com.br", "ymail.com",        # Yahoo Mail's address domains
    "hotmail.fr", "hotmail.co.uk", "outlook.de",       # Outlook.com's
])
def test_a_mail_service_s_country_address_domains_are_its_own(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.rule == "brand-domain"


def test_a_mail_service_s_name_under_a_domain_it_does_not_run_is_still_a_tld_swap(scorer):
    assert scorer.score("yahoo.kz").verdict is Verdict.WARN
    assert scorer.score("hotmail.xyz").verdict is Verdict.BLOCK


@pytest.mark.parametrize("name, verdict", [
    # 'wallet' is part of the brand's name: next to another word it is the brand and that word, not a
    # fraud word as well (these blocked as "brand 'walletconnect' with fraud words 'wallet'").
    ("walletconnect-docs.com", Verdict.WARN),
    ("trustwallet-admin.com", Verdict.WARN),
    ("walletconnect-admin.okta.com", Verdict.ALLOW),   # a tenant named after its company
    # A fraud word besides the brand's own, or the word again, still counts.
    ("walletconnect-login.com", Verdict.BLOCK),
    ("walletconnect-wallet.com", Verdict.BLOCK),
    ("walletconnectkefu.com", Verdict.WARN),           # the word at the end, not the brand's own at the front
    ("trustwallet-verify.com", Verdict.BLOCK),
    ("trustwallet-login.example.com", Verdict.WARN),
])
def test_a_word_the_brand_s_own_name_holds_is_not_a_fraud_word_next_to_it(scorer, name, verdict):
    score = scorer.score(name)
    assert score.verdict is verdict, score
    assert not any("'wallet'" in reason for reason in score.reasons) or name.count("wallet") > 1
