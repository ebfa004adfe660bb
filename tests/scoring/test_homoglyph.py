import pytest

from fraudwall.scoring.homoglyph import ascii_variants, decode_label, is_idn, loose_skeleton, skeleton


def test_punycode_is_decoded_and_plain_labels_pass():
    assert decode_label("xn--80ak6aa92e") == "аррӏе"   # Cyrillic
    assert decode_label("example") == "example"
    with pytest.raises(ValueError):
        decode_label("xn--a-ecp.ru" + "\u2603")


@pytest.mark.parametrize("text", ["аррӏе", "app1e", "appIe".lower(), "äpple"])
def test_confusables_fold_to_the_brand(text):
    assert skeleton(text) == skeleton("apple")


@pytest.mark.parametrize("text, brand", [("rnicrosoft", "microsoft"), ("vvechat", "wechat"),
                                         ("jcl", "jd"), ("g00gle", "google"), ("i0086", "10086")])
def test_multi_character_and_digit_confusables(text, brand):
    assert skeleton(text) == skeleton(brand)


def test_loose_skeleton_folds_weaker_confusions_only_there():
    assert skeleton("ęęb") != skeleton("ccb")
    assert loose_skeleton("ęęb") == loose_skeleton("ccb")
    assert is_idn("ęęb") and not is_idn("ccb")


def test_different_words_keep_different_skeletons():
    assert skeleton("github") != skeleton("google")
    assert skeleton("bad") != skeleton("dad")


@pytest.mark.parametrize("text", ["раураl",        # Cyrillic р, а, у
                                  "ρaγρal",        # Greek rho, gamma
                                  "pȧypǎl", "pɑyṗał",   # Latin extended, IPA
                                  "ｐａｙｐａｌ"])   # full-width
def test_folding_covers_cyrillic_greek_latin_extended_and_full_width(text):
    assert skeleton(text) == "paypal"


def test_ascii_variants_follow_one_or_two_hand_made_swaps():
    variants = ascii_variants("cib")
    assert {"clb", "c1b", "elb", "cld", "db", "cilb", "cidl"} <= variants
    assert "cib" not in variants and "xyz" not in variants
    assert "barkconm" in ascii_variants("bankcomm")      # n -> r, m -> n
    assert "chinateleeonn" in ascii_variants("chinatelecom")   # c -> e, m -> nn


def test_ascii_variants_swap_a_doubled_letter_once_or_twice_and_a_pair_read_as_one():
    assert {"0o", "o0", "00"} <= ascii_variants("oo")
    assert {"m", "rm", "rr", "nn"} <= ascii_variants("rn")    # the pair as one, a letter, the pair then a letter
    assert ascii_variants("xyz") == set()
