"""Which upstream to ask next, over which transport, and what counts as a failure: the
business logic of forwarding, without sockets or clocks of its own.

Like dnspython's resolver, the asyncio code (server/upstream.py) only moves bytes: it asks a
`Resolution` for the next request, sends it, and tells it the `Outcome`, until the resolution
says it is done. `UpstreamPool` is what the resolutions of one worker share: each server's
smoothed RTT and health. A failing server is held back for a while that doubles with each
failure (up to a minute) and then gets a fair chance again.
"""

from __future__ import annotations

import enum
from typing import Any, Callable, NamedTuple

from fraudwall.resolver.dns.codes import Rcode, Transport

INITIAL_RTT = 0.050     # seconds, until a server has answered
RTT_WEIGHT = 0.3        # of the newest sample in the smoothed RTT
MAX_HOLD_BACK = 60.0


class Upstream(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class Outcome(enum.Enum):
    """How one exchange with an upstream went, and the `outcome` label it counts under in
    fraudwall_upstream_requests_total: ok (it replied), timeout or error."""

    # Identity hashing in C, as for Transport: looked up once per forwarded query.
    __hash__ = object.__hash__

    OK = ("ok", "ok")                  # a reply to give the client (NOERROR, NXDOMAIN, ...)
    SERVFAIL = ("servfail", "ok")      # a reply, but maybe only about this name (a broken zone)
    REFUSED = ("refused", "error")     # the upstream will not serve us
    TRUNCATED = ("truncated", "ok")    # TC: the whole answer only comes over TCP
    TIMEOUT = ("timeout", "timeout")
    ERROR = ("error", "error")         # unreachable, connection lost, an unreadable reply

    def __init__(self, name: str, label: str) -> None:
        self.label = label

    @classmethod
    def of_rcode(cls, rcode: int) -> "Outcome":
        """The outcome of a whole, readable reply with `rcode`."""
        return _BY_RCODE.get(rcode, _OK)


# Module names for the members the query path compares with: an Enum class attribute costs
# a descriptor call each time it is read.
_OK, _SERVFAIL, _TRUNCATED = Outcome.OK, Outcome.SERVFAIL, Outcome.TRUNCATED
_UDP, _TCP = Transport.UDP, Transport.TCP
_BY_RCODE = {Rcode.SERVFAIL.value: _SERVFAIL, Rcode.REFUSED.value: Outcome.REFUSED}


class _Health:
    __slots__ = ("srtt", "failures", "held_until")

    def __init__(self) -> None:
        self.srtt = INITIAL_RTT
        self.failures = 0
        self.held_until = 0.0


class UpstreamPool:
    def __init__(self, servers: tuple[Upstream, ...], clock: Callable[[], float]) -> None:
        if not servers:
            raise ValueError("no upstream servers")
        self.servers = servers
        self.clock = clock
        self._health = {server: _Health() for server in servers}

    def order(self) -> list[Upstream]:
        """Servers in the order to try them: available ones fastest first, held-back ones last."""
        if len(self.servers) == 1:
            return list(self.servers)
        now = self.clock()
        available: list[Upstream] = []
        held: list[Upstream] = []
        for server in self.servers:
            health = self._health[server]
            (held if health.held_until > now else available).append(server)
        available.sort(key=lambda server: self._health[server].srtt)
        held.sort(key=lambda server: self._health[server].held_until)
        return available + held

    def succeeded(self, server: Upstream, rtt: float) -> None:
        health = self._health[server]
        if health.failures:
            health.srtt = rtt
        else:
            health.srtt += RTT_WEIGHT * (rtt - health.srtt)
        health.failures = 0
        health.held_until = 0.0

    def failed(self, server: Upstream) -> None:
        health = self._health[server]
        health.failures += 1
        hold = min(MAX_HOLD_BACK, 0.5 * 2 ** (health.failures - 1))
        health.held_until = self.clock() + hold

    def is_healthy(self, server: Upstream) -> bool:
        return self._health[server].failures == 0

    def smoothed_rtt(self, server: Upstream) -> float:
        return self._health[server].srtt


class Resolution:
    """One query's way through the upstreams: `attempts` rounds over the pool's order, taken
    once at the start, each try over UDP first.

    * OK: that reply is the answer; nothing more is asked.
    * SERVFAIL may be about the name alone: the next upstream is asked without holding the
      first back, and the SERVFAIL stands only when nobody answers better.
    * REFUSED, TIMEOUT, ERROR: the upstream failed us and is held back; the next one is asked.
    * TRUNCATED over UDP: the same upstream is asked again over TCP, and that try's time
      counts both. Over TCP it can never come whole: a failure (as dnspython has it).

    Drive it with `next_request()` and `record()` until `next_request()` returns None; `reply`
    is then what the last OK or SERVFAIL was recorded with, or None when every try failed.
    """

    __slots__ = ("pool", "reply", "_servers", "_next", "_server", "_transport", "_carried", "_answered")

    def __init__(self, pool: UpstreamPool, attempts: int) -> None:
        self.pool = pool
        self.reply: Any = None
        self._servers = pool.order() * attempts
        self._next = 0
        self._server: Upstream | None = None
        self._transport = _UDP    # of the request in progress
        self._carried = 0.0       # seconds of the UDP try a TCP retry continues
        self._answered = False

    def next_request(self) -> tuple[Upstream, Transport] | None:
        """The upstream to ask next and over which transport; None when done."""
        if self._answered:
            return None
        if self._transport is _TCP:
            return self._server, _TCP   # type: ignore[return-value]
        if self._next == len(self._servers):
            return None
        server = self._server = self._servers[self._next]
        self._next += 1
        return server, _UDP

    def record(self, outcome: Outcome, seconds: float, reply: Any = None) -> None:
        """How the request `next_request()` gave last went, after `seconds`; `reply` is kept
        as the answer when the outcome is OK or SERVFAIL."""
        server = self._server
        if server is None:
            raise RuntimeError("record() before next_request()")
        if self._transport is _TCP:
            self._transport = _UDP
            seconds += self._carried
        elif outcome is _TRUNCATED:
            self._transport = _TCP
            self._carried = seconds
            return
        if outcome is _OK:
            self.pool.succeeded(server, seconds)
            self.reply = reply
            self._answered = True
        elif outcome is _SERVFAIL:
            self.pool.succeeded(server, seconds)
            self.reply = reply
        else:
            self.pool.failed(server)
