"""The secondary's side of a zone transfer, without sockets: the questions to send and the replies read.

`soa_query` and `read_soa` tell whether the primary's serial moved; `axfr_query` asks for the whole
zone (RFC 5936), and `AxfrReader` reads the stream of messages that answers it into zone-file lines
(the subset `blocklists/formats/rpz.py` reads), until the SOA comes again. `Framing` cuts a TCP
byte stream into messages (two octets of length before each, RFC 1035 4.2.2). `Signing` signs the
questions with a TSIG key and checks every message of the answers (RFC 8945). The socket shell is
`secondary.py`. Every way a primary can fail or lie ends in one `TransferFailed` line.
"""

from __future__ import annotations

import ipaddress
import re
import struct
import time
from collections.abc import Iterator
from typing import NamedTuple

from fraudwall.resolver.dns.codec import HEADER, OPCODE_MASK, QR, RR_FIXED, TYPE_CLASS, U32, encode_name, read_name
from fraudwall.resolver.dns.codes import QType, Rcode
from fraudwall.resolver.xfr import tsig

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


def ixfr_query(ident: int, zone: str, serial: int) -> bytes:
    """An IXFR from `serial`, the version the secondary holds: its SOA in the authority section
    (RFC 1995 3; only the serial is read)."""
    soa = encode_name(zone) + RR_FIXED.pack(QType.SOA, IN, 0, 22) + b"\x00\x00" + U32.pack(serial) + bytes(16)
    return HEADER.pack(ident, 0, 1, 0, 1, 0) + encode_name(zone) + TYPE_CLASS.pack(QType.IXFR, IN) + soa


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


class Signing:
    """One exchange with a primary, signed with `key` (None: not signed, and answers taken as they
    come): `request` signs the question, `reply` checks each message of the answer and gives it
    without its TSIG, `finished` checks that the last one was signed (RFC 8945 5.3.1)."""

    def __init__(self, key: tsig.Key | None, clock=time.time) -> None:
        self.key = key
        self.clock = clock
        self.verifier: tsig.ReplyVerifier | None = None

    def request(self, message: bytes) -> bytes:
        if self.key is None:
            return message
        message, mac = tsig.sign(message, self.key, int(self.clock()))
        self.verifier = tsig.ReplyVerifier(self.key, mac, self.clock)
        return message

    def reply(self, message: bytes) -> bytes:
        if self.verifier is None:
            return message
        try:
            return self.verifier.check(message)
        except tsig.Failure as failure:
            raise TransferFailed(f"TSIG: {failure}") from None

    def finished(self) -> None:
        if self.verifier is not None and not self.verifier.complete:
            raise TransferFailed(f"TSIG: the answer's last message is not signed with key {self.key.name}")


