from fraudwall.scoring.tld import is_country_code, tld_risk


def test_abused_tlds_rank_above_elevated_above_the_rest():
    assert tld_risk("top") > tld_risk("shop") > tld_risk("com") == 0
    assert tld_risk("com.cn") == tld_risk("cn")


def test_a_tld_alone_stays_below_warn():
    assert max(tld_risk(t) for t in ("top", "xyz", "tk", "shop")) < 0.6


def test_country_codes():
    assert is_country_code("de") and is_country_code("co.uk")
    assert not is_country_code("com") and not is_country_code("top")
