"""Slots held by clients: bounded in all and per client network."""

from fraudwall.resolver.dns.quota import Quota, client_network


def test_a_client_network_is_an_ipv4_address_or_an_ipv6_slash_56():
    assert client_network("192.0.2.1") == "192.0.2.1"
    assert client_network("2001:db8:0:1::1") == client_network("2001:db8:0:ff:1:2:3:4") == "2001:db8::/56"
    assert client_network("2001:db8:0:100::1") == "2001:db8:0:100::/56"
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_network("fe80::1%eth0") == "fe80::/56"


def test_one_client_holds_at_most_its_share_and_all_at_most_the_total():
    quota = Quota(total=3, per_client=2)
    assert [quota.take("a"), quota.take("a"), quota.take("a")] == ["", "", Quota.CLIENT]
    assert [quota.take("b"), quota.take("c")] == ["", Quota.TOTAL]
    quota.give_back("a")
    assert quota.take("c") == ""
    assert quota.held == 3 and quota.held_by("a") == 1


def test_giving_back_what_was_never_taken_changes_nothing():
    quota = Quota(total=2, per_client=1)
    quota.give_back("a")
    assert quota.held == 0
    assert [quota.take("a"), quota.take("b")] == ["", ""]
