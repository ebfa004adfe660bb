"""Zone transfer messages (AXFR RFC 5936, IXFR RFC 1995, NOTIFY RFC 1996): bytes in, bytes out.

A transfer is a stream of records cut into messages of at most `MESSAGE_OCTETS`, each echoing the
question (RFC 5936 2.2 allows it; every record's owner points at it). Records come from an
iterator and messages go out one at a time, so a list of millions of names is never held whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from fraudwall.resolver.dns.codec import (
    AA, HEADER, OPCODE_MASK, QR, RD, RR_FIXED, U32, Malformed, Query, encode_name, read_name, read_query,
)
from fraudwall.resolver.dns.codes import AnswerKind, QType, Rcode

NOTIFY_OPCODE = 4 << 11
NOTAUTH = 9               # RFC 2136: the server is not authoritative for the zone (RFC 5936 2.2.1)
# Under 16 KB: what BIND and NSD send too; a secondary's reads stay small and a slow one holds
# little of the sender's memory.
MESSAGE_OCTETS = 16_000


class Request(NamedTuple):
    """A question to the transfer server; `serial` is an IXFR's (the secondary's version), else None."""

    query: Query
    serial: int | None


def read_request(data: bytes) -> Request | Malformed:
    """A message as a `Request`, or what to answer it (`read_query`'s rules: FORMERR, NOTIMP, silence)."""
    query = read_query(data)
    if isinstance(query, Malformed):
        return query
    serial = None
    if query.qtype == QType.IXFR:
        serial = _ixfr_serial(data, 12 + len(query.question))
        if serial is None:
            return Malformed(error(query, Rcode.FORMERR), AnswerKind.FORMERR, "IXFR without the client's SOA")
    return Request(query, serial)


def _ixfr_serial(data: bytes, offset: int) -> int | None:
    """The serial of the SOA in an IXFR query's authority section (RFC 1995 3)."""
    _, _, _, ancount, nscount, _ = HEADER.unpack_from(data)
    if ancount or nscount < 1:
        return None
    try:
        _, offset = read_name(data, offset)
        rtype, _, _, _ = RR_FIXED.unpack_from(data, offset)
        if rtype != QType.SOA:
            return None
        offset += RR_FIXED.size
        _, offset = read_name(data, offset)
        _, offset = read_name(data, offset)
        return U32.unpack_from(data, offset)[0]
    except (ValueError, IndexError, struct.error):
        return None


def _flags(query: Query, rcode: int) -> int:
    return QR | AA | (query.flags & (OPCODE_MASK | RD)) | (rcode & 0xF)


def error(query: Query, rcode: int) -> bytes:
    """REFUSED, NOTAUTH, FORMERR ... with the question echoed."""
    return HEADER.pack(query.id, _flags(query, rcode), 1, 0, 0, 0) + query.question


def answer(query: Query, records: tuple[bytes, ...]) -> bytes:
    """One authoritative message with these answer records (an SOA query's answer)."""
    return HEADER.pack(query.id, _flags(query, Rcode.NOERROR), 1, len(records), 0, 0) + query.question + b"".join(records)


def messages(query: Query, records: Iterable[bytes], limit: int = MESSAGE_OCTETS) -> Iterator[bytes]:
    """The records cut into as few messages as fit `limit` octets each, in order, lazily."""
    head = 12 + len(query.question)
    batch: list[bytes] = []
    size = head
    for rr in records:
        if batch and size + len(rr) > limit:
            yield answer(query, tuple(batch))
            batch, size = [], head
        batch.append(rr)
        size += len(rr)
    if batch:
        yield answer(query, tuple(batch))


def axfr(query: Query, soa: bytes, records: Iterable[bytes], limit: int = MESSAGE_OCTETS) -> Iterator[bytes]:
    """A whole zone (RFC 5936 2.2): the SOA, every other record, the SOA again."""
    def stream() -> Iterator[bytes]:
        yield soa
        yield from records
        yield soa
    return messages(query, stream(), limit)


def ixfr(query: Query, old_soa: bytes, new_soa: bytes, deleted: Iterable[bytes], added: Iterable[bytes],
         limit: int = MESSAGE_OCTETS) -> Iterator[bytes]:
    """One difference sequence (RFC 1995 4): the new SOA, the old SOA and what left, the new SOA and
    what came, the new SOA again."""
    def stream() -> Iterator[bytes]:
        yield new_soa
        yield old_soa
        yield from deleted
        yield new_soa
        yield from added
        yield new_soa
    return messages(query, stream(), limit)


def newer(serial: int, than: int) -> bool:
    """RFC 1982 serial arithmetic on 32 bits: whether `serial` comes after `than`."""
    difference = (serial - than) & 0xFFFFFFFF
    return 0 < difference < 0x80000000


def notify(ident: int, zone: str, soa: bytes) -> bytes:
    """A NOTIFY for `zone` (RFC 1996 3.7) carrying its new SOA, so a secondary that has it already
    need not ask."""
    question = encode_name(zone) + struct.pack("!HH", QType.SOA, 1)
    return HEADER.pack(ident, NOTIFY_OPCODE | AA, 1, 1, 0, 0) + question + soa


def notify_reply(data: bytes) -> tuple[int, int] | None:
    """(id, rcode) of a reply to a NOTIFY; None for anything else."""
    if len(data) < 12:
        return None
    ident, flags, *_ = HEADER.unpack_from(data)
    if not flags & QR or flags & OPCODE_MASK != NOTIFY_OPCODE:
        return None
    return ident, flags & 0xF
