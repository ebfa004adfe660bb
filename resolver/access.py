"""access: only the client networks it is told to serve get answers (no open resolver)."""

from __future__ import annotations

import ipaddress

from fraudwall.resolver.answer import Answer
from fraudwall.resolver.chain import Stage
from fraudwall.resolver.codec import Query, make_reply
from fraudwall.resolver.codes import AnswerKind, Rcode

# Decisions are remembered per client address: parsing an address costs more than answering from the cache.
_REMEMBERED_CLIENTS = 65_536


class AccessStage(Stage):
    def __init__(self, networks: tuple[str, ...]) -> None:
        super().__init__()
        self._networks = tuple(ipaddress.ip_network(network, strict=False) for network in networks)
        self._decisions: dict[str, bool] = {}

    def allows(self, client: str) -> bool:
        decision = self._decisions.get(client)
        if decision is None:
            decision = self._decide(client)
            if len(self._decisions) >= _REMEMBERED_CLIENTS:
                self._decisions.clear()
            self._decisions[client] = decision
        return decision

    def _decide(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    async def resolve(self, query: Query) -> Answer:
        if self.allows(query.client):
            return await self.next.resolve(query)
        return Answer(AnswerKind.REFUSED, make_reply(query, Rcode.REFUSED),
                      "client network not served", "access")
