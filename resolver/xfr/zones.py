"""The zones fraudwall publishes, as wire records: pure functions, no store and no sockets.

Each list NAME is the zone `NAME.<suffix>`; the operator's own blocks and allows are the zone
`manual.<suffix>` (the store's `manual` list). The policy records are `rpz.records`' (the one
renderer, shared with `lists export --format rpz`), encoded here with their owner written as
labels and a pointer to the zone's name in the question, which every message of a transfer carries.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from fraudwall.blocklists.formats import DomainEntry, NetworkEntry
from fraudwall.blocklists.formats import rpz
from fraudwall.resolver.dns.codec import MAX_LABEL_OCTETS, MAX_NAME_OCTETS, RR_FIXED, U32, encode_name
from fraudwall.resolver.dns.codes import QType

DEFAULT_SUFFIX = "rpz.fraudwall"
QUESTION_NAME = b"\xc0\x0c"     # a pointer at the question's name: the zone's apex
# A live primary's timers (refresh, retry, expire, minimum): a secondary that missed a NOTIFY asks
# again within 5 minutes, and goes on enforcing a zone for two weeks while its primary is away (a
# blocklist that expires opens what it was closing). An exported file keeps `rpz.SOA_TIMERS`.
SOA_TIMERS = (300, 60, 1_209_600, 60)
_TYPES = {"CNAME": QType.CNAME, "A": QType.A, "AAAA": QType.AAAA}


class Soa(NamedTuple):
    """A zone's apex: its name (lowercase, no final dot) and serial."""

    zone: str
    serial: int


def zone_name(list_name: str, suffix: str) -> str:
    return f"{list_name}.{suffix}"


def soa_record(serial: int) -> bytes:
    """The SOA record at the apex, as the first and last record of a transfer."""
    rdata = b"".join(encode_name(name) for name in rpz.SOA_NAMES) + U32.pack(serial & 0xFFFFFFFF)
    rdata += b"".join(U32.pack(timer) for timer in SOA_TIMERS)
    return QUESTION_NAME + RR_FIXED.pack(QType.SOA, 1, rpz.TTL, len(rdata)) + rdata


def ns_record() -> bytes:
    rdata = encode_name(rpz.SOA_NAMES[0])
    return QUESTION_NAME + RR_FIXED.pack(QType.NS, 1, rpz.TTL, len(rdata)) + rdata


def record(owner: str, rtype: str, data: str, zone_octets: int) -> bytes | None:
    """One policy record, its owner relative to a zone whose name takes `zone_octets` on the wire;
    None when owner and zone together are longer than a DNS name may be (such an entry cannot be
    published under this zone's name)."""
    labels = _labels(owner)
    rdata = _rdata(rtype, data)
    if labels is None or rdata is None or len(labels) + zone_octets > MAX_NAME_OCTETS:
        return None
    return labels + QUESTION_NAME + RR_FIXED.pack(_TYPES[rtype], 1, rpz.TTL, len(rdata)) + rdata


def records(zone: str, entries: Iterable[DomainEntry], networks: Iterable[NetworkEntry]) -> Iterator[bytes]:
    """The zone's policy records on the wire (no SOA, no NS), lazily: one entry read per record sent."""
    zone_octets = len(encode_name(zone))
    # The record after its owner: a few kinds repeat millions of times (`CNAME .`), so each is built once.
    tails: dict[tuple[str, str], bytes | None] = {}
    for owner, rtype, data in rpz.records(entries, networks):
        tail = tails.get((rtype, data), b"")
        if tail == b"":
            rdata = _rdata(rtype, data)
            tail = None if rdata is None else QUESTION_NAME + RR_FIXED.pack(_TYPES[rtype], 1, rpz.TTL, len(rdata)) + rdata
            if len(tails) < 1024:
                tails[(rtype, data)] = tail
        labels = _labels(owner)
        if tail is not None and labels is not None and len(labels) + zone_octets <= MAX_NAME_OCTETS:
            yield labels + tail


def _labels(owner: str) -> bytes | None:
    """`www.example.org` as wire labels without the root's zero octet (the zone's pointer follows);
    None for a label the wire cannot carry. The store's names are checked ASCII already: this is
    `encode_name`'s work done with one split, since it runs for every record of a transfer."""
    try:
        parts = owner.encode("ascii").split(b".")
    except UnicodeEncodeError:
        return None
    if not all(0 < len(part) <= MAX_LABEL_OCTETS for part in parts):
        return None
    return b"".join([bytes((len(part),)) + part for part in parts])


def _rdata(rtype: str, data: str) -> bytes | None:
    try:
        if rtype == "CNAME":
            return encode_name(data)
        return socket.inet_pton(socket.AF_INET6 if rtype == "AAAA" else socket.AF_INET, data)
    except (ValueError, OSError):   # an address the store should not hold
        return None
