"""Answers forwarded from a real NSD through `fraudwall serve`: records, negative answers, sizes, the cache."""

from __future__ import annotations

import time

import dns.flags
import dns.message
import dns.rdatatype
import pytest

from tests.e2e.dnsclient import (NOERROR, NXDOMAIN, answer_ttls, ede_codes, is_truncated, query, rdata, tcp,
                       tcp_exchange_many, udp)
from tests.e2e.peers import BIG_TXT_STRINGS, MEDIUM_TXT_STRINGS, PIPELINED

pytestmark = pytest.mark.e2e


def test_a_record(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "A") == ["192.0.2.10"]
    assert answer_ttls(reply) == [300]


def test_reply_is_recursive_not_authoritative(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A")

    assert reply.flags & dns.flags.QR
    assert reply.flags & dns.flags.RA
    assert reply.flags & dns.flags.RD
    assert not reply.flags & dns.flags.AA


def test_aaaa_record(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "AAAA")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "AAAA") == ["2001:db8::10"]


def test_cname_chain_within_the_zone(fraudwall):
    reply = udp(fraudwall.port, "alias.example.org", "A")

    assert reply.rcode() == NOERROR
    assert [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), [r.to_text() for r in rrset])
            for rrset in reply.answer] == [
        ("alias.example.org.", "CNAME", ["alias2.example.org."]),
        ("alias2.example.org.", "CNAME", ["www.example.org."]),
        ("www.example.org.", "A", ["192.0.2.10"]),
    ]


def test_nxdomain_carries_the_soa_in_authority(fraudwall):
    reply = udp(fraudwall.port, "no-such-name.example.org", "A")

    assert reply.rcode() == NXDOMAIN
    assert reply.answer == []
    assert [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype)) for rrset in reply.authority] == [
        ("example.org.", "SOA")]
    assert reply.authority[0].ttl == 60  # min(SOA TTL 3600, SOA MINIMUM 60), as NSD sends it


def test_nodata_is_noerror_with_soa_and_no_answer(fraudwall):
    reply = udp(fraudwall.port, "v4only.example.org", "AAAA")

    assert reply.rcode() == NOERROR
    assert reply.answer == []
    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in reply.authority] == ["SOA"]


def test_question_case_is_echoed(fraudwall):
    reply = udp(fraudwall.port, "WwW.ExAmPlE.org", "A")

    assert reply.question[0].name.to_text() == "WwW.ExAmPlE.org."
    assert rdata(reply, "A") == ["192.0.2.10"]


def test_question_case_is_echoed_on_a_cache_hit(fraudwall):
    udp(fraudwall.port, "www.example.org", "AAAA")
    reply = udp(fraudwall.port, "WWW.EXAMPLE.ORG", "AAAA")

    assert reply.question[0].name.to_text() == "WWW.EXAMPLE.ORG."
    assert rdata(reply, "AAAA") == ["2001:db8::10"]


def test_answers_on_the_ipv6_listener(fraudwall):
    over_udp = udp(fraudwall.port, "www.example.org", "A", host="::1")
    over_tcp = tcp(fraudwall.port, "www.example.org", "A", host="::1")

    assert rdata(over_udp, "A") == ["192.0.2.10"]
    assert rdata(over_tcp, "A") == ["192.0.2.10"]


# ---------------------------------------------------------------- sizes, EDNS and truncation

def test_large_txt_over_edns_udp_is_truncated(fraudwall):
    reply = udp(fraudwall.port, "big.example.org", "TXT", use_edns=0, payload=1232)

    assert is_truncated(reply)
    assert reply.rcode() == NOERROR
    assert reply.answer == []


def test_large_txt_over_tcp_is_whole(fraudwall):
    """NSD truncates it over UDP, so fraudwall itself has to fetch it from NSD over TCP."""
    reply = tcp(fraudwall.port, "big.example.org", "TXT", use_edns=0, payload=1232)

    assert not is_truncated(reply)
    assert reply.rcode() == NOERROR
    [strings] = [item.strings for rrset in reply.answer for item in rrset]
    assert strings == tuple(bytes([97 + index]) * 255 for index in range(BIG_TXT_STRINGS))
    assert len(reply.to_wire()) > 1232


