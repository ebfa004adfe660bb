"""The DNS wire codec: pure functions from bytes to small immutable types and back.

No sockets and no clocks here. Reading a query touches only the header, the question
and the OPT record; reading an upstream reply walks its records once to find what the
cache and the inspect stage need (TTL offsets, CNAME targets, addresses). Nothing that
comes off the wire, however malformed, raises out of `read_query` or `scan_reply`.
"""

from __future__ import annotations

import functools
import socket
import struct
from typing import TYPE_CHECKING, NamedTuple

from fraudwall.resolver.dns.codes import AnswerKind, EDECode, QType, Rcode, Transport

if TYPE_CHECKING:
    from fraudwall.resolver.dns.policy import Policy   # which imports the stages, which import this

HEADER = struct.Struct("!HHHHHH")
RR_FIXED = struct.Struct("!HHIH")  # type, class, TTL, RDLENGTH after the owner name
U16 = struct.Struct("!H")
U32 = struct.Struct("!I")
TYPE_CLASS = struct.Struct("!HH")

QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
AD = 0x0020
CD = 0x0010
OPCODE_MASK = 0x7800
OPCODE_NOTIFY = 4 << 11   # RFC 1996, in place in the header's flags
EDNS_DO = 0x8000

EDNS_SIZE = 1232          # what fraudwall advertises and the most it sends over UDP (DNS flag day 2020)
PLAIN_UDP_SIZE = 512      # the limit for clients without EDNS (RFC 1035 4.2.1)
TCP_SIZE = 65535
MAX_NAME_OCTETS = 255     # RFC 1035 3.1, on the wire
MAX_LABEL_OCTETS = 63
MAX_POINTER_HOPS = 64     # bounds a malicious compression loop
MAX_KNOWN_QUESTIONS = 65_536  # questions remembered by a reader before it starts afresh
_KEY_FLAGS = (b"\x00", b"\x01", b"\x02", b"\x03")  # the cache key's last byte: DO << 1 | CD
_new_tuple = tuple.__new__
# Record types as plain ints: `QType.OPT` is a descriptor call (~0.1 us), and the reply walk compares each record.
_OPT, _CNAME, _A, _AAAA, _SOA = (int(QType.OPT), int(QType.CNAME), int(QType.A), int(QType.AAAA), int(QType.SOA))


class Query(NamedTuple):
    """A client's question, read from its message."""

    wire: bytes
    id: int
    flags: int
    qname: str            # lowercase, no trailing dot, "" for the root
    qtype: int
    qclass: int
    question: bytes       # the question section as the client wrote it (its case is echoed back)
    key: bytes            # cache key: the lowercased question plus the DO and CD bits
    edns_size: int        # the client's UDP payload size; 0 when it sent no EDNS
    do: bool
    client: str = ""
    transport: Transport = Transport.UDP
    allowed: bool = False  # an allowlist entry matched: no blocking stage may act on it
    # The client's policy, set by the policy stage; None: each stage's default.
    policy: Policy | None = None

    @property
    def reply_limit(self) -> int:
        """The largest reply this client takes on its transport."""
        if self.transport is Transport.TCP:
            return TCP_SIZE
        if self.edns_size:
            return max(PLAIN_UDP_SIZE, min(self.edns_size, EDNS_SIZE))
        return PLAIN_UDP_SIZE


class Malformed(NamedTuple):
    """A message that is not a query we answer; `reply` is None where silence is right."""

    reply: bytes | None
    kind: AnswerKind
    reason: str


class Scan(NamedTuple):
    """What one walk over an upstream reply finds."""

    id: int
    flags: int
    rcode: int
    question: bytes                    # as it stands in the reply
    ttls: tuple[tuple[int, int], ...]  # (offset of a TTL field, its value), OPT excluded
    min_ttl: int | None                # smallest answer TTL; None without answers
    negative_ttl: int | None           # RFC 2308: min(SOA TTL, SOA MINIMUM) from the authority section
    cname_targets: tuple[str, ...]
    addresses: tuple[str, ...]
    opt_span: tuple[int, int] | None   # where the OPT record sits, to strip it
    opt_is_last: bool
    end: int                           # where the last record ends; what follows is junk, never sent on

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)


# ---------------------------------------------------------------- names

