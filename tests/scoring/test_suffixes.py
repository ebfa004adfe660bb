import tldextract
import pytest

from fraudwall.scoring.suffixes import SuffixList


@pytest.fixture(scope="module")
def suffixes():
    return SuffixList()


@pytest.mark.parametrize("name", [
    "example.com", "www.example.co.uk", "a.b.c.example.com.cn", "co.uk", "com", "localhost",
    "1.2.3.4", "www.ck", "a.b.ck", "city.kawasaki.jp", "a.b.kawasaki.jp", "xn--80ak6aa92e.com",
    "a.xn--fiqs8s", "x.unknowntld", "foo.blogspot.com", "amazon.co.jp.0vid.xyz",
])
def test_splits_as_tldextract_does(suffixes, name):
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    parts = extract.extract_str(name)
    assert tuple(suffixes.split(name)) == (parts.subdomain, parts.domain, parts.suffix)
