"""ratelimit: a token bucket per client network, so one client cannot take DNS away from the others.

Each client network (`[ratelimit] ipv4_prefix`, default /32; `ipv6_prefix`, default /56, what
one IPv6 site gets) has a bucket of `burst` tokens that refills at `qps` a second; a query takes
one. A client with an empty bucket gets what `action` says: "refuse" (REFUSED), "drop"
(nothing) or "slip" (an empty TC=1 reply every other time, nothing otherwise, as BIND's RRL
with slip 2: a client whose address was spoofed retries over TCP and is answered there).

UDP and TCP have buckets of their own: TCP proves the source address, so a spoofed UDP flood
cannot empty a victim's TCP bucket; a TCP client flooding on its own is limited all the same.
Over TCP, "slip" refuses: there is nothing to retry over.

A limited reply is never larger than the query (header and question echoed, no EDE), so
the limit cannot be turned into an amplifier; one that would be larger is dropped. `exempt`
networks (loopback by default: a local dnsdist or benchmark) are never limited. The table of
buckets is bounded by `max_clients`: a bucket at least half full is forgotten before a drained one.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from typing import Callable

from fraudwall.resolver.access import REMEMBERED_CLIENTS, client_address, parse_networks
from fraudwall.resolver.answer import Answer
from fraudwall.resolver.chain import Stage
from fraudwall.resolver.codec import TC, U16, Query, make_opt, make_reply
from fraudwall.resolver.codes import AnswerKind, Rcode, Transport
from fraudwall.resolver.config import RateLimitSettings

EXEMPT = ""              # the network key of an exempt (or unreadable) client: never limited
EVICTION_LOOKS = 8       # oldest buckets looked at for a full one before the oldest is forgotten anyway
_OPT_SIZE = len(make_opt(False))   # what render() adds for a client that sent EDNS (no EDE for LIMITED)
_UDP = Transport.UDP


class RateLimitStage(Stage):
    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.action = settings.action
        self.max_clients = settings.max_clients
        self.clock = clock
        # A token bucket kept as one number per client, the time its bucket is full again (GCRA):
        # each query pushes it `_interval` further; more than `_window` ahead means the bucket is
        # empty. `burst` queries at once fit: half an interval more than burst - 1 absorbs rounding.
        self._interval = 1.0 / settings.qps
        self._window = (settings.burst - 0.5) * self._interval
        self._exempt = parse_networks(settings.exempt)
        self._prefixes = {4: settings.ipv4_prefix, 6: settings.ipv6_prefix}
        # Client address -> its network's key: parsing an address costs more than the limit itself.
        self._keys: dict[str, str] = {}
        # Network key -> when its bucket is full again; oldest first.
        self._udp: OrderedDict[str, float] = OrderedDict()
        self._tcp: OrderedDict[str, float] = OrderedDict()
        self._slips = 0
        self.limited = {"refuse": 0, "truncate": 0, "drop": 0}   # by what was done, for the metrics

    @property
    def tracked(self) -> int:
        """Client networks with a bucket."""
        return len(self._udp) + len(self._tcp)

    def admits(self, client: str, tcp: bool = False) -> bool:
        """Whether `client` may ask now; takes a token when it may.

        The replay memo asks it too (for UDP) before it replays: a replay is no way round the limit.
        """
        key = self._keys.get(client)
        if key is None:
            key = self._key_of(client)
        if key is EXEMPT:
            return True
        buckets = self._tcp if tcp else self._udp
        full_at = buckets.get(key)
        now = self.clock()
        if full_at is None:
            if len(buckets) >= self.max_clients:
                self._make_room(buckets, now)
            full_at = now
        elif full_at < now:
            full_at = now
        elif full_at - now > self._window:
            return False
        buckets[key] = full_at + self._interval
        return True

    async def resolve(self, query: Query) -> Answer:
        if self.admits(query.client, query.transport is not _UDP):
            return await self.next.resolve(query)
        return self._limit(query)

    def _key_of(self, client: str) -> str:
        address = client_address(client)
        if address is None or any(address in network for network in self._exempt):
            key = EXEMPT  # an unreadable address never gets past the access stage anyway
        else:
            key = str(ipaddress.ip_network((address, self._prefixes[address.version]), strict=False))
        if len(self._keys) >= REMEMBERED_CLIENTS:
            self._keys.clear()
        self._keys[client] = key
        return key

    def _make_room(self, buckets: OrderedDict[str, float], now: float) -> None:
        """Forget one bucket: the oldest that is at least half full, else the oldest.

        A client being limited is moved to the back, so a flood of new (spoofed) sources, each
        asking once, does not hand it a fresh burst; forgetting one at least half full gives
        it back half a burst at most.
        """
        half_full = now + self._window / 2
        for _ in range(EVICTION_LOOKS):
            key, full_at = buckets.popitem(last=False)
            if full_at <= half_full:
                return
            buckets[key] = full_at
        buckets.popitem(last=False)

    def _limit(self, query: Query) -> Answer:
        action = self.action
        if action == "slip":
            if query.transport is _UDP:
                self._slips += 1
                action = "truncate" if self._slips & 1 else "drop"
            else:
                action = "refuse"
        body = None
        if action == "refuse":
            body = make_reply(query, Rcode.REFUSED)
        elif action == "truncate":
            body = make_reply(query, Rcode.NOERROR)
            body = body[:2] + U16.pack(U16.unpack_from(body, 2)[0] | TC) + body[4:]
        if body is not None and len(body) + (_OPT_SIZE if query.edns_size else 0) > len(query.wire):
            body, action = None, "drop"   # never more bytes to a limited client than it sent
        self.limited[action] += 1
        return Answer(AnswerKind.LIMITED, body, "rate limited", action)