def _read_question_name(data: bytes, offset: int) -> tuple[list[bytes], int]:
    """Labels of an uncompressed name at `offset`; ValueError when it is not one."""
    labels: list[bytes] = []
    append = labels.append
    limit = offset + MAX_NAME_OCTETS - 1   # where the terminating zero of a 255-octet name sits
    size = len(data)
    while True:
        length = data[offset]
        if length == 0:
            return labels, offset + 1
        if length > MAX_LABEL_OCTETS:
            raise ValueError("compressed or extended label in the question")
        end = offset + 1 + length
        if end > limit:
            raise ValueError("name longer than 255 octets")
        if end > size:
            raise ValueError("label runs past the end of the message")
        append(data[offset + 1:end])
        offset = end


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at `offset`, lowercased, and the offset just after it."""
    labels: list[bytes] = []
    after = -1
    hops = 0
    total = 1
    while True:
        length = data[offset]
        if length >= 0xC0:
            if after < 0:
                after = offset + 2
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise ValueError("compression loop")
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length > MAX_LABEL_OCTETS:
            raise ValueError("extended label type")
        if length == 0:
            name = b".".join(labels).lower().decode("latin-1")
            return name, (after if after >= 0 else offset + 1)
        total += length + 1
        if total > MAX_NAME_OCTETS:
            raise ValueError("name longer than 255 octets")
        labels.append(data[offset + 1:offset + 1 + length])
        offset += 1 + length


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length >= 0xC0:
            return offset + 2
        if length > MAX_LABEL_OCTETS:
            raise ValueError("extended label type")
        if length == 0:
            return offset + 1
        offset += 1 + length


def encode_name(name: str) -> bytes:
    """`www.example.org` to wire labels; ValueError for an empty or too long label."""
    if name in ("", "."):
        return b"\x00"
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("latin-1")
        if not 0 < len(raw) <= MAX_LABEL_OCTETS:
            raise ValueError(f"label {label!r} must be 1 to 63 octets")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > MAX_NAME_OCTETS:
        raise ValueError("name longer than 255 octets")
    return bytes(out)


# ---------------------------------------------------------------- queries

def read_query(data: bytes, client: str = "", transport: Transport = Transport.UDP,
               known: dict[bytes, tuple] | None = None) -> Query | Malformed:
    """A client's message as a `Query`, or what to answer (FORMERR, NOTIMP, BADVERS, silence).

    `known` remembers questions already read, keyed by their bytes: the same bytes always
    read the same way, so a question seen before skips the walk over its labels.
    """
    if len(data) < 12:
        return Malformed(None, AnswerKind.FORMERR, "shorter than a DNS header")
    ident, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if flags & QR:
        # Answering a response invites reflection loops between resolvers.
        return Malformed(None, AnswerKind.FORMERR, "a response, not a query")
    opcode = flags & OPCODE_MASK
    if opcode and opcode != OPCODE_NOTIFY:   # a NOTIFY goes on to the notify stage
        return Malformed(error_reply(ident, flags, Rcode.NOTIMP), AnswerKind.NOTIMP, "opcode is not QUERY")
    if qdcount != 1:
        return Malformed(error_reply(ident, flags, Rcode.FORMERR), AnswerKind.FORMERR,
                         f"{qdcount} questions, not 1")
    try:
        zero = data.find(0, 12)
        if zero < 0:
            # Said here, not left to a slice: compiled by mypyc, data[12:4] is an error, not b"".
            raise ValueError("name runs past the end of the message")
        question = data[12:zero + 5]
        remembered = known.get(question) if known is not None else None
        if remembered is None:
            labels, end = _read_question_name(data, 12)
            if end + 4 > len(data):
                raise ValueError("question runs past the end of the message")
            qtype, qclass = TYPE_CLASS.unpack_from(data, end)
            question = data[12:end + 4]
            remembered = (b".".join(labels).lower().decode("latin-1"), qtype, qclass, question.lower())
            if known is not None and end == zero + 1:  # only names whose first zero octet ends them
                if len(known) >= MAX_KNOWN_QUESTIONS:
                    known.clear()
                known[question] = remembered
        qname, qtype, qclass, lowered = remembered
        end = 12 + len(question)
        if (arcount == 1 and not ancount and not nscount and len(data) >= end + 11
                and data[end] == 0 and data[end + 1] == 0 and data[end + 2] == _OPT):
            # The usual query: the OPT record right after the question and nothing else.
            _, size, ttl, rdlength = RR_FIXED.unpack_from(data, end + 1)
            if end + 11 + rdlength > len(data):
                raise ValueError("OPT record runs past the end of the message")
            edns_size, do, version = max(size, PLAIN_UDP_SIZE), bool(ttl & EDNS_DO), (ttl >> 16) & 0xFF
        else:
            edns_size, do, version = _read_edns(data, end, ancount + nscount, arcount)
    except (ValueError, IndexError, struct.error) as error:
        return Malformed(error_reply(ident, flags, Rcode.FORMERR), AnswerKind.FORMERR, str(error))
    if version:
        return Malformed(badvers_reply(ident, flags, question), AnswerKind.FORMERR,
                         f"EDNS version {version}")
    key = lowered + _KEY_FLAGS[(2 if do else 0) | (1 if flags & CD else 0)]
    # tuple.__new__ rather than Query(...): the named tuple's own constructor is Python code, run per query.
    return _new_tuple(Query, (data, ident, flags, qname, qtype, qclass, question, key,
                              edns_size, do, client, transport, False, None))


def _read_edns(data: bytes, offset: int, records_before: int, arcount: int) -> tuple[int, bool, int]:
    """(UDP payload size, DO, version) from the OPT record; (0, False, 0) without one."""
    if not arcount:
        return 0, False, 0
    for _ in range(records_before):
        offset = _skip_name(data, offset)
        _, _, _, rdlength = RR_FIXED.unpack_from(data, offset)
        offset += RR_FIXED.size + rdlength
    found = None
    for _ in range(arcount):
        owner = data[offset]
        offset = _skip_name(data, offset)
        rtype, rclass, ttl, rdlength = RR_FIXED.unpack_from(data, offset)
        offset += RR_FIXED.size + rdlength
        if offset > len(data):
            raise ValueError("record runs past the end of the message")
        if rtype == QType.OPT:
            if found is not None:
                raise ValueError("more than one OPT record")
            if owner != 0:
                raise ValueError("OPT record not owned by the root")
            found = (max(rclass, PLAIN_UDP_SIZE), bool(ttl & EDNS_DO), (ttl >> 16) & 0xFF)
    return found or (0, False, 0)


_ECHOED_FLAGS = OPCODE_MASK | RD | CD


def reply_flags(query_flags: int, rcode: int, authoritative: bool = False) -> int:
    """Header flags of a reply: QR, the query's opcode, RD and CD, RA, and the rcode."""
    flags = QR | RA | (query_flags & _ECHOED_FLAGS) | (rcode & 0xF)
    return flags | AA if authoritative else flags


