"""Valid DNS messages and the ways a fuzzer breaks them: shared by the codec's property tests
(tests/resolver/test_codec_properties.py, hypothesis draws the mutations) and benchmarks/fuzz.py
(random.Random draws them, a million times, against a live server).

A mutation is (kind, position, value); `mutate` applies one, taking the position modulo the
message's length, so any draw applies to any message.
"""

from __future__ import annotations

import random

import dns.edns
import dns.message
import dns.rrset

# The OPT record's fields, by offset from its root owner octet: payload size, extended rcode,
# version, flags, RDLENGTH, the first option's code and length.
OPT_FIELDS = ((3, 2), (5, 1), (6, 1), (7, 2), (9, 2), (11, 2), (13, 2))
# Label-length octets that mean something else: 0 ends a name, 0x40 and 0x80 are extended label
# types, 0xC0 and up start a compression pointer.
AWKWARD_OCTETS = (0, 1, 2, 0x3F, 0x40, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xFF)
AWKWARD_COUNTS = (0, 1, 2, 3, 0x29, 0xFF, 0x8000, 0xFFFF)
KINDS = ("flip", "truncate", "extend", "insert", "duplicate", "octet", "pointer", "count", "opt")
MAX_POSITION = 600


def query_wire(name: str, rdtype: str = "A", rdclass: str = "IN", **options) -> bytes:
    return dns.message.make_query(name, rdtype, rdclass, **options).to_wire()


def query_with_additional(name: str) -> bytes:
    """A query carrying a record whose owner is a compression pointer to the question's name."""
    message = dns.message.make_query(name, "A", use_edns=0, payload=1232)
    message.additional.append(dns.rrset.from_text(name.rstrip(".") + ".", 60, "IN", "A", "192.0.2.1"))
    return message.to_wire()


def long_name(suffix: str) -> str:
    """A name of 250 octets or so under `suffix` (the limit is 255)."""
    room = 250 - len(suffix)
    labels = []
    while room > 2:
        size = min(60, room - 1)
        labels.append(chr(ord("a") + len(labels)) * size)
        room -= size + 1
    return ".".join(labels + [suffix])


def query_corpus(names: tuple[str, ...]) -> tuple[bytes, ...]:
    """Valid queries for `names`: several types and classes, with and without EDNS, EDNS options
    (client subnet, cookie, padding), the DO bit, a long name, a compression pointer."""
    first, *others = names
    wires = [
        query_wire(first),
        query_wire(first.upper(), "AAAA"),
        query_wire(first, "MX", use_edns=False),
        query_wire(first, "TXT", want_dnssec=True, payload=4096),
        query_wire(first, "HTTPS", use_edns=0, payload=1232,
                   options=[dns.edns.ECSOption("192.0.2.0", 24), dns.edns.GenericOption(10, b"\x01" * 8),
                            dns.edns.GenericOption(12, b"\x00" * 40)]),
        query_wire(long_name(first), "A"),
        query_wire(".", "NS"),
        query_wire(first, "ANY"),
        query_wire("version.bind", "TXT", "CH"),
        query_with_additional(first),
    ]
    for index, name in enumerate(others):
        wires.append(query_wire(name, ("A", "AAAA", "HTTPS", "TXT")[index % 4], use_edns=0, payload=1232))
    return tuple(wires)


def opt_start(wire: bytes) -> int:
    """Where the message's last OPT record (root owner, type 41) starts; -1 without one."""
    return wire.rfind(b"\x00\x00\x29")


def mutate(wire: bytes, kind: str, position: int, value: object) -> bytes:
    """`wire` with one mutation applied; see `random_mutation` for what each kind takes as value."""
    data = bytearray(wire)
    at = position % (len(data) + 1)
    if kind == "flip" and data:
        data[at % len(data)] ^= 1 << value
    elif kind == "truncate":
        del data[at:]
    elif kind == "extend":
        data += value
    elif kind == "insert":
        data[at:at] = value
    elif kind == "duplicate":
        end = min(len(data), at + value)
        data[end:end] = data[at:end]
    elif kind == "octet" and data:
        data[at % len(data)] = value  # a label length, a pointer's first octet, a count's byte
    elif kind == "pointer" and len(data) >= 2:
        spot = at % (len(data) - 1)
        data[spot:spot + 2] = (0xC000 | value).to_bytes(2, "big")
    elif kind == "count" and len(data) >= 12:
        field = 4 + 2 * (position % 4)  # QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
        data[field:field + 2] = value.to_bytes(2, "big")
    elif kind == "opt":
        start = opt_start(bytes(data))
        field_offset, width = OPT_FIELDS[position % len(OPT_FIELDS)]
        if start >= 0 and start + field_offset + width <= len(data):
            data[start + field_offset:start + field_offset + width] = (value % (1 << (8 * width))).to_bytes(width, "big")
    return bytes(data)


def random_mutation(rng: random.Random) -> tuple[str, int, object]:
    """One mutation drawn from the same space as the property tests' strategy."""
    kind = rng.choice(KINDS)
    position = rng.randrange(MAX_POSITION + 1)
    if kind == "flip":
        value: object = rng.randrange(8)
    elif kind == "truncate":
        value = None
    elif kind == "extend":
        value = rng.randbytes(rng.randint(1, 64))
    elif kind == "insert":
        value = rng.randbytes(rng.randint(1, 16))
    elif kind == "duplicate":
        value = rng.randint(1, 80)
    elif kind == "octet":
        value = rng.choice(AWKWARD_OCTETS) if rng.random() < 0.5 else rng.randrange(256)
    elif kind == "pointer":
        value = rng.randrange(0x4000) if rng.random() < 0.5 else rng.randrange(41)
    else:  # count, opt
        value = rng.choice(AWKWARD_COUNTS) if rng.random() < 0.5 else rng.randrange(0x10000)
    return kind, position, value