def test_client_payload_above_1232_is_capped_at_1232(fraudwall):
    """A client that offers 4096 still gets at most 1232 bytes over UDP: the big TXT comes truncated."""
    reply = udp(fraudwall.port, "big.example.org", "TXT", use_edns=0, payload=4096)

    assert is_truncated(reply)
    assert reply.answer == []


def test_reply_between_512_and_1232_fits_edns_udp(fraudwall):
    reply = udp(fraudwall.port, "medium.example.org", "TXT", use_edns=0, payload=4096)

    assert not is_truncated(reply)
    assert len(reply.answer[0][0].strings) == MEDIUM_TXT_STRINGS
    assert 512 < len(reply.to_wire()) <= 1232


def test_reply_over_512_is_truncated_for_a_client_without_edns(fraudwall):
    reply = udp(fraudwall.port, "medium.example.org", "TXT", use_edns=False)

    assert is_truncated(reply)
    assert reply.answer == []
    assert reply.edns == -1


def test_reply_advertises_1232_in_its_opt(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A", use_edns=0, payload=4096)

    assert reply.edns == 0
    assert reply.payload == 1232


def test_no_opt_in_the_reply_when_the_query_had_none(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A", use_edns=False)

    assert reply.edns == -1
    assert rdata(reply, "A") == ["192.0.2.10"]


def test_do_bit_is_echoed(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A", use_edns=0, want_dnssec=True)

    assert reply.ednsflags & dns.flags.DO


def test_unknown_edns_version_gets_badvers(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A", use_edns=1)

    assert reply.rcode() == dns.rcode.BADVERS
    assert reply.answer == []


# ---------------------------------------------------------------- the cache

def test_ttl_counts_down_on_cache_hits(fraudwall):
    first = udp(fraudwall.port, "countdown.example.org", "A")
    asked = time.monotonic()
    # Asked again until the cached TTL has gone down twice, each answer checked against the clock.
    deadline = asked + 5.0
    while True:
        second = udp(fraudwall.port, "countdown.example.org", "A")
        elapsed = time.monotonic() - asked
        ttl = answer_ttls(second)[0]
        assert 100 - ttl <= elapsed + 1, f"TTL {ttl} after only {elapsed:.2f} s"
        if ttl <= 98 or time.monotonic() > deadline:
            break
        time.sleep(0.05)   # poll pacing only: the assertions compare against the clock

    assert answer_ttls(first) == [100]
    assert ttl == 98 and elapsed >= 1.0   # whole seconds down, never faster than the clock
    assert rdata(second, "A") == ["192.0.2.101"]


def test_negative_answer_is_served_from_the_cache_with_its_soa(fraudwall):
    udp(fraudwall.port, "negative-cached.example.org", "A")
    reply = udp(fraudwall.port, "Negative-Cached.example.org", "A")

    assert reply.rcode() == NXDOMAIN
    assert reply.question[0].name.to_text() == "Negative-Cached.example.org."
    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in reply.authority] == ["SOA"]
    assert reply.authority[0].ttl <= 60


# ---------------------------------------------------------------- TCP

def test_pipelined_queries_on_one_tcp_connection_are_all_answered(fraudwall):
    messages = {}
    for index, name in enumerate(PIPELINED):
        message = query(f"{name}.example.org", "A")
        message.id = 1000 + index
        messages[message.id] = (name, message)

    replies = tcp_exchange_many(fraudwall.port, [message.to_wire() for _, message in messages.values()])

    by_id = {}
    for wire in replies:
        reply = dns.message.from_wire(wire)
        by_id[reply.id] = reply
    assert sorted(by_id) == sorted(messages)
    for ident, (name, _) in messages.items():
        index = PIPELINED.index(name)
        assert by_id[ident].question[0].name.to_text() == f"{name}.example.org."
        assert rdata(by_id[ident], "A") == [f"192.0.2.{200 + index}"]


def test_tcp_connection_stays_open_for_a_second_query(fraudwall):
    first = query("www.example.org", "A")
    second = query("www.example.org", "AAAA")

    replies = tcp_exchange_many(fraudwall.port, [first.to_wire(), second.to_wire()])

    types = sorted(dns.message.from_wire(wire).question[0].rdtype for wire in replies)
    assert types == [dns.rdatatype.A, dns.rdatatype.AAAA]


def test_resolved_answers_carry_no_ede(fraudwall):
    reply = udp(fraudwall.port, "www.example.org", "A", use_edns=0)

    assert ede_codes(reply) == []
