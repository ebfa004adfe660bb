"""quota: slots held by clients (TCP connections, queries waiting upstream), bounded in all and per client.

A client is counted by its network: an IPv4 address, or the IPv6 /56 it is in (what one site
gets), so a host cannot pass a per-client bound by taking new addresses from its own prefix.
"""

from __future__ import annotations

import ipaddress

from fraudwall.resolver.dns.stages.access import client_address

IPV6_SITE_PREFIX = 56


def client_network(client: str) -> str:
    """The key a per-client bound counts `client` under."""
    if ":" not in client:
        return client  # an IPv4 address is its own key: no parse on the query path
    address = client_address(client)
    if address is None:
        return client
    if address.version == 4:
        return str(address)
    return str(ipaddress.ip_network((address, IPV6_SITE_PREFIX), strict=False))


class Quota:
    """At most `total` slots held in all and `per_client` by any one client network."""

    TOTAL = "total"
    CLIENT = "client"

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.held = 0
        self._by_client: dict[str, int] = {}   # only clients holding a slot: bounded by `total`

    def take(self, client: str) -> str:
        """Take a slot for the client network `client`: "" when taken, else the bound that is full."""
        if self.held >= self.total:
            return self.TOTAL
        holds = self._by_client.get(client, 0)
        if holds >= self.per_client:
            return self.CLIENT
        self._by_client[client] = holds + 1
        self.held += 1
        return ""

    def give_back(self, client: str) -> None:
        holds = self._by_client.get(client, 0)
        if holds <= 0:
            return
        self.held -= 1
        if holds == 1:
            del self._by_client[client]
        else:
            self._by_client[client] = holds - 1

    def held_by(self, client: str) -> int:
        return self._by_client.get(client, 0)
