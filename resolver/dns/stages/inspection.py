"""inspect: an upstream's answer is blocked when a CNAME target or an address in it is listed."""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.sinkhole import Sinkhole


class InspectStage(Stage):
    def __init__(self, blocklist: Blocklist, sinkhole: Sinkhole) -> None:
        super().__init__()
        self.blocklist = blocklist
        self.sinkhole = sinkhole

    async def resolve(self, query: Query) -> Answer:
        answer = await self.next.resolve(query)
        scan = answer.scan
        if scan is None or query.allowed:
            return answer
        for target in scan.cname_targets:
            match = self.blocklist.match_name(target)
            if match is not None and match.action is not Action.ALLOW:
                return self.sinkhole.answer(query, Trigger.CNAME_TARGET, match, target)
        for address in scan.addresses:
            match = self.blocklist.match_address(address)
            if match is not None and match.action is not Action.ALLOW:
                return self.sinkhole.answer(query, Trigger.ANSWER_ADDRESS, match, address)
        return answer
