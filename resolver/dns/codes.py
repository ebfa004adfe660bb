"""Codes that appear on the wire or in metrics, each an enum with a doc comment."""

from __future__ import annotations

import enum


class Rcode(enum.IntEnum):
    """Response codes (RFC 1035 4.1.1, RFC 6891 for the extended ones)."""

    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    BADVERS = 16  # EDNS version the server does not speak (extended rcode, RFC 6891 6.1.3)


class QType(enum.IntEnum):
    """The record types the resolver itself reads or writes."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    HINFO = 13    # what an ANY query over UDP gets (RFC 8482 4.2)
    TXT = 16
    AAAA = 28
    OPT = 41
    HTTPS = 65
    IXFR = 251    # zone transfers: a resolver has no zone to give (refused by the local stage)
    AXFR = 252
    ANY = 255


class QClass(enum.IntEnum):
    """Query classes (RFC 1035 3.2.4, RFC 2136 for NONE): fraudwall forwards IN only."""

    IN = 1
    CH = 3        # CHAOS: the server's identity and version (version.bind, id.server)
    HS = 4
    NONE = 254
    ANY = 255


class EDECode(enum.IntEnum):
    """Extended DNS Error info codes (RFC 8914) that fraudwall sends."""

    OTHER = 0
    STALE_ANSWER = 3  # an expired cached answer, served because no upstream answered (RFC 8767)
    BLOCKED = 15      # blocked by the operator's policy (a blocklist)
    CENSORED = 16
    FILTERED = 17     # filtered on the client's behalf (the look-alike scorer)
    PROHIBITED = 18   # the client may not use this resolver (access stage)
    NO_REACHABLE_AUTHORITY = 22


class Transport(enum.Enum):
    # Identity hashing in C: Enum's own __hash__ is Python code, run for every dict look-up on the query path.
    __hash__ = object.__hash__

    UDP = "udp"
    TCP = "tcp"


class AnswerKind(enum.Enum):
    """What happened to a query: derives metric labels, EDE codes and the query log's verdict."""

    __hash__ = object.__hash__  # see Transport

    RESOLVED = "answered"   # forwarded upstream and answered
    CACHED = "cached"       # answered from the cache
    STALE = "stale"         # an expired cached answer: no upstream answered (RFC 8767 serve-stale)
    BLOCKED = "blocked"     # a blocklist entry matched the name, a CNAME target or an address
    SCORED = "scored"       # the look-alike scorer blocked it
    REFUSED = "refused"     # the client is not allowed
    SERVFAIL = "servfail"   # every upstream failed
    OVERLOADED = "overloaded"  # SERVFAIL at once: too many queries already wait for an upstream
    FORMERR = "formerr"     # the query could not be read
    NOTIMP = "notimp"       # an opcode other than QUERY
    DROPPED = "dropped"     # no answer at all (RPZ drop)
    LOCAL = "local"         # answered by fraudwall itself, never forwarded: other classes than IN, ANY over UDP
    LIMITED = "limited"     # the client asked faster than [ratelimit] allows: dropped, REFUSED or TC=1


class Trigger(enum.Enum):
    """What decided an answer: with the match an `Answer` carries, everything people read about it
    (the EDE text, the warning page, the query log, the metric labels) is rendered from this (explain.py)."""

    __hash__ = object.__hash__  # see Transport

    UPSTREAM = "upstream"        # forwarded: the upstream's reply as it came
    CACHE = "cache"              # a reply kept earlier, TTLs counted down
    STALE = "stale"              # an expired reply: no upstream answered (RFC 8767 serve-stale)
    NAME = "name"                # a blocklist entry for the name or one of its parents
    CNAME_TARGET = "cname"       # a blocklist entry for a CNAME target in the upstream's reply
    ANSWER_ADDRESS = "address"   # a blocklist network holding an address in the upstream's reply
    SCORER = "scorer"            # the look-alike scorer's block verdict
    ACCESS = "access"            # the client's network is not served
    RATE_LIMIT = "ratelimit"     # the client's network asked faster than [ratelimit] allows
    ANY_OVER_UDP = "any"         # ANY over UDP: one HINFO record, never the set (RFC 8482)
    ZONE_TRANSFER = "transfer"   # AXFR or IXFR: a resolver has no zone to give
    DOH_CANARY = "canary"        # use-application-dns.net: NXDOMAIN keeps browsers on this resolver
    OTHER_CLASS = "class"        # a class other than IN: refused, or the server's identity (CHAOS)
    NO_UPSTREAM = "no-upstream"  # every upstream failed: SERVFAIL
    OVERLOAD = "overload"        # too many queries already wait for an upstream: SERVFAIL at once
    INTERNAL_ERROR = "error"     # a stage raised: SERVFAIL
