"""The traits a host's make-up shows (traits.py), and what a user sees of them through the Scorer."""

import pytest

from fraudwall.scoring.score import Verdict
from fraudwall.scoring.traits import (ALONE_CAP, WEIGHTS, FrontLabel, credential_step, entropy, front_label,
                                      host_structure, ip_like, label_shape, lure_words)


def keys(found):
    return {key for key, _ in found}


def test_words_people_pick_have_no_machine_traits():
    # A hyphen or a number after a word are hints (the feeds have more of them), not machine-made.
    for label in ("github", "wikipedia", "example", "163", "web-de", "stackoverflow", "shop24"):
        assert keys(label_shape(label)) <= {"hyphen", "end-digits"}, label
    assert keys(label_shape("web-de")) == {"hyphen"} and keys(label_shape("shop24")) == {"end-digits"}


def test_machine_made_labels_say_why():
    assert "unpronounceable" in keys(label_shape("nhwfemnkljdsijndm"))
    assert "all-digits" in keys(label_shape("04513659"))
    assert "all-digits" not in keys(label_shape("1998"))        # four digits: a year, a number people pick
    assert "digit-mix" in keys(label_shape("0471k365"))
    assert "hex" in keys(label_shape("0ba78f946b44b89512810cd0ed4ab48d"))
    assert "many-hyphens" in keys(label_shape("secure-account-update-center"))
    assert "suffix-dash" in keys(label_shape("com-trackxyz"))
    assert "suffix-dash" not in keys(label_shape("comics-shop"))


def test_structure_of_what_stands_in_front():
    assert keys(host_structure(["www"], 15)) == set()
    assert "spelled-domain" in keys(host_structure(["shop", "co", "jp", "x1"], 30))
    assert "deep" in keys(host_structure(["a", "b", "c"], 20))
    assert "sub-random" in keys(host_structure(["6aa353a11a87a50e"], 30))
    assert "sub-random" not in keys(host_structure(["static", "images"], 30))
    assert keys(ip_like("121-33-191-49.example.net")) == {"ip-like"}
    assert ip_like("2024-11-23.example.net") == []


def test_what_a_label_in_front_says_on_its_own():
    assert front_label("com-tracking") == FrontLabel(("tracking",), False, True)
    assert front_label("6aa353a11a87a50e") == FrontLabel((), True, False)
    assert front_label("static") == FrontLabel((), False, False)
    # The caller's cheaper test found no word in the label: none is looked for.
    assert front_label("com-tracking", may_hold_word=False).lures == ()


@pytest.mark.parametrize("subdomain", [
    ["www", "com-trackxyz", "6aa353a11a87a50e"], ["shop", "co", "jp", "x1"], ["a1b2c3d4e5f6a7b8c9d0e", "cdn"],
    ["www"], ["u7-12345", "bench"],
])
def test_structure_from_labels_read_before_is_the_structure(subdomain):
    fronts = [front_label(label) for label in subdomain]
    assert host_structure(subdomain, 60, fronts) == host_structure(subdomain, 60)


def test_lure_words():
    assert lure_words("com-tracking") == ("tracking",)
    assert lure_words("usps-toll") == ("toll",)
    assert lure_words("paypalace") == ()      # no inner match of short words


def test_no_trait_alone_reaches_warn():
    assert max(WEIGHTS.values()) <= ALONE_CAP < 0.6


def test_entropy():
    assert entropy("aaaa") == 0 and entropy("ab") == 1


@pytest.mark.parametrize("name", [
    "8f3a9c2e71b4d6aa.k3q9.top",              # hash-like labels under an abused TLD
    "parcel.com-tracking-x7q.top",           # a domain ending glued to a word
    "account.verify.co.uk.kq4z8.xyz",        # a domain spelled out in front
    "121-33-191-49-88.cfd",                  # an address written as the name
])
def test_phishing_shaped_hosts_without_a_brand_are_flagged(scorer, name):
    score = scorer.score(name)
    assert score.verdict is not Verdict.ALLOW, score
    assert score.brand is None and score.reasons


