from fraudwall.scoring.score import Verdict
from fraudwall.scoring.tld import is_country_code, tld_risk, tld_tier


def test_abused_tlds_rank_above_elevated_above_the_rest():
    assert tld_risk("top") > tld_risk("shop") > tld_risk("com") == 0
    assert tld_risk("com.cn") == tld_risk("cn")


def test_a_tld_alone_stays_below_warn():
    assert max(tld_risk(t) for t in ("top", "xyz", "tk", "shop")) < 0.6


def test_country_codes():
    assert is_country_code("de") and is_country_code("co.uk")
    assert not is_country_code("com") and not is_country_code("top")


def test_cheap_second_level_suffixes_rank_with_the_free_tlds():
    from fraudwall.scoring.tld import tld_reason
    assert tld_tier("my.id") == tld_tier("biz.id") == "high"
    assert tld_tier("co.id") == tld_tier("id") == "low"       # the rest of .id as before
    assert "my.id" in tld_reason("my.id") and tld_reason("top") == "TLD .top ranks high in abuse reports"


def test_a_government_abbreviation_outside_a_government_suffix_is_a_fraud_word(scorer):
    score = scorer.score("gov.uk-pcnfine.bond")
    assert score.verdict is not Verdict.ALLOW and any("'gov'" in r for r in score.reasons)
    assert scorer.score("e-gov.kz").verdict is Verdict.ALLOW


def test_the_reason_says_the_tier():
    from fraudwall.scoring.tld import tld_reason
    assert tld_reason("shop") == "TLD .shop is among the twenty most abused"
    assert tld_reason("com.cn") == "TLD .cn is often abused"


def test_tld_trait_is_the_tier_and_its_reason():
    from fraudwall.scoring.tld import tld_trait
    assert tld_trait("top") == (("tld-high", "TLD .top ranks high in abuse reports"),)
    assert tld_trait("com") == ()
