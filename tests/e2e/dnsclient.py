"""Small client helpers for the end-to-end tests: dnspython queries and raw datagrams."""

from __future__ import annotations

import socket
import struct

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

HOST = "127.0.0.1"
TIMEOUT = 2.0


def query(name: str, rdtype: str = "A", *, use_edns: int | bool = 0, payload: int = 1232,
          want_dnssec: bool = False) -> dns.message.Message:
    """A query; `use_edns=False` (or -1) sends none, as an old client would."""
    edns = -1 if use_edns is False else use_edns
    return dns.message.make_query(name, rdtype, use_edns=edns, payload=payload, want_dnssec=want_dnssec)


def udp(port: int, name: str, rdtype: str = "A", host: str = HOST, **options: object) -> dns.message.Message:
    """A UDP exchange; a truncated reply is returned as it is, never retried over TCP."""
    return dns.query.udp(query(name, rdtype, **options), host, port=port, timeout=TIMEOUT)  # type: ignore[arg-type]


def tcp(port: int, name: str, rdtype: str = "A", host: str = HOST, **options: object) -> dns.message.Message:
    return dns.query.tcp(query(name, rdtype, **options), host, port=port, timeout=TIMEOUT)  # type: ignore[arg-type]


def rdata(reply: dns.message.Message, rdtype: str) -> list[str]:
    """The answer section's rdata of one type, as text, in order."""
    wanted = dns.rdatatype.from_text(rdtype)
    return [item.to_text() for rrset in reply.answer if rrset.rdtype == wanted for item in rrset]


def answer_ttls(reply: dns.message.Message) -> list[int]:
    return [rrset.ttl for rrset in reply.answer]


def ede_codes(reply: dns.message.Message) -> list[int]:
    """The RFC 8914 Extended DNS Error codes in the reply's OPT record."""
    return [int(option.code) for option in reply.options if option.otype == dns.edns.OptionType.EDE]


def raw_udp(port: int, payload: bytes, timeout: float = 0.5, host: str = HOST) -> bytes | None:
    """Send bytes as one datagram; the reply's bytes, or None when none came within `timeout`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(payload, (host, port))
        try:
            return sock.recv(65535)
        except socket.timeout:
            return None


def header(wire: bytes) -> tuple[int, int, int, int, int, int]:
    """(ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT) of a message."""
    return struct.unpack("!HHHHHH", wire[:12])


def rcode_of(wire: bytes) -> int:
    return header(wire)[1] & 0xF


def opcode_of(wire: bytes) -> int:
    return (header(wire)[1] >> 11) & 0xF


def tcp_exchange_many(port: int, messages: list[bytes], timeout: float = TIMEOUT, host: str = HOST) -> list[bytes]:
    """Write all messages on one TCP connection in one go, then read as many replies, in arrival order."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"".join(len(message).to_bytes(2, "big") + message for message in messages))
        replies = []
        for _ in messages:
            length = int.from_bytes(_read_exactly(sock, 2), "big")
            replies.append(_read_exactly(sock, length))
        return replies


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def is_truncated(reply: dns.message.Message) -> bool:
    return bool(reply.flags & dns.flags.TC)


def rcode(reply: dns.message.Message) -> int:
    return reply.rcode()


NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN
SERVFAIL = dns.rcode.SERVFAIL
REFUSED = dns.rcode.REFUSED
FORMERR = dns.rcode.FORMERR
NOTIMP = dns.rcode.NOTIMP
