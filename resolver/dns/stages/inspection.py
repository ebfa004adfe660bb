"""inspect: an upstream's answer is blocked when a CNAME target or an address in it is listed."""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist
from fraudwall.resolver.dns.answer import Reply
from fraudwall.resolver.dns.chain import ReplySource
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.sinkhole import Sinkhole


class InspectStage(ReplySource):
    def __init__(self, blocklist: Blocklist, sinkhole: Sinkhole) -> None:
        super().__init__()
        self.blocklist = blocklist
        self.sinkhole = sinkhole

    async def fetch(self, query: Query) -> Reply:
        reply = await self.next.fetch(query)
        scan = reply.scan
        if scan is None or query.allowed:
            return reply
        for target in scan.cname_targets:
            match = self.blocklist.match_name(target)
            if match is not None and match.action is not Action.ALLOW:
                return Reply(self.sinkhole.answer(query, Trigger.CNAME_TARGET, match, target))
        for address in scan.addresses:
            match = self.blocklist.match_address(address)
            if match is not None and match.action is not Action.ALLOW:
                return Reply(self.sinkhole.answer(query, Trigger.ANSWER_ADDRESS, match, address))
        return reply
