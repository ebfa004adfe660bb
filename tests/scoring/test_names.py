import pytest
import tldextract

from fraudwall.scoring.names import (
    InvalidName,
    PublicSuffixes,
    is_below,
    normalise_name,
    parents,
    public_suffixes,
    unicode_name,
)
from fraudwall.scoring.scorer import Scorer


@pytest.mark.parametrize("text, name", [
    ("Example.ORG.", "example.org"),
    ("WWW.Example.ORG.", "www.example.org"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
    ("faß.example", "xn--fa-hia.example"),          # IDNA 2008: ß kept, not mapped to ss
    ("_dmarc.example.org", "_dmarc.example.org"),
    ("-edge-.example.org", "-edge-.example.org"),   # real feeds carry edge hyphens
    ("localhost", "localhost"),                      # one label is a name; feeds refuse it themselves
    ("bücher\uff0eexample\u3002", "xn--bcher-kva.example"),   # full-width and ideographic full stops
])
def test_names_are_spelled_lowercase_ascii_without_the_root_dot(text, name):
    assert normalise_name(text) == name


@pytest.mark.parametrize("text, reason", [
    ("a..example.org", "empty label"),
    ("a" * 64 + ".example.org", "63"),
    (".".join(["abcdefghi"] * 26), "253"),
    ("192.0.2.1", "numeric"),
    ("ex ample.org", "not allowed"),
    ("ex@mple.org", "'@' not allowed"),
    ("", "empty"),
    ("xn--zz.example", "internationalised"),
    # Found by the property tests: a Unicode full stop at the end raised StopIteration, which
    # a parser (a generator) turned into a RuntimeError that ended the import.
    ("0\uff0e", "numeric"),
    ("é\uff0e\uff0e", "empty label|internationalised"),
])
def test_invalid_names_are_rejected_with_the_reason(text, reason):
    with pytest.raises(InvalidName, match=reason):
        normalise_name(text)


def test_the_scorer_judges_the_name_the_lists_store():
    """`faß.de` is one name: the scorer speaks of xn--fa-hia.de, never of fass.de (IDNA 2003)."""
    scorer = Scorer(cache_size=0)
    assert scorer.evidence("faß.de") == scorer.evidence("xn--fa-hia.de")
    assert scorer.evidence("faß.de") != scorer.evidence("fass.de")
    with pytest.raises(InvalidName, match="empty label"):
        scorer.score("a..example")


def test_a_name_is_shown_in_unicode_as_written():
    assert unicode_name("www.xn--fa-hia.de") == "www.faß.de"
    assert unicode_name("xn--80ak6aa92e.com") == "\u0430\u0440\u0440\u04cf\u0435.com"   # Cyrillic
    assert unicode_name("xn--zz.example") == "xn--zz.example"                   # not punycode: as written


def test_parents_walk_up_to_the_top_level():
    assert parents("a.b.example.org") == ["a.b.example.org", "b.example.org", "example.org", "org"]
    assert parents("org") == ["org"]


def test_below_means_strictly_under():
    assert is_below("a.example.org", "example.org")
    assert not is_below("example.org", "example.org")
    assert not is_below("badexample.org", "example.org")


def test_one_suffix_list_per_process():
    assert public_suffixes() is public_suffixes()


@pytest.mark.parametrize("name", [
    "example.com", "www.example.co.uk", "a.b.c.example.com.cn", "co.uk", "com", "localhost",
    "1.2.3.4", "www.ck", "a.b.ck", "city.kawasaki.jp", "a.b.kawasaki.jp", "xn--80ak6aa92e.com",
    "a.xn--fiqs8s", "x.unknowntld", "foo.blogspot.com", "amazon.co.jp.0vid.xyz", "login.github.io",
    "a.b.compute.amazonaws.com",
])
def test_splits_at_the_icann_suffix_as_tldextract_does(name):
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    parts = extract.extract_str(name)
    assert tuple(public_suffixes().split(name)) == (parts.subdomain, parts.domain, parts.suffix)


def test_reads_the_two_sections_tldextract_reads():
    icann = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None).tlds
    both = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True).tlds
    suffixes = PublicSuffixes()
    assert set(suffixes._icann_rules) == set(icann)
    assert {rule for rule in both if rule.isascii()} <= suffixes.rules


def test_splits_every_rule_of_the_list_as_tldextract_does():
    # Each rule of either section, bare and with one and two labels in front, in the spelling the
    # scorer sees (punycode): the wildcards, the exceptions, the Unicode rules, the private ones.
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None).extract_str
    suffixes = PublicSuffixes()
    names = set()
    for rule in tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True).tlds:
        bare = rule.replace("*", "x").lstrip("!")
        for name in (bare, f"example.{bare}", f"www.xn--80ak6aa92e.{bare}", f"a.{bare}.example"):
            try:
                names.add(normalise_name(name))
            except InvalidName:
                continue
    assert len(names) > 30_000
    wrong = [(name, suffixes.split(name)) for name in sorted(names) if suffixes.split(name) != _parts(extract(name))]
    assert wrong == []


def test_a_text_that_is_no_name_is_split_as_tldextract_splits_it():
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None).extract_str
    for text in ("WWW.Example.CO.UK", "192.0.2.1", "example.com.", "http://user@www.example.org:8080/x"):
        assert public_suffixes().split(text) == _parts(extract(text))


def _parts(extracted) -> tuple[str, str, str]:
    return extracted.subdomain, extracted.domain, extracted.suffix


@pytest.mark.parametrize("name, suffix", [
    ("com", True), ("co.uk", True), ("github.io", True), ("blogspot.com", True),   # both sections
    ("x.ck", True), ("www.ck", False),                                              # wildcard, exception
    ("xn--55qx5d.cn", True), ("xn--fiqs8s", True),      # 公司.cn, 中国: the list writes them in Unicode
    ("example.com", False), ("login.github.io", False),
])
def test_public_suffixes_of_either_section(name, suffix):
    assert public_suffixes().is_public_suffix(name) is suffix


def test_the_suffix_list_is_never_fetched(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the suffix list was fetched")

    monkeypatch.setattr("socket.socket.connect", refuse)
    suffixes = PublicSuffixes()
    assert suffixes.split("www.example.co.uk") == ("www", "example", "co.uk")


def test_the_reason_for_a_bad_unicode_name_stays_one_short_line():
    # idna quotes the label escaped: 200 control characters made a reason of 857 characters,
    # which a feed's skip line then carried (found by the parsers' property test).
    with pytest.raises(InvalidName, match="internationalised") as raised:
        normalise_name("a" + "\x94" * 200 + ".example")
    assert len(str(raised.value)) < 160
