"""The secondary's side of a zone transfer, without sockets: the questions to send and the replies read.

`soa_query` and `read_soa` tell whether the primary's serial moved; `axfr_query` asks for the whole
zone (RFC 5936), and `AxfrReader` reads the stream of messages that answers it into zone-file lines
(the subset `blocklists/formats/rpz.py` reads), until the SOA comes again. `Framing` cuts a TCP
byte stream into messages (two octets of length before each, RFC 1035 4.2.2). The socket shell is
`secondary.py`. Every way a primary can fail or lie ends in one `TransferFailed` line.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from typing import NamedTuple

from fraudwall.resolver.dns.codec import HEADER, OPCODE_MASK, QR, RR_FIXED, TYPE_CLASS, U32, encode_name, read_name
from fraudwall.resolver.dns.codes import QType, Rcode

IN = 1
# Past this, a primary is sending something else than a policy zone: the transfer stops (the
# zone's file is written to disk as it comes, so this bounds the disk, not the memory).
MAX_RECORDS = 50_000_000
MAX_MESSAGE = 0xFFFF
# Owner and target names written to the zone file as they are: anything else (a space, a ';',
# a quote inside a label) would change how the line reads, and names no host either.
_PLAIN_NAME = re.compile(r"[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*|")
_RCODE_NAMES = {code.value: code.name for code in Rcode} | {9: "NOTAUTH"}


class TransferFailed(Exception):
    """What went wrong with the primary, as one line."""


class SoaTimers(NamedTuple):
    """A zone's SOA as the secondary uses it (RFC 1035 3.3.13): its version and when to ask again."""

    serial: int
    refresh: int
    retry: int
    expire: int


def _question(ident: int, zone: str, qtype: int) -> bytes:
    return HEADER.pack(ident, 0, 1, 0, 0, 0) + encode_name(zone) + TYPE_CLASS.pack(qtype, IN)


def soa_query(ident: int, zone: str) -> bytes:
    """The SOA query that starts every refresh (RFC 1034 4.3.5)."""
    return _question(ident, zone, QType.SOA)


def axfr_query(ident: int, zone: str) -> bytes:
    return _question(ident, zone, QType.AXFR)


def _header(message: bytes, ident: int) -> tuple[int, int, int]:
    """(offset after the question section, answer count, rcode), or TransferFailed."""
    if len(message) < 12:
        raise TransferFailed("a reply shorter than a DNS header")
    got, flags, qdcount, ancount, _, _ = HEADER.unpack_from(message)
    if got != ident or not flags & QR or flags & OPCODE_MASK:
        raise TransferFailed("a reply to another question (its id or opcode differ)")
    rcode = flags & 0xF
    if rcode:
        raise TransferFailed(f"the primary answered {_RCODE_NAMES.get(rcode, rcode)}")
    offset = 12
    for _ in range(qdcount):
        _, offset = read_name(message, offset)
        offset += TYPE_CLASS.size
    return offset, ancount, rcode


def _soa_timers(message: bytes, rdata: int) -> SoaTimers:
    _, offset = read_name(message, rdata)
    _, offset = read_name(message, offset)
    serial, refresh, retry, expire = struct.unpack_from("!IIII", message, offset)
    return SoaTimers(serial, refresh, retry, expire)


def read_soa(message: bytes, ident: int, zone: str) -> SoaTimers:
    """The zone's SOA from the primary's reply to `soa_query`."""
    try:
        offset, ancount, _ = _header(message, ident)
        for _ in range(ancount):
            owner, offset = read_name(message, offset)
            rtype, _, _, length = RR_FIXED.unpack_from(message, offset)
            offset += RR_FIXED.size
            if rtype == QType.SOA and owner == zone:
                return _soa_timers(message, offset)
            offset += length
    except (ValueError, IndexError, struct.error) as error:
        raise TransferFailed(f"a malformed reply to the SOA query: {error}") from None
    raise TransferFailed(f"the primary holds no zone {zone}. (no SOA in its answer)")


class Framing:
    """A TCP byte stream cut into DNS messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + length:
                break
            messages.append(bytes(self._buffer[2:2 + length]))
            del self._buffer[:2 + length]
        return messages


def framed(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


class AxfrReader:
    """The messages answering `axfr_query(ident, zone)`, read one at a time into zone-file lines.

    The first record is the zone's SOA, the last the same SOA again (RFC 5936 2.2); `done` says the
    last one came, `soa` holds the zone's timers. Records of other classes or types than the policy
    zone's (SOA, NS, CNAME, A, AAAA) are left out, as are names that are not plain hostnames.
    """

    def __init__(self, ident: int, zone: str, max_records: int = MAX_RECORDS) -> None:
        self.ident = ident
        self.zone = zone
        self.max_records = max_records
        self.soa: SoaTimers | None = None
        self.records = 0
        self.done = False

    def feed(self, message: bytes) -> list[str]:
        if self.done:
            raise TransferFailed("a message after the transfer's closing SOA")
        lines = []
        try:
            offset, ancount, _ = _header(message, self.ident)
            for _ in range(ancount):
                if self.done:
                    raise TransferFailed("records after the transfer's closing SOA")
                owner, offset = read_name(message, offset)
                rtype, rclass, ttl, length = RR_FIXED.unpack_from(message, offset)
                rdata = offset + RR_FIXED.size
                offset = rdata + length
                if offset > len(message):
                    raise ValueError("a record runs past the end of the message")
                line = self._record(message, owner, rtype, rclass, ttl, rdata, length)
                if line:
                    lines.append(line)
        except (ValueError, IndexError, struct.error) as error:
            raise TransferFailed(f"a malformed transfer message: {error}") from None
        return lines

    def _record(self, message: bytes, owner: str, rtype: int, rclass: int, ttl: int, rdata: int,
                length: int) -> str:
        self.records += 1
        if self.records > self.max_records:
            raise TransferFailed(f"more than {self.max_records} records: not a policy zone")
        if self.soa is None:
            if rtype != QType.SOA or owner != self.zone:
                raise TransferFailed(f"the transfer does not start with the SOA of {self.zone}.")
            self.soa = _soa_timers(message, rdata)
            mname, after = read_name(message, rdata)
            rname, after = read_name(message, after)
            timers = struct.unpack_from("!IIIII", message, after)
            return f"{owner}. {ttl} IN SOA {mname or ''}. {rname or ''}. " + " ".join(map(str, timers))
        if rtype == QType.SOA and owner == self.zone:
            self.done = True
            return ""
        if rclass != IN or not _PLAIN_NAME.fullmatch(owner):
            return ""
        if rtype == QType.CNAME:
            target, _ = read_name(message, rdata)
            return f"{owner}. {ttl} IN CNAME {target}." if _PLAIN_NAME.fullmatch(target) else ""
        if rtype == QType.A and length == 4:
            return f"{owner}. {ttl} IN A {ipaddress.IPv4Address(message[rdata:rdata + 4])}"
        if rtype == QType.AAAA and length == 16:
            return f"{owner}. {ttl} IN AAAA {ipaddress.IPv6Address(message[rdata:rdata + 16])}"
        return ""
