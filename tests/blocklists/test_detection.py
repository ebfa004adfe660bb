import pytest
from fraudwall.blocklists.formats import Format, detect_format


@pytest.mark.parametrize("text, format", [
    ("# hosts\n127.0.0.1 localhost\n0.0.0.0 a.example.org\n", Format.HOSTS),
    ("# list\na.example.org\n*.b.example.org\n", Format.DOMAINS),
    ("[Adblock Plus 2.0]\n! Title: x\n||a.example.org^\n", Format.ADBLOCK),
    ("! Title: x\n||a.example.org^$important\n", Format.ADBLOCK),
    ("$TTL 300\n@ SOA ns. h. 1 2 3 4 5\nx CNAME .\n", Format.RPZ),
    ("a.example.org CNAME .\nb.example.org CNAME rpz-passthru.\n", Format.RPZ),
    ("####\n# abuse.ch URLhaus Database Dump\n# id,dateadded,url\n\"1\",\"2\",\"http://a.example.org/\"\n", Format.URLHAUS),
    ("phish_id,url,phish_detail_url\n1,http://a.example.org/,x\n", Format.PHISHTANK_CSV),
    ('[{"phish_id": "1", "url": "http://a.example.org/"}]', Format.PHISHTANK_JSON),
    ("https://a.example.org/login\nhttp://b.example.org/\n", Format.OPENPHISH),
    ("192.0.2.1\n198.51.100.0/24\n2001:db8::/32\n", Format.IPLIST),
    # Spamhaus DROP: a network and its `;` comment are no hosts line (read as hosts, every line was bad).
    ("; Spamhaus DROP List\n100.128.0.0/24 ; SBL123\n100.129.0.0/22 ; SBL456\n", Format.IPLIST),
    ("100.128.0.7 ; listed 2024-05-01\n", Format.IPLIST),
])
def test_the_format_is_detected_from_the_content(text, format):
    assert detect_format(text.splitlines()) is format
