"""The PROXY v2 header: read from bytes, and the gate that says whose bytes start with one."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.proxy import (
    LOG_EVERY,
    MAX_BLOCK,
    SIGNATURE,
    Command,
    ProxyError,
    ProxyGate,
    Refusal,
    build_header,
    local_header,
    read_header,
    starts_header,
)

QUERY = bytes.fromhex("abcd01000001000000000000076578616d706c65036f72670000010001")  # example.org A


def header(version_command: int = 0x21, family_transport: int = 0x12, block: bytes = bytes(12)) -> bytes:
    return SIGNATURE + bytes([version_command, family_transport]) + len(block).to_bytes(2, "big") + block


# ---------------------------------------------------------------- reading

def test_an_ipv4_header_names_the_client_and_the_destination():
    wire = bytes.fromhex("0d0a0d0a000d0a515549540a" "21" "12" "000c" "c0000207" "c6336401" "d431" "0035")
    read = read_header(wire + QUERY)
    assert (read.command, read.client, read.client_port, read.destination, read.destination_port, read.size) == (
        Command.PROXY, "192.0.2.7", 54321, "198.51.100.1", 53, 28)


def test_an_ipv6_header_over_tcp():
    wire = build_header("2001:db8::7", 40000, "2001:db8::53", 53, Transport.TCP)
    assert wire[13] == 0x21   # INET6, STREAM
    read = read_header(wire)
    assert (read.client, read.client_port, read.destination, read.size) == ("2001:db8::7", 40000, "2001:db8::53", 52)


def test_an_ipv4_mapped_client_is_named_as_ipv4_so_access_rules_match():
    assert read_header(build_header("::ffff:192.0.2.7", 1, "::1", 53)).client == "192.0.2.7"


def test_a_local_header_names_no_client():
    read = read_header(local_header() + QUERY)
    assert (read.command, read.client, read.size) == (Command.LOCAL, None, 16)


def test_a_local_header_with_addresses_skips_them():
    read = read_header(header(0x20, 0x11, bytes(12)))
    assert (read.command, read.client, read.size) == (Command.LOCAL, None, 28)


def test_tlvs_are_skipped():
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00"
    read = read_header(build_header("192.0.2.7", 1, "192.0.2.1", 53, tlvs=tlvs) + QUERY)
    assert read.client == "192.0.2.7" and read.size == 28 + len(tlvs)


def test_a_start_of_a_header_needs_more_bytes():
    wire = build_header("192.0.2.7", 1, "192.0.2.1", 53)
    for cut in range(len(wire)):
        assert read_header(wire[:cut]) is None, cut


@pytest.mark.parametrize("wire, error", [
    (QUERY, "no PROXY v2 signature"),
    (b"PROXY TCP4 192.0.2.7 192.0.2.1 1 53\r\n", "no PROXY v2 signature"),   # version 1, text
    (header(0x11), "PROXY header version 1, not 2"),
    (header(0x22), "PROXY header command 0x2, neither LOCAL nor PROXY"),
    (header(0x21, 0x42), "PROXY header address family 0x4 unknown"),
    (header(0x21, 0x13), "PROXY header transport 0x3 unknown"),
    (header(0x21, 0x12, bytes(MAX_BLOCK + 1)), f"PROXY header of {16 + MAX_BLOCK + 1} octets, over the "
                                               f"{16 + MAX_BLOCK} accepted"),
    (header(0x21, 0x00, b""), "PROXY command with address family UNSPEC: no client IP address"),
    (header(0x21, 0x31, bytes(216)), "PROXY command with address family UNIX: no client IP address"),
    (header(0x21, 0x12, bytes(8)), "PROXY header INET address block of 8 octets, needs 12"),
    (header(0x21, 0x22, bytes(12)), "PROXY header INET6 address block of 12 octets, needs 36"),
    (header(0x21, 0x12, bytes(12) + b"\x01\x00"), "PROXY header TLV at octet 28 cut short"),
    (header(0x21, 0x12, bytes(12) + b"\x01\x00\x00\x02"), "PROXY header TLV at octet 31 cut short"),
    (header(0x21, 0x12, bytes(12) + b"\x01\x00\x05ab"), "PROXY header TLV type 0x1 of 5 octets runs past the header"),
])
def test_a_broken_header_is_one_line_saying_what(wire, error):
    with pytest.raises(ProxyError) as raised:
        read_header(wire)
    assert str(raised.value) == error


# ---------------------------------------------------------------- properties

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None))
ports = st.integers(0, 65535)
tlv = st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(
    lambda t: bytes([t[0]]) + len(t[1]).to_bytes(2, "big") + t[1])


@given(addresses, ports, ports, st.lists(tlv, max_size=5), st.binary(max_size=64),
       st.sampled_from([Transport.UDP, Transport.TCP]))
def test_what_is_built_is_read_back(client, client_port, destination_port, tlvs, rest, transport):
    destination = ipaddress.ip_address("192.0.2.53" if client.version == 4 else "2001:db8::53")
    wire = build_header(str(client), client_port, str(destination), destination_port, transport, b"".join(tlvs))
    read = read_header(wire + rest)
    assert (read.client, read.client_port, read.destination, read.destination_port) == (
        str(client), client_port, str(destination), destination_port)
    assert read.size == len(wire)


@given(st.binary(max_size=300))
def test_any_bytes_after_the_signature_are_a_header_more_needed_or_one_error(tail):
    try:
        read = read_header(SIGNATURE + tail)
    except ProxyError as error:
        assert "\n" not in str(error) and str(error)
    else:
        assert read is None or 16 <= read.size <= 16 + len(tail)


@given(st.binary(min_size=1, max_size=100))
def test_bytes_without_the_signature_are_never_read_as_a_header(data):
    if SIGNATURE.startswith(data[:12]):
        return
    with pytest.raises(ProxyError):
        read_header(data)


# ---------------------------------------------------------------- the gate

class Refusals:
    def __init__(self) -> None:
        self.seen: list[tuple[Refusal, Transport]] = []

    def __call__(self, reason: Refusal, transport: Transport) -> None:
        self.seen.append((reason, transport))


def test_a_trusted_senders_datagram_carries_the_client_it_names():
    gate = ProxyGate(("127.0.0.1/32",))
    wire = build_header("192.0.2.7", 5353, "127.0.0.1", 53) + QUERY
    assert gate.datagram(wire, "127.0.0.1") == (QUERY, "192.0.2.7")


def test_a_health_check_speaks_for_the_sender():
    gate = ProxyGate(("127.0.0.1/32",))
    assert gate.datagram(local_header() + QUERY, "127.0.0.1") == (QUERY, "127.0.0.1")


def test_plain_dns_from_anyone_else_is_served_as_sent():
    gate = ProxyGate(("127.0.0.1/32",))
    assert gate.datagram(QUERY, "127.0.0.2") == (QUERY, "127.0.0.2")
    assert ProxyGate().datagram(QUERY, "127.0.0.1") == (QUERY, "127.0.0.1")


@pytest.mark.parametrize("trusted", [(), ("10.0.0.0/8",)])
def test_a_header_from_an_untrusted_sender_is_dropped_and_counted(trusted):
    refusals = Refusals()
    gate = ProxyGate(trusted, refusals)
    assert gate.datagram(build_header("10.0.0.1", 1, "127.0.0.1", 53) + QUERY, "127.0.0.2") is None
    assert refusals.seen == [(Refusal.UNTRUSTED, Transport.UDP)]


def test_a_trusted_sender_without_a_header_or_with_a_broken_one_is_dropped_and_counted():
    refusals = Refusals()
    gate = ProxyGate(("127.0.0.0/30", "::1/128"), refusals)
    assert gate.datagram(QUERY, "127.0.0.1") is None
    assert gate.datagram(header(0x21, 0x12, bytes(8)) + QUERY, "::1") is None
    assert gate.datagram(build_header("192.0.2.7", 1, "127.0.0.1", 53)[:20], "127.0.0.2") is None
    assert refusals.seen == [(Refusal.MISSING, Transport.UDP), (Refusal.MALFORMED, Transport.UDP),
                             (Refusal.MALFORMED, Transport.UDP)]


def test_refusals_are_logged_at_most_once_a_period(caplog):
    now = [1000.0]
    gate = ProxyGate(("127.0.0.1/32",), clock=lambda: now[0])
    with caplog.at_level("WARNING"):
        for _ in range(5):
            gate.datagram(QUERY, "127.0.0.1")
        now[0] += LOG_EVERY
        gate.datagram(QUERY, "127.0.0.1")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("refused a udp datagram from 127.0.0.1: no PROXY v2 signature")


def test_an_ipv4_mapped_sender_is_trusted_by_its_ipv4_network():
    assert ProxyGate(("127.0.0.1/32",)).trusts("::ffff:127.0.0.1")
    assert not ProxyGate(("127.0.0.1/32",)).trusts("127.0.0.2")


def test_the_start_of_a_tcp_stream():
    assert starts_header(SIGNATURE + b"\x21") is True
    assert starts_header(SIGNATURE[:5]) is None
    assert starts_header(b"\x00\x1d" + QUERY[:10]) is False
    assert starts_header(b"\r\n\r\nX") is False
