"""The codec: bytes in, small types out, and back; no input raises."""

import random
import struct

import dns.flags
import dns.message
import dns.rcode
import pytest
from fraudwall.resolver.dns import codec
from fraudwall.resolver.dns.codec import (
    Malformed,
    Query,
    read_query,
    render,
    scan_reply,
    strip_opt,
)
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Rcode, Transport

from tests.resolver.helpers import ede_of, make_query, parse, query_wire, upstream_reply


def test_reads_name_type_class_and_keeps_the_clients_case():
    query = make_query("WwW.ExAmPlE.org", "AAAA")
    assert query.qname == "www.example.org"
    assert query.qtype == 28 and query.qclass == 1
    assert query.question[:4] == b"\x03WwW"


def test_cache_key_ignores_case_but_not_the_do_bit():
    plain = make_query("WWW.example.org")
    lower = make_query("www.example.org")
    signed = make_query("www.example.org", want_dnssec=True)
    assert plain.key == lower.key
    assert signed.key != lower.key
    assert make_query("www.example.org", "AAAA").key != lower.key


def test_reads_edns_size_and_do_bit():
    query = make_query(use_edns=0, payload=4096, want_dnssec=True)
    assert query.edns_size == 4096 and query.do
    plain = make_query(use_edns=False)
    assert plain.edns_size == 0 and not plain.do


def test_root_name():
    query = make_query(".", "NS")
    assert query.qname == ""


@pytest.mark.parametrize("wire", [b"", b"\x12", b"\x00" * 11])
def test_shorter_than_a_header_gets_silence(wire):
    outcome = read_query(wire)
    assert isinstance(outcome, Malformed) and outcome.reply is None


def test_a_response_is_never_answered():
    wire = bytearray(query_wire())
    wire[2] |= 0x80
    outcome = read_query(bytes(wire))
    assert isinstance(outcome, Malformed) and outcome.reply is None


def test_other_opcodes_get_notimp():
    message = dns.message.make_query("www.example.org", "A")
    message.set_opcode(dns.opcode.UPDATE)
    outcome = read_query(message.to_wire())
    assert outcome.kind is AnswerKind.NOTIMP
    reply = parse(outcome.reply)
    assert reply.rcode() == dns.rcode.NOTIMP and reply.id == message.id


def test_two_questions_get_formerr():
    wire = bytearray(query_wire())
    struct.pack_into("!H", wire, 4, 2)
    outcome = read_query(bytes(wire))
    assert outcome.kind is AnswerKind.FORMERR
    assert parse(outcome.reply).rcode() == dns.rcode.FORMERR


def test_a_question_cut_short_gets_formerr_with_the_id():
    wire = query_wire(use_edns=False)[:-3]
    outcome = read_query(wire)
    assert outcome.kind is AnswerKind.FORMERR
    assert outcome.reply[:2] == wire[:2]


def test_a_compression_pointer_in_the_question_gets_formerr():
    wire = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    assert read_query(wire).kind is AnswerKind.FORMERR


def test_a_label_longer_than_63_gets_formerr():
    wire = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
    assert read_query(wire).kind is AnswerKind.FORMERR


def test_a_name_longer_than_255_octets_gets_formerr():
    name = (b"\x3f" + b"a" * 63) * 4 + b"\x00"
    wire = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
    assert read_query(wire).kind is AnswerKind.FORMERR


def test_edns_version_1_gets_badvers():
    message = dns.message.make_query("www.example.org", "A", use_edns=1)
    outcome = read_query(message.to_wire())
    reply = parse(outcome.reply)
    assert reply.rcode() == dns.rcode.BADVERS


def test_two_opt_records_get_formerr():
    wire = bytearray(query_wire(use_edns=0))
    opt = bytes(wire[-11:])
    struct.pack_into("!H", wire, 10, 2)
    assert read_query(bytes(wire) + opt).kind is AnswerKind.FORMERR


def test_no_input_raises():
    generator = random.Random(1)
    seed = query_wire(use_edns=0, want_dnssec=True)
    for _ in range(20_000):
        wire = bytearray(seed)
        for _ in range(generator.randint(1, 6)):
            wire[generator.randrange(len(wire))] = generator.randrange(256)
        wire = bytes(wire[:generator.randint(0, len(wire))]) if generator.random() < 0.3 else bytes(wire)
        outcome = read_query(wire)
        assert isinstance(outcome, (Query, Malformed))
        scan_reply(wire)


def test_render_adds_an_opt_with_edns_only_when_the_client_sent_one():
    with_edns = make_query(use_edns=0, payload=4096)
    without = make_query(use_edns=False)
    body = codec.make_reply(with_edns, Rcode.NOERROR)
    assert parse(render(with_edns, body)).edns == 0
    assert parse(render(with_edns, body)).payload == codec.EDNS_SIZE
    assert parse(render(without, codec.make_reply(without, Rcode.NOERROR))).edns == -1


def test_render_carries_an_extended_dns_error():
    query = make_query(use_edns=0)
    wire = render(query, codec.make_reply(query, Rcode.NOERROR), (EDECode.BLOCKED, "listed in demo"))
    assert ede_of(parse(wire)) == [(15, "listed in demo")]


def test_render_echoes_the_do_bit():
    query = make_query(use_edns=0, want_dnssec=True)
    reply = parse(render(query, codec.make_reply(query, Rcode.NOERROR)))
    assert reply.ednsflags & dns.flags.DO