def error_reply(ident: int, query_flags: int, rcode: int) -> bytes:
    """A bare header with an rcode, for messages whose question cannot be trusted."""
    return HEADER.pack(ident, reply_flags(query_flags, rcode), 0, 0, 0, 0)


def badvers_reply(ident: int, query_flags: int, question: bytes) -> bytes:
    header = HEADER.pack(ident, reply_flags(query_flags, 0), 1, 0, 0, 1)
    return header + question + make_opt(do=False, extended_rcode=Rcode.BADVERS >> 4)


def make_reply(query: Query, rcode: int, answers: tuple[bytes, ...] = (), authority: tuple[bytes, ...] = (),
               authoritative: bool = False) -> bytes:
    """A reply body (no OPT) echoing the client's ID and question, with ready-made records."""
    header = HEADER.pack(query.id, reply_flags(query.flags, rcode, authoritative), 1,
                         len(answers), len(authority), 0)
    if answers or authority:
        return b"".join((header, query.question, *answers, *authority))
    return header + query.question


def make_record(rtype: int, ttl: int, rdata: bytes, owner: bytes = b"\xc0\x0c") -> bytes:
    """One resource record; the owner defaults to a pointer at the question's name."""
    return owner + RR_FIXED.pack(rtype, 1, ttl, len(rdata)) + rdata


EDE_TEXT_OCTETS = 200   # an EDE's text is for people: a long reason must not push the answer to TCP


@functools.lru_cache(maxsize=4096)  # a pure function of a few values that repeat: the same list, the same reason
def make_opt(do: bool, ede: tuple[int, str] | None = None, extended_rcode: int = 0) -> bytes:
    """The OPT record fraudwall sends: its UDP size, DO echoed (RFC 3225), an optional EDE (RFC 8914)."""
    options = b""
    if ede is not None:
        code, text = ede
        # Cut at a character, not inside one: an operator's reason may be Chinese, and a cut UTF-8
        # sequence makes the whole reply unreadable to clients that decode the text (dnspython).
        payload = U16.pack(code) + text.encode("utf-8")[:EDE_TEXT_OCTETS].decode("utf-8", "ignore").encode("utf-8")
        options = U16.pack(15) + U16.pack(len(payload)) + payload
    ttl = (extended_rcode << 24) | (EDNS_DO if do else 0)
    return b"\x00" + RR_FIXED.pack(QType.OPT, EDNS_SIZE, ttl, len(options)) + options


_PLAIN_OPT = (make_opt(False), make_opt(True))  # indexed by the DO bit


