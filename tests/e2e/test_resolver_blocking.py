"""Blocked names get the sinkhole answer with EDE 15; clients outside `[access] allow` get REFUSED."""

from __future__ import annotations

import pytest

from tests.e2e.dnsclient import NOERROR, NXDOMAIN, REFUSED, SERVFAIL, answer_ttls, ede_codes, rdata, tcp, udp

pytestmark = pytest.mark.e2e

BLOCKED = "icbc-tuikuan.example.com"
EDE_BLOCKED = 15
EDE_PROHIBITED = 18


def test_blocked_name_gets_the_ipv4_sinkhole(fraudwall):
    reply = udp(fraudwall.port, BLOCKED, "A")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "A") == ["0.0.0.0"]
    assert answer_ttls(reply) == [60]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_blocked_name_gets_the_ipv6_sinkhole(fraudwall):
    reply = udp(fraudwall.port, BLOCKED, "AAAA")

    assert rdata(reply, "AAAA") == ["::"]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_blocked_name_gets_nodata_for_other_types(fraudwall):
    reply = udp(fraudwall.port, BLOCKED, "TXT")

    assert reply.rcode() == NOERROR
    assert reply.answer == []
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_subdomains_of_a_blocked_name_are_blocked(fraudwall):
    reply = udp(fraudwall.port, "login.secure." + BLOCKED, "A")

    assert rdata(reply, "A") == ["0.0.0.0"]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_blocked_name_matches_whatever_its_case(fraudwall):
    reply = udp(fraudwall.port, "ICBC-Tuikuan.Example.COM", "A")

    assert reply.question[0].name.to_text() == "ICBC-Tuikuan.Example.COM."
    assert rdata(reply, "A") == ["0.0.0.0"]


def test_blocked_name_is_sinkholed_over_tcp_too(fraudwall):
    reply = tcp(fraudwall.port, BLOCKED, "A")

    assert rdata(reply, "A") == ["0.0.0.0"]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_a_parent_of_a_blocked_name_is_not_blocked(fraudwall):
    """example.com is not in the list: it is forwarded; NSD (serving only example.org) refuses it, and an
    upstream that refuses is a failed upstream, so the client gets SERVFAIL, not a block."""
    reply = udp(fraudwall.port, "example.com", "A")

    assert reply.rcode() == SERVFAIL
    assert EDE_BLOCKED not in ede_codes(reply)


def test_an_alias_to_a_blocked_name_is_blocked(fraudwall):
    """to-blocked.example.org is a CNAME to the blocked demo name: the inspect stage catches the alias."""
    reply = udp(fraudwall.port, "to-blocked.example.org", "A")

    assert rdata(reply, "A") == ["0.0.0.0"]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_sinkhole_ipv4_flag_changes_the_answer(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], "--sinkhole-ipv4", "192.0.2.1")

    reply = udp(fraudwall.port, BLOCKED, "A")

    assert rdata(reply, "A") == ["192.0.2.1"]
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_empty_sinkhole_ipv6_flag_gives_nodata_for_aaaa(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], "--sinkhole-ipv6", "")

    reply = udp(fraudwall.port, BLOCKED, "AAAA")

    assert reply.rcode() == NOERROR
    assert reply.answer == []
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_nxdomain_policy_answers_blocked_names_with_nxdomain(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], policy="nxdomain")

    reply = udp(fraudwall.port, BLOCKED, "A")

    assert reply.rcode() == NXDOMAIN
    assert reply.answer == []
    assert ede_codes(reply) == [EDE_BLOCKED]


def test_client_outside_access_allow_is_refused(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], allow=("10.0.0.0/8",))

    reply = udp(fraudwall.port, "www.example.org", "A")

    assert reply.rcode() == REFUSED
    assert reply.answer == []
    assert ede_codes(reply) == [EDE_PROHIBITED]


def test_refused_client_gets_no_sinkhole_either(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], allow=("10.0.0.0/8",))

    reply = tcp(fraudwall.port, BLOCKED, "A")

    assert reply.rcode() == REFUSED
    assert reply.answer == []