def _big_reply(query: Query, strings: int) -> bytes:
    text = " ".join(f'"{i:03d}{"y" * 196}"' for i in range(strings))
    wire = upstream_reply(query, f"www.example.org. 300 TXT {text}")
    scan = scan_reply(wire)
    return strip_opt(wire, scan)


def test_a_reply_too_big_for_a_client_without_edns_is_truncated_at_512():
    query = make_query("www.example.org", "TXT", use_edns=False)
    wire = render(query, codec.for_client(_big_reply(query, 3), query))
    reply = parse(wire)
    assert len(wire) <= 512
    assert reply.flags & dns.flags.TC and not reply.answer
    assert reply.question[0].name.to_text() == "www.example.org."


def test_edns_clients_get_up_to_1232_over_udp_whatever_they_advertise():
    query = make_query("www.example.org", "TXT", use_edns=0, payload=4096)
    fits = render(query, codec.for_client(_big_reply(query, 5), query))
    assert 1000 < len(fits) <= 1232 and not parse(fits).flags & dns.flags.TC
    too_big = render(query, codec.for_client(_big_reply(query, 7), query))
    assert parse(too_big).flags & dns.flags.TC


def test_tcp_replies_are_never_truncated():
    query = make_query("www.example.org", "TXT", transport=Transport.TCP, use_edns=False)
    wire = render(query, codec.for_client(_big_reply(query, 7), query))
    assert len(wire) > 1232 and not parse(wire).flags & dns.flags.TC


def test_scan_finds_ttls_cnames_addresses_and_negative_ttl():
    query = make_query("alias.example.org")
    wire = upstream_reply(query, "alias.example.org. 300 CNAME www.example.net.",
                          "www.example.net. 120 A 192.0.2.7", "www.example.net. 60 AAAA 2001:db8::7")
    scan = scan_reply(wire)
    assert scan.cname_targets == ("www.example.net",)
    assert scan.addresses == ("192.0.2.7", "2001:db8::7")
    assert scan.min_ttl == 60
    assert [wire[offset:offset + 4] for offset, _ in scan.ttls] == [
        struct.pack("!I", 300), struct.pack("!I", 120), struct.pack("!I", 60)]

    negative = upstream_reply(query, rcode=3, authority=(
        "example.org. 900 SOA ns1.example.org. hostmaster.example.org. 1 3600 600 86400 120",))
    scan = scan_reply(negative)
    assert scan.rcode == Rcode.NXDOMAIN and scan.negative_ttl == 120 and scan.min_ttl is None


def test_strip_opt_removes_the_upstreams_opt():
    query = make_query(use_edns=0)
    wire = upstream_reply(query, "www.example.org. 300 A 192.0.2.1")
    body = strip_opt(wire, scan_reply(wire))
    reply = parse(body)
    assert reply.edns == -1 and reply.answer[0][0].address == "192.0.2.1"


def test_an_upstream_reply_with_two_opt_records_is_not_read():
    query = make_query(use_edns=0)
    wire = upstream_reply(query, "www.example.org. 300 A 192.0.2.1")
    opt = wire[scan_reply(wire).opt_span[0]:scan_reply(wire).opt_span[1]]
    doubled = wire[:10] + struct.pack("!H", struct.unpack_from("!H", wire, 10)[0] + 1) + wire[12:] + opt
    assert scan_reply(doubled) is None   # RFC 6891 6.1.1: one OPT at most; the forwarder tries elsewhere


def test_for_client_sets_id_case_and_recursion_flags():
    query = make_query("WWW.example.org")
    upstream = dns.message.from_wire(upstream_reply(make_query("www.example.org"), "www.example.org. 300 A 192.0.2.1"))
    upstream.flags |= dns.flags.AA
    upstream.flags &= ~dns.flags.RA
    body = codec.for_client(upstream.to_wire(), query)
    reply = parse(body)
    assert reply.id == query.id
    assert reply.flags & dns.flags.RA and not reply.flags & dns.flags.AA
    assert body[12:12 + len(query.question)] == query.question


def test_upstream_query_has_fresh_id_lowercase_question_and_edns():
    query = make_query("WWW.Example.org", want_dnssec=True)
    message = parse(codec.make_upstream_query(query, 4242))
    assert message.id == 4242
    assert message.question[0].name.to_text() == "www.example.org."
    assert message.flags & dns.flags.RD
    assert message.payload == codec.EDNS_SIZE and message.ednsflags & dns.flags.DO


def test_compression_loops_are_rejected():
    wire = struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\x00\x00\x01\x00\x01" + \
        b"\xc0\x11" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x1d"
    assert scan_reply(wire) is None


def test_a_remembered_question_reads_exactly_like_a_new_one():
    known = {}
    generator = random.Random(7)
    seeds = [query_wire(name, rdtype, use_edns=edns) for name in ("www.example.org", "WWW.Example.ORG", ".")
             for rdtype in ("A", "TXT") for edns in (False, 0)]
    for _ in range(5000):
        wire = bytearray(generator.choice(seeds))
        if generator.random() < 0.5:
            wire[generator.randrange(len(wire))] = generator.randrange(256)
        wire = bytes(wire[:generator.randint(12, len(wire))]) if generator.random() < 0.2 else bytes(wire)
        assert read_query(wire, known=known) == read_query(wire)
    assert known


def test_a_reply_whose_question_is_cut_short_cannot_be_read():
    # Hypothesis found it: the header and a root name without its type and class once scanned as a
    # reply that ends past its own last byte.
    assert scan_reply(b"\x00\x00\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00") is None
    assert scan_reply(b"\x00\x00\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01") is None