@pytest.mark.parametrize("name", [
    "web-de.de", "ford-trucks.com", "news-finances.com", "mercedes-benz.com", "top10bestwebsitehosting.com",
    "coca-cola.com", "123movies.net", "www.example.com", "mail.example.org", "static.cdn.example.net",
    "a1b2c3d4e5f6.cloudfront.net", "r3---sn-4g5e6nsz.googlevideo.com", "e1234.dscb.akamaiedge.net",
    "ec2-54-12-34-56.compute-1.amazonaws.com", "shop.example.shop", "myblog.xyz",
])
def test_honest_hosts_are_not_flagged(scorer, name):
    assert scorer.score(name).verdict is Verdict.ALLOW, scorer.score(name)


@pytest.mark.parametrize("name", ["中国银行.cn", "北京大学.cn", "新华网.cn", "工商银行.中国", "百度.com", "münchen.de",
                                  "www.北京大学.cn"])
def test_internationalised_names_are_not_judged_by_their_punycode_shape(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW, score
    assert not any("machine-made" in reason for reason in score.reasons)


def test_lure_words_of_other_languages():
    assert lure_words("bantuan-dana") == ("bantuan",)
    assert lure_words("consulter-mon-amende") == ("amende",)


def test_entropy_table_agrees_with_the_formula():
    import math
    for text in ("mybestshopping24", "aaaa", "ab", "0ba78f946b44b89512810cd0ed4ab48d"):
        direct = -sum(n / len(text) * math.log2(n / len(text)) for n in map(text.count, set(text)))
        assert abs(entropy(text) - direct) < 1e-9


def test_consonants_where_two_words_meet_are_not_unpronounceable():
    for label in ("nightsky", "birthplace", "catchphrase", "movie-stream"):
        assert "unpronounceable" not in keys(label_shape(label)), label
    assert "unpronounceable" in keys(label_shape("xkcd-qzwprt"))


def test_hyphenated_words_are_judged_one_by_one():
    assert "unpronounceable" not in keys(label_shape("tp-link-store"))     # an abbreviation, then words
    assert "random" not in keys(label_shape("perfect-english-grammar"))    # a phrase: many letters, no string
    assert "random" in keys(label_shape("shop-x7kq2vbn9wz4jhmf"))


def test_a_registrable_label_that_names_the_sign_in_step_says_so():
    for label in ("secure-login", "examplebankverify", "auth-center", "password-reset", "authorisemypayment"):
        assert keys(credential_step(label)) == {"word-credential"}, label
    # Words that hold the letters are not the step: a blog index, design, authentic, authority, presets.
    for label in ("blogindex", "designing", "authentic", "authority", "presets", "signing"):
        assert credential_step(label) == [], label


def test_the_sign_in_step_counts_in_the_registrable_label_only_and_once(scorer):
    # Named for the sign-in step: a fraud word, the step, a hyphen: a warning.
    score = scorer.score("examplebank-login.com")
    assert score.verdict is Verdict.WARN and any("sign-in step" in r for r in score.reasons), score
    # In front of a domain, the honest way to put it; and a host named in front of a domain named for the
    # step is how the services that sign people in run (secure.<payment gateway>): the step is not counted.
    assert scorer.score("login.example.com").verdict is Verdict.ALLOW
    assert scorer.score("www.examplebank-login.com").verdict is Verdict.WARN
    assert any("sign-in step" in r for r in scorer.score("exampleauthorize.net").reasons)
    gateway = scorer.score("secure.exampleauthorize.net")
    assert gateway.verdict is Verdict.ALLOW and not any("sign-in step" in r for r in gateway.reasons), gateway
    # Next to a brand, the brand signal counts the word already.
    assert not any("sign-in step" in r for r in scorer.score("paypal-login.com").reasons)


def test_letter_pairs_no_word_writes():
    assert "rare-letters" in keys(label_shape("qxvtrdo"))
    assert "rare-letters" in keys(label_shape("shop-aqzwpo"))
    # Words, and Chinese names in pinyin, whose syllables meet as no English word's do (gz, nj, zh).
    for label in ("guangzhou", "xinjiang", "zhongguo", "xinhuanet", "wikipedia", "stackoverflow", "pizza"):
        assert "rare-letters" not in keys(label_shape(label)), label
    # Short parts are initials or a country's code.
    assert "rare-letters" not in keys(label_shape("example-co-jp"))


def test_a_country_s_domain_ending_spelled_with_hyphens():
    assert "suffix-dash" in keys(label_shape("examplestore-co-jp"))
    assert "suffix-dash" in keys(label_shape("secure-com-br-x7"))
    assert "suffix-dash" not in keys(label_shape("coffee-co-op"))
