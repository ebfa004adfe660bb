"""Which upstream to ask next: the business logic of failover, without sockets or clocks of its own.

Like dnspython's resolver, the asyncio code asks `order()` whom to try and reports each
outcome with `succeeded()` or `failed()`. A failing server is held back for a while that
doubles with each failure (up to a minute) and then gets a fair chance again.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

INITIAL_RTT = 0.050     # seconds, until a server has answered
RTT_WEIGHT = 0.3        # of the newest sample in the smoothed RTT
MAX_HOLD_BACK = 60.0


class Upstream(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


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
        now = self.clock()
        available = []
        held = []
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