def render(query: Query, body: bytes, ede: tuple[EDECode, str] | None = None) -> bytes:
    """The bytes to send: `body` plus the client's EDNS, cut to TC=1 when it does not fit."""
    if query.edns_size:
        opt = _PLAIN_OPT[query.do] if ede is None else make_opt(query.do, ede)
        arcount = ((body[10] << 8) | body[11]) + 1
        wire = b"".join((body[:10], U16.pack(arcount), body[12:], opt))
    else:
        opt = b""
        wire = body
    if len(wire) <= query.reply_limit:
        return wire
    # RFC 2181 9: a truncated reply keeps the header and question; the client retries over TCP.
    ident, flags = TYPE_CLASS.unpack_from(body)
    header = HEADER.pack(ident, flags | TC, 1, 0, 0, 1 if opt else 0)
    return header + query.question + opt


# ---------------------------------------------------------------- upstream

def make_upstream_query(query: Query, ident: int) -> bytes:
    """The query fraudwall forwards: a fresh ID, RD (and the client's CD), EDNS with its DO bit."""
    header = HEADER.pack(ident, RD | (query.flags & CD), 1, 0, 0, 1)
    return header + query.question.lower() + make_opt(query.do)


def scan_reply(data: bytes) -> Scan | None:
    """One walk over an upstream reply; None when it cannot be read."""
    try:
        return _scan(data)
    except (ValueError, IndexError, struct.error):
        return None


def _scan(data: bytes) -> Scan:
    ident, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if not flags & QR or qdcount != 1:
        raise ValueError("not a reply to one question")
    offset = _skip_name(data, 12) + 4
    if offset > len(data):
        raise ValueError("question runs past the end of the message")
    question = data[12:offset]
    ttls = []
    min_ttl = None
    negative_ttl = None
    cname_targets = []
    addresses = []
    opt_span = None
    opt_is_last = False
    total = ancount + nscount + arcount
    for index in range(total):
        start = offset
        offset = _skip_name(data, offset)
        rtype, _, ttl, rdlength = RR_FIXED.unpack_from(data, offset)
        ttl_offset = offset + 4
        rdata_start = offset + RR_FIXED.size
        offset = rdata_start + rdlength
        if offset > len(data):
            raise ValueError("record runs past the end of the message")
        if rtype == _OPT:
            if index < ancount + nscount:
                raise ValueError("OPT record outside the additional section")   # RFC 6891 6.1.1
            if opt_span is not None:
                raise ValueError("more than one OPT record")   # RFC 6891 6.1.1: malformed
            opt_span = (start, offset)
            opt_is_last = index == total - 1
            continue
        if ttl & 0x80000000:
            ttl = 0  # RFC 2181 8: a TTL with the top bit set counts as zero
        ttls.append((ttl_offset, ttl))
        if index < ancount:
            min_ttl = ttl if min_ttl is None else min(min_ttl, ttl)
            if rtype == _CNAME:
                target, after = read_name(data, rdata_start)
                if after > offset:
                    raise ValueError("CNAME target runs past its record")
                cname_targets.append(target)
            elif rtype == _A and rdlength == 4:
                addresses.append(socket.inet_ntop(socket.AF_INET, data[rdata_start:offset]))
            elif rtype == _AAAA and rdlength == 16:
                addresses.append(socket.inet_ntop(socket.AF_INET6, data[rdata_start:offset]))
        elif index < ancount + nscount and rtype == _SOA and rdlength >= 22:
            minimum = U32.unpack_from(data, offset - 4)[0]
            negative_ttl = min(ttl, minimum)
    return _new_tuple(Scan, (ident, flags, flags & 0xF, question, tuple(ttls), min_ttl, negative_ttl,
                             tuple(cname_targets), tuple(addresses), opt_span, opt_is_last, offset))


def strip_opt(data: bytes, scan: Scan) -> bytes | None:
    """The reply without its OPT record (the client gets its own) and without bytes after its last
    record (the client's OPT goes at the end); None when that is not safe."""
    if scan.opt_span is None:
        return data if scan.end == len(data) else data[:scan.end]
    if not scan.opt_is_last:
        # Records after the OPT could point into each other; moving them is not worth the risk.
        return None
    arcount = U16.unpack_from(data, 10)[0] - 1
    return data[:10] + U16.pack(arcount) + data[12:scan.opt_span[0]]


def for_client(reply: bytes, query: Query) -> bytes:
    """An upstream or cached reply body addressed to this client: its ID, its RD bit, its question's case.

    The answer comes from a recursive service, so RA is set and AA cleared, whatever the upstream said.
    """
    flags = (reply[2] << 8) | reply[3]
    wanted = (flags & ~(RD | AA)) | RA | (query.flags & RD)
    question = query.question
    return b"".join((query.wire[:2], reply[2:4] if wanted == flags else U16.pack(wanted), reply[4:12], question,
                     reply[12 + len(question):]))
