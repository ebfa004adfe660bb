"""blocklist: the query's name and each of its parents, looked up in the blocklist."""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist
from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.sinkhole import Sinkhole


class BlocklistStage(Stage):
    def __init__(self, blocklist: Blocklist, sinkhole: Sinkhole) -> None:
        super().__init__()
        self.blocklist = blocklist
        self.sinkhole = sinkhole

    async def resolve(self, query: Query) -> Answer:
        if not query.allowed:
            match = self.blocklist.match_name(query.qname)
            if match is not None:
                if match.action is Action.ALLOW:
                    query = query._replace(allowed=True)
                else:
                    return self.sinkhole.answer(query, Trigger.NAME, match, steady_until=UNTIL_LISTS_CHANGE)
        return await self.next.resolve(query)
