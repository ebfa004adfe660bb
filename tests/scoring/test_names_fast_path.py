"""The quick paths of `names.py` give what the careful ones give: `normalise_name`'s one pattern
for ASCII names, and `PublicSuffixes.split`'s set lookups for the usual names."""

from hypothesis import given, settings, strategies as st
import tldextract

from fraudwall.scoring.names import InvalidName, PublicSuffixes, normalise_name

# No x or n: no `xn--`, so every name here is ASCII and judged by the rules below alone.
_CHARACTERS = "ab09_-"
_LABEL = st.text(alphabet=_CHARACTERS, max_size=66) | st.sampled_from(["a" * 63, "0" * 63, "a" * 64, "1", ""])


def _is_name(text: str) -> bool:
    """The definition: labels of 1-63 letters, digits, hyphens, underscores, at most 253 in all, the last
    not all digits."""
    labels = text.split(".")
    return (len(text) <= 253 and all(0 < len(label) <= 63 for label in labels)
            and not labels[-1].isdigit())


@settings(max_examples=3000, deadline=None)
@given(st.lists(_LABEL, min_size=1, max_size=8), st.booleans(), st.booleans())
def test_an_ascii_name_is_taken_exactly_when_its_labels_are_labels(labels, upper, root):
    text = ".".join(labels)
    if upper and len(text) < 200:
        text = text + "." + "b" * 60    # a long name now and then: 253 is a limit too
    written = (text.upper() if upper else text) + ("." if root else "")
    try:
        name = normalise_name(written)
    except InvalidName:
        name = None
    # The root's dot is no label; nor is a second one (the careful path takes it off too: `example.org..`).
    meant = (text + "." * root).removesuffix(".").removesuffix(".")
    assert name == (meant if _is_name(meant) else None)


def test_the_usual_names_split_as_tldextract_splits_them():
    # Under a suffix of one label, of two (co.uk, com.cn), of one that ends longer ones (gr: com.gr is one),
    # under wildcards and exceptions, and names that are the suffix itself or more than it.
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None).extract_str
    suffixes = PublicSuffixes()
    for name in ["example.com", "www.example.com", "a.b.example.co.uk", "co.uk", "example.co.uk", "uk",
                 "x.google.gr", "google.gr", "gr", "www.google.com.gr", "a.b.c.example.com.cn", "example.cn",
                 "www.ck", "a.www.ck", "x.ck", "a.x.ck", "b.a.x.ck", "a.b.kawasaki.jp", "city.kawasaki.jp",
                 "a.city.kawasaki.jp", "a.b.c.kawasaki.jp", "example.unknowntld", "a.example.unknowntld",
                 "a.b.gov.uk", "a.b.sch.uk", "c.a.b.sch.uk", "example.xn--p1ai", "a.example.xn--p1ai",
                 "a.xn--80ak6aa92e.com", "a.b.xn--55qx5d.cn", "xn--55qx5d.cn", "a.xn--55qx5d.cn", "example.com.cn",
                 "com.cn", "a.b.pvt.k12.ma.us", "k12.ma.us", "a.b.nom.br", "a.blogspot.com", "a.github.io"]:
        parts = extract(name)
        assert suffixes.split(name) == (parts.subdomain, parts.domain, parts.suffix), name


def test_a_rule_in_unicode_is_known_in_punycode_and_one_that_maps_to_ascii_at_once():
    # The Unicode rules are spelled in punycode when a name that could meet one is first asked about;
    # a rule that UTS 46 maps to ASCII (full-width letters) is spelled at once, an ASCII name can meet it.
    icann = ("com", "cn", "公司.cn", "*.网络.cn", "!www.网络.cn", "ｅｘａｍｐｌｅ.jp", "jp", "\u212aing.jp", "bad\u200d.jp")
    suffixes = PublicSuffixes((icann, ()))
    for name, suffix in [("example.jp", True), ("king.jp", True), ("com", True), ("jp", True), ("a.jp", False),
                         ("xn--55qx5d.cn", True), ("x.xn--io0a7i.cn", True), ("www.xn--io0a7i.cn", False),
                         ("xn--io0a7i.cn", False), ("a.xn--55qx5d.cn", False)]:
        assert suffixes.is_public_suffix(name) is suffix, name
    assert {"xn--55qx5d.cn", "*.xn--io0a7i.cn", "!www.xn--io0a7i.cn", "example.jp", "king.jp",
            "bad\u200d.jp"} <= suffixes.rules
