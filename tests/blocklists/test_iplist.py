from fraudwall.blocklists.formats import SkipReason, iplist

from .blocklist_helpers import run


def test_addresses_and_networks_of_both_families():
    text = "# Spamhaus DROP style\n192.0.2.1\n198.51.100.0/24 ; SBL123\n2001:db8::/32\n2001:DB8::1 # host\n10.1.2.3/8\n"
    entries, skips = run(iplist.parse, text)
    assert [e.network for e in entries] == ["192.0.2.1", "198.51.100.0/24", "2001:db8::/32", "2001:db8::1", "10.0.0.0/8"]
    assert skips == []


def test_a_bad_line_is_skipped():
    entries, skips = run(iplist.parse, "192.0.2.300\n192.0.2.1-192.0.2.9\n203.0.113.5\n")
    assert [e.network for e in entries] == ["203.0.113.5"]
    assert [(s.line, s.reason) for s in skips] == [(1, SkipReason.INVALID_ADDRESS), (2, SkipReason.INVALID_ADDRESS)]
