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
from fraudwall.resolver.dns.codec import MAX_NAME_OCTETS, RR_FIXED, U32, encode_name
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
    try:
        labels = encode_name(owner)[:-1]
        if rtype == "CNAME":
            rdata = encode_name(data)
        else:
            rdata = socket.inet_pton(socket.AF_INET6 if rtype == "AAAA" else socket.AF_INET, data)
    except (ValueError, OSError):   # a label of more than 63 octets; an address the store should not hold
        return None
    if len(labels) + zone_octets > MAX_NAME_OCTETS:
        return None
    return labels + QUESTION_NAME + RR_FIXED.pack(_TYPES[rtype], 1, rpz.TTL, len(rdata)) + rdata


def records(zone: str, entries: Iterable[DomainEntry], networks: Iterable[NetworkEntry]) -> Iterator[bytes]:
    """The zone's policy records on the wire (no SOA, no NS), lazily: one entry read per record sent."""
    zone_octets = len(encode_name(zone))
    for owner, rtype, data in rpz.records(entries, networks):
        encoded = record(owner, rtype, data, zone_octets)
        if encoded is not None:
            yield encoded
