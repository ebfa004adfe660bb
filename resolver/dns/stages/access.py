"""access: only the client networks it is told to serve get answers (no open resolver).

`[access] allow` names the networks served, `deny` networks refused even inside them (deny
wins), and `action` whether a refused client gets REFUSED or nothing at all.
"""

from __future__ import annotations

import ipaddress

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import Query, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Trigger

# Decisions are remembered per client address: parsing an address costs more than answering from the cache.
REMEMBERED_CLIENTS = 65_536

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(client: str) -> Address | None:
    """The address a client string names, IPv4-mapped IPv6 as IPv4; None when it names none."""
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


class AccessStage(Stage):
    def __init__(self, allow: tuple[str, ...], deny: tuple[str, ...] = (), action: str = "refuse") -> None:
        super().__init__()
        self._allow = parse_networks(allow)
        self._deny = parse_networks(deny)
        self._drop = action == "drop"
        self._decisions: dict[str, bool] = {}

    def allows(self, client: str) -> bool:
        decision = self._decisions.get(client)
        if decision is None:
            decision = self._decide(client)
            if len(self._decisions) >= REMEMBERED_CLIENTS:
                self._decisions.clear()
            self._decisions[client] = decision
        return decision

    def _decide(self, client: str) -> bool:
        address = client_address(client)
        if address is None or any(address in network for network in self._deny):
            return False
        return any(address in network for network in self._allow)

    async def resolve(self, query: Query) -> Answer:
        if self.allows(query.client):
            return await self.next.resolve(query)
        # Dropped, a refused client cannot even learn that a resolver listens here.
        body = None if self._drop else make_reply(query, Rcode.REFUSED)
        return Answer(AnswerKind.REFUSED, body, Trigger.ACCESS)

    def sibling(self, name: str) -> Sibling:
        # By the client alone: the replay memo asks `allows` of each client it replays to.
        return Sibling.PASSES
