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

On the query path the limit costs one dict look-up (the client's address to its network's
bucket, shared by every address of the network) and a float comparison and store; replayed
datagrams pass the handler's clock reading instead of reading the clock again.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from typing import Callable

from fraudwall.resolver.dns.stages.access import REMEMBERED_CLIENTS, client_address, parse_networks
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import TC, U16, Query, make_opt, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport, Trigger
from fraudwall.resolver.config import RateLimitSettings

EVICTION_LOOKS = 8       # oldest buckets looked at for a refilled one before the oldest is forgotten anyway
_EXEMPT = ()             # the "bucket" of an exempt (or unreadable) client: never limited
_OPT_SIZE = len(make_opt(False))   # what render() adds for a client that sent EDNS (no EDE for LIMITED)
_UDP = Transport.UDP


class RateLimitStage(Stage):
    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` must be the handler's: replays pass its reading to `admits`."""
        super().__init__()
        self.action = settings.action
        self.max_clients = settings.max_clients
        self.clock = clock
        # A token bucket kept as one number, the time it is full again (GCRA): each query pushes
        # it `_interval` further; more than `_window` ahead means the bucket is empty. `burst`
        # queries at once fit: half an interval more than burst - 1 absorbs rounding.
        self._interval = 1.0 / settings.qps
        self._window = (settings.burst - 0.5) * self._interval
        self._exempt = parse_networks(settings.exempt)
        self._prefixes = {4: settings.ipv4_prefix, 6: settings.ipv6_prefix}
        # Network -> [when its UDP bucket is full again, when its TCP bucket is]; oldest first.
        self._networks: OrderedDict[str, list[float]] = OrderedDict()
        # Client address -> its network's bucket (the same list): parsing an address costs more
        # than the limit itself. A client of a network forgotten since keeps the bucket it had.
        self._clients: dict[str, list[float] | tuple] = {}
        self._slips = 0
        self.limited = {"refuse": 0, "truncate": 0, "drop": 0}   # by what was done, for the metrics

    @property
    def tracked(self) -> int:
        """Client networks with a bucket."""
        return len(self._networks)

    def admits(self, client: str, now: float, tcp: bool = False) -> bool:
        """Whether `client` may ask at `now`; takes a token when it may.

        The replay memo asks it too (for UDP) before it replays: a replay is no way round the limit.
        """
        bucket = self._clients.get(client)
        if bucket is None:
            bucket = self._bucket_of(client, now)
        if bucket is _EXEMPT:
            return True
        full_at = bucket[tcp]
        if full_at < now:
            full_at = now
        elif full_at - now > self._window:
            return False
        bucket[tcp] = full_at + self._interval
        return True

    async def resolve(self, query: Query) -> Answer:
        if self.admits(query.client, self.clock(), query.transport is not _UDP):
            return await self.next.resolve(query)
        return self._limit(query)

    def sibling(self, name: str) -> Sibling:
        # By the client alone: a replay takes its token through `admits`, as a query down the chain would.
        return Sibling.PASSES

    def _bucket_of(self, client: str, now: float) -> list[float] | tuple:
        address = client_address(client)
        if address is None or any(address in network for network in self._exempt):
            bucket = _EXEMPT  # an unreadable address never gets past the access stage anyway
        else:
            network = str(ipaddress.ip_network((address, self._prefixes[address.version]), strict=False))
            bucket = self._networks.get(network)
            if bucket is None:
                if len(self._networks) >= self.max_clients:
                    self._make_room(now)
                bucket = self._networks[network] = [now, now]
        if len(self._clients) >= REMEMBERED_CLIENTS:
            self._clients.clear()
        self._clients[client] = bucket
        return bucket

    def _make_room(self, now: float) -> None:
        """Forget one network: the oldest whose buckets are at least half full, else the oldest.

        A client being limited is moved to the back, so a flood of new (spoofed) sources, each
        asking once, does not hand it a fresh burst; forgetting one at least half full gives
        it back half a burst at most.
        """
        half_full = now + self._window / 2
        networks = self._networks
        for _ in range(EVICTION_LOOKS):
            network, bucket = networks.popitem(last=False)
            if bucket[0] <= half_full and bucket[1] <= half_full:
                return
            networks[network] = bucket
        networks.popitem(last=False)

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
        return Answer(AnswerKind.LIMITED, body, Trigger.RATE_LIMIT, detail=action)
