"""Malformed datagrams get FORMERR, NOTIMP or silence, and the server keeps answering afterwards."""

from __future__ import annotations

import random
import socket
import struct

import pytest

from tests.e2e.dnsclient import FORMERR, NOTIMP, header, opcode_of, query, raw_udp, rcode_of, rdata, udp

pytestmark = pytest.mark.e2e

QR = 0x8000
RD = 0x0100


def assert_still_answers(port: int) -> None:
    reply = udp(port, "www.example.org", "A")
    assert rdata(reply, "A") == ["192.0.2.10"]


def valid_query(ident: int = 0x1234) -> bytes:
    message = query("www.example.org", "A", use_edns=False)
    message.id = ident
    return message.to_wire()


def test_a_truncated_header_gets_no_reply(fraudwall):
    assert raw_udp(fraudwall.port, b"\x12\x34\x01\x00\x00") is None
    assert_still_answers(fraudwall.port)


def test_two_questions_get_formerr(fraudwall):
    wire = valid_query(0x2222)
    question = wire[12:]
    two = wire[:4] + struct.pack("!H", 2) + wire[6:12] + question + question

    reply = raw_udp(fraudwall.port, two)

    assert reply is not None
    assert header(reply)[0] == 0x2222
    assert header(reply)[1] & QR
    assert rcode_of(reply) == FORMERR
    assert_still_answers(fraudwall.port)


def test_an_unknown_opcode_gets_notimp(fraudwall):
    wire = valid_query(0x3333)
    status_opcode = 2 << 11
    flags = struct.unpack("!H", wire[2:4])[0] | status_opcode

    reply = raw_udp(fraudwall.port, wire[:2] + struct.pack("!H", flags) + wire[4:])

    assert reply is not None
    assert header(reply)[0] == 0x3333
    assert rcode_of(reply) == NOTIMP
    assert opcode_of(reply) == 2
    assert_still_answers(fraudwall.port)


def test_garbage_after_a_valid_header_gets_formerr(fraudwall):
    garbage_header = struct.pack("!HHHHHH", 0x4444, RD, 1, 0, 0, 0)

    reply = raw_udp(fraudwall.port, garbage_header + b"\xff\xfe\xfd\xfc\x00\x01")

    assert reply is not None
    assert header(reply)[0] == 0x4444
    assert rcode_of(reply) == FORMERR
    assert_still_answers(fraudwall.port)


def test_a_question_cut_short_gets_formerr(fraudwall):
    wire = valid_query(0x5555)

    reply = raw_udp(fraudwall.port, wire[:-3])

    assert reply is not None
    assert header(reply)[0] == 0x5555
    assert rcode_of(reply) == FORMERR


def test_a_response_is_never_answered(fraudwall):
    """Answering responses would let two resolvers bounce packets at each other forever."""
    wire = valid_query(0x6666)
    flags = struct.unpack("!H", wire[2:4])[0] | QR

    assert raw_udp(fraudwall.port, wire[:2] + struct.pack("!H", flags) + wire[4:]) is None
    assert_still_answers(fraudwall.port)


def test_random_datagrams_do_not_stop_the_server(fraudwall):
    rng = random.Random(20240101)
    blobs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120))) for _ in range(300)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        for blob in blobs:
            sock.sendto(blob, ("127.0.0.1", fraudwall.port))
        replies = []
        try:
            while True:
                replies.append(sock.recv(65535))
        except socket.timeout:
            pass

    sent_ids = {struct.unpack("!H", blob[:2])[0] for blob in blobs if len(blob) >= 2}
    for reply in replies:  # whatever comes back is a response to one of ours, never an echo
        assert header(reply)[1] & QR
        assert header(reply)[0] in sent_ids
    assert_still_answers(fraudwall.port)