def framed(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


def _line(message: bytes, owner: str, rtype: int, rclass: int, ttl: int, rdata: int, length: int) -> str:
    """A record as a zone-file line, "" for one a policy zone has no use for (another class or
    type than SOA, NS, CNAME, A, AAAA; a name that is not a plain hostname)."""
    if rclass != IN or not _PLAIN_NAME.fullmatch(owner):
        return ""
    if rtype == QType.CNAME or rtype == QType.NS:
        target, _ = read_name(message, rdata)
        kind = "CNAME" if rtype == QType.CNAME else "NS"
        return f"{owner}. {ttl} IN {kind} {target}." if _PLAIN_NAME.fullmatch(target) else ""
    if rtype == QType.A and length == 4:
        return f"{owner}. {ttl} IN A {ipaddress.IPv4Address(message[rdata:rdata + 4])}"
    if rtype == QType.AAAA and length == 16:
        return f"{owner}. {ttl} IN AAAA {ipaddress.IPv6Address(message[rdata:rdata + 16])}"
    if rtype == QType.SOA:
        mname, after = read_name(message, rdata)
        rname, after = read_name(message, after)
        timers = struct.unpack_from("!IIIII", message, after)
        return f"{owner}. {ttl} IN SOA {mname}. {rname}. " + " ".join(map(str, timers))
    return ""


def record_key(line: str) -> str:
    """What names a record whatever its TTL: owner, type and data (an IXFR deletes by this)."""
    owner, _, rest = line.split(" ", 2)
    return f"{owner} {rest}"


class AxfrReader:
    """The messages answering `axfr_query(ident, zone)`, read one at a time into zone-file lines.

    The first record is the zone's SOA, the last the same SOA again (RFC 5936 2.2); `done` says the
    last one came, `soa` holds the zone's timers. Records a policy zone has no use for are left out
    (`_line`).
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
                self.records += 1
                if self.records > self.max_records:
                    raise TransferFailed(f"more than {self.max_records} records: not a policy zone")
                soa = _soa_timers(message, rdata) if rtype == QType.SOA and owner == self.zone else None
                lines += self._record(soa, _line(message, owner, rtype, rclass, ttl, rdata, length))
        except (ValueError, IndexError, struct.error) as error:
            raise TransferFailed(f"a malformed transfer message: {error}") from None
        return lines

    def _record(self, soa: SoaTimers | None, line: str) -> list[str]:
        """The lines to write for this record ("": none of use), given the zone's SOA when it is one."""
        if self.soa is None:
            if soa is None:
                raise TransferFailed(f"the transfer does not start with the SOA of {self.zone}.")
            self.soa = soa
            return [line]
        if soa is not None:
            self.done = True
            return []
        return [line] if line else []


class IxfrReader(AxfrReader):
    """The messages answering `ixfr_query(ident, zone, serial)` (RFC 1995 4).

    Three answers are possible: the SOA alone (`current`: the secondary has the primary's version);
    the whole zone as AXFR sends it (`incremental` False: `feed` gives its lines, as AxfrReader
    does); or difference sequences from `serial` to the newest (`incremental` True: `feed` gives
    nothing, `apply` turns the old zone file's lines into the new one's). A message holding the SOA
    alone ends a transfer that is `current`; the caller stops reading there.
    """

    def __init__(self, ident: int, zone: str, serial: int, max_records: int = MAX_RECORDS) -> None:
        super().__init__(ident, zone, max_records)
        self.serial = serial
        self.incremental: bool | None = None     # None: not known before the second record
        self.current = False
        self.first_line = ""
        self.adding = False
        self.removed: set[str] = set()
        self.added: dict[str, str] = {}

    def feed(self, message: bytes) -> list[str]:
        lines = super().feed(message)
        if self.records == 1 and self.soa is not None and self.soa.serial == self.serial:
            self.current = self.done = True      # the SOA alone, of our version: nothing moved (RFC 1995 4)
        return lines

    def _record(self, soa: SoaTimers | None, line: str) -> list[str]:
        if self.soa is None:
            # Not written yet: whether the answer is the whole zone is known at the second record.
            self.first_line = line
            super()._record(soa, line)
            return []
        if self.incremental is None:
            # The second record: the secondary's own SOA starts a difference sequence; anything
            # else (or another serial) is the whole zone, AXFR style.
            self.incremental = soa is not None and soa.serial == self.serial and self.soa.serial != self.serial
            if self.incremental:
                return []
            return [self.first_line, *super()._record(soa, line)]
        if not self.incremental:
            return super()._record(soa, line)
        if soa is not None:
            if self.adding and soa.serial == self.soa.serial:
                self.done = True          # the newest SOA after its additions: the end
            self.adding = not self.adding
            return []
        if line:
            key = record_key(line)
            if self.adding:
                if key in self.removed:
                    self.removed.discard(key)    # deleted by one sequence, added again by a later one
                else:
                    self.added[key] = line
            elif self.added.pop(key, None) is None:
                self.removed.add(key)
        return []

    def apply(self, old_lines) -> Iterator[str]:
        """The new zone file's lines from the old one's (its SOA first): the newest SOA, the old
        records less those removed, then those added."""
        assert self.incremental and self.done
        yield self.first_line
        for number, line in enumerate(old_lines):
            line = line.rstrip("\n")
            if number == 0 or not line or record_key(line) in self.removed:
                continue
            self.added.pop(record_key(line), None)     # already there: written once
            yield line
        yield from self.added.values()
