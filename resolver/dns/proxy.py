"""proxy: the PROXY protocol v2 header a load balancer (dnsdist `useProxyProtocol=true`) puts in
front of what it forwards, so the resolver sees the real client, not the balancer. No sockets.

The header (haproxy's proxy-protocol.txt, section 2.2), all numbers big-endian:

    12 octets   the signature \\r\\n\\r\\n\\0\\r\\nQUIT\\n
    1 octet     version (high nibble, 2) and command (low nibble: 0 LOCAL, 1 PROXY)
    1 octet     address family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) and transport (low: 0 UNSPEC,
                1 STREAM, 2 DGRAM)
    2 octets    the length of what follows: the address block, then TLVs (type, 2-octet length, value)
    addresses   INET: source, destination (4 octets each), source port, destination port (12 octets);
                INET6: the same with 16-octet addresses (36 octets); UNIX: two 108-octet paths

Over UDP dnsdist puts one in front of every datagram, over TCP one at the start of the
connection. A LOCAL header (dnsdist's health checks) carries no client: the sender itself asks.

`ProxyGate` says, for a sender and the first bytes it sent, whether they are to be read as a
header (trusted senders, `[server] proxy_from`), refused (a header from anyone else, a trusted
sender without one), or served as plain DNS; it counts and logs what it refuses. The socket shells
(server/udp.py, server/tcp.py) only move the bytes.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import socket
import time
from typing import Callable, NamedTuple

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.stages.access import REMEMBERED_CLIENTS, client_address, parse_networks

log = logging.getLogger(__name__)

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
FIXED = 16               # signature, version/command, family/transport, length
# What follows the fixed part: the addresses (at most 216 octets, UNIX) and some TLVs. dnsdist
# sends none unless told to (setProxyProtocolValue); a longer header is refused, so a sender
# cannot make the resolver hold or walk tens of kB before the first query.
MAX_BLOCK = 1024
LOG_EVERY = 60.0         # seconds between two log lines about refused headers (the counter counts all)


class Command(enum.IntEnum):
    """The low nibble of the 13th octet."""
    LOCAL = 0x0   # the sender's own connection (a health check): use its address
    PROXY = 0x1   # relayed for the client named in the address block


_LOCAL, _PROXY = Command.LOCAL, Command.PROXY


class Family(enum.IntEnum):
    """The high nibble of the 14th octet."""
    UNSPEC = 0x0
    INET = 0x1
    INET6 = 0x2
    UNIX = 0x3


# The address block of each family with IP addresses: address length, whole block length.
_ADDRESSES = {int(Family.INET): (4, 12), int(Family.INET6): (16, 36)}


class Refusal(str, enum.Enum):
    """Why a datagram or connection was refused: the label of fraudwall_proxy_refused_total."""
    UNTRUSTED = "untrusted"   # a PROXY header from a sender not in proxy_from
    MISSING = "missing"       # a trusted sender sent no header
    MALFORMED = "malformed"   # a trusted sender's header is broken


class ProxyError(ValueError):
    """A header that cannot be read; the message says what is wrong, in one line."""


class ProxyHeader(NamedTuple):
    """What a header says. A NamedTuple, frozen like a dataclass but made in a third of its time:
    one is made for every datagram from the balancer."""
    command: Command
    client: str | None            # None for LOCAL: the sender is the client
    client_port: int
    destination: str | None
    destination_port: int
    size: int                     # octets the header takes, TLVs included


def read_header(data: bytes | bytearray) -> ProxyHeader | None:
    """The header at the start of `data`; None when `data` is a start of one that needs more
    octets (TCP); ProxyError when it is not a header or a broken one."""
    head = data[:FIXED]
    if not SIGNATURE.startswith(head[:len(SIGNATURE)]):
        raise ProxyError("no PROXY v2 signature")
    if len(head) < FIXED:
        return None
    version, command = head[12] >> 4, head[12] & 0x0F
    if version != 2:
        raise ProxyError(f"PROXY header version {version}, not 2")
    if command > 1:   # plain ints on this path: an IntEnum comparison or lookup costs a µs a datagram
        raise ProxyError(f"PROXY header command {command:#x}, neither LOCAL nor PROXY")
    family, transport = head[13] >> 4, head[13] & 0x0F
    if family > 3:
        raise ProxyError(f"PROXY header address family {family:#x} unknown")
    if transport > 2:
        raise ProxyError(f"PROXY header transport {transport:#x} unknown")
    length = (head[14] << 8) | head[15]
    if length > MAX_BLOCK:
        raise ProxyError(f"PROXY header of {FIXED + length} octets, over the {FIXED + MAX_BLOCK} accepted")
    if len(data) < FIXED + length:
        return None
    if command == 0:
        # Its address block, if any, is to be ignored (section 2.2): the sender speaks for itself.
        return ProxyHeader(_LOCAL, None, 0, None, 0, FIXED + length)
    block = data[FIXED:FIXED + length]
    addresses = _ADDRESSES.get(family)
    if addresses is None:
        raise ProxyError(f"PROXY command with address family {Family(family).name}: no client IP address")
    size, whole = addresses
    if length < whole:
        raise ProxyError(f"PROXY header {Family(family).name} address block of {length} octets, needs {whole}")
    if length > whole:
        _check_tlvs(block[whole:], FIXED + whole)
    return ProxyHeader(_PROXY, _text(block[:size]), (block[2 * size] << 8) | block[2 * size + 1],
                       _text(block[size:2 * size]), (block[2 * size + 2] << 8) | block[2 * size + 3], FIXED + length)


def _check_tlvs(tlvs: bytes | bytearray, offset: int) -> None:
    """TLVs are skipped, but each must fit: a length running past the header is a broken header.
    `offset`: where they start in the header, for the message."""
    at = 0
    while at < len(tlvs):
        if len(tlvs) - at < 3:
            raise ProxyError(f"PROXY header TLV at octet {offset + at} cut short")
        length = (tlvs[at + 1] << 8) | tlvs[at + 2]
        if at + 3 + length > len(tlvs):
            raise ProxyError(f"PROXY header TLV type {tlvs[at]:#x} of {length} octets runs past the header")
        at += 3 + length


def _text(packed: bytes | bytearray) -> str:
    """As the sockets name clients: an IPv4-mapped IPv6 address as IPv4, so [access] rules match.
    inet_ntop, not ipaddress: this runs for every datagram from the balancer (0.2 µs, not 3)."""
    if len(packed) == 4:
        return socket.inet_ntop(socket.AF_INET, packed)
    if packed[:12] == _MAPPED:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed)


_MAPPED = bytes(10) + b"\xff\xff"


def build_header(client: str, client_port: int, destination: str, destination_port: int,
                 transport: Transport = Transport.UDP, tlvs: bytes = b"") -> bytes:
    """A PROXY command header, as dnsdist sends: for tests and for tools that talk to fraudwall."""
    source, target = ipaddress.ip_address(client), ipaddress.ip_address(destination)
    if source.version != target.version:
        raise ValueError(f"a PROXY header names two addresses of one family, not {client} and {destination}")
    family = Family.INET if source.version == 4 else Family.INET6
    block = (source.packed + target.packed + client_port.to_bytes(2, "big") + destination_port.to_bytes(2, "big")
             + tlvs)
    kind = 2 if transport is Transport.UDP else 1
    return SIGNATURE + bytes([0x20 | Command.PROXY, family << 4 | kind]) + len(block).to_bytes(2, "big") + block


def local_header() -> bytes:
    """A LOCAL header without addresses, as a health check sends."""
    return SIGNATURE + bytes([0x20 | Command.LOCAL, 0x00, 0, 0])


class ProxyGate:
    """Which senders' bytes start with a PROXY header, and what is refused.

    `trusted`: the networks of `[server] proxy_from`. Empty (the default), nobody's header is read
    and any datagram or connection starting with the signature is refused: a client cannot claim
    another's address. `on_refused` counts each refusal (the metrics); a line is logged at most
    once per LOG_EVERY seconds, so a misconfigured balancer does not flood the log.
    """

    def __init__(self, trusted: tuple[str, ...] = (),
                 on_refused: Callable[[Refusal, Transport], None] = lambda reason, transport: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._trusted = parse_networks(trusted)
        self.on_refused = on_refused
        self.clock = clock
        self._decisions: dict[str, bool] = {}
        self._logged_at: float | None = None

    @property
    def reads_headers(self) -> bool:
        return bool(self._trusted)

    def trusts(self, sender: str) -> bool:
        if not self._trusted:
            return False
        decision = self._decisions.get(sender)
        if decision is None:
            address = client_address(sender)
            decision = address is not None and any(address in network for network in self._trusted)
            if len(self._decisions) >= REMEMBERED_CLIENTS:
                self._decisions.clear()
            self._decisions[sender] = decision
        return decision

    def datagram(self, data: bytes, sender: str) -> tuple[bytes, str] | None:
        """The DNS message and the client a datagram from `sender` carries; None: drop it (counted)."""
        if not self.trusts(sender):
            if data.startswith(SIGNATURE):
                self.refuse(Refusal.UNTRUSTED, Transport.UDP, sender, "a PROXY header from a sender not in proxy_from")
                return None
            return data, sender
        try:
            header = read_header(data)
            if header is None:
                raise ProxyError(f"PROXY header cut short: a datagram of {len(data)} octets")
        except ProxyError as error:
            self.refuse(refusal(data), Transport.UDP, sender, str(error))
            return None
        return data[header.size:], header.client or sender

    def refuse(self, reason: Refusal, transport: Transport, sender: str, why: str) -> None:
        self.on_refused(reason, transport)
        now = self.clock()
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.warning("refused a %s %s from %s: %s (more are counted in fraudwall_proxy_refused_total, "
                        "logged at most every %g s)", transport.value, "datagram" if transport is Transport.UDP
                        else "connection", sender, why, LOG_EVERY)


def starts_header(data: bytes | bytearray) -> bool | None:
    """Whether a TCP stream from an untrusted sender starts with the signature; None: too few octets yet."""
    if len(data) >= len(SIGNATURE):
        return data[:len(SIGNATURE)] == SIGNATURE
    return None if SIGNATURE.startswith(bytes(data)) else False


def refusal(data: bytes | bytearray) -> Refusal:
    """Why a trusted sender's bytes that are no header are refused: missing, unless they start with the signature."""
    return Refusal.MALFORMED if bytes(data[:len(SIGNATURE)]) == SIGNATURE else Refusal.MISSING
