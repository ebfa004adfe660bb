"""blocklist: the query's name and each of its parents, looked up in the blocklist.

What a match does is the client's policy's to say: `block` answers per the entry's action,
`warn` and `off` answer normally and mark the answer (`Withheld`) for the query log and, in
`warn`, the metrics; an entry of a list the policy does not name is as no entry.
"""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist
from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer, Withheld
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.policy import BLOCK, Policy

# Bound once: an enum member look-up is a descriptor call (~0.1 us), and a flood of listed names runs this.
_ALLOW, _NAME = Action.ALLOW, Trigger.NAME


class BlocklistStage(Stage):
    def __init__(self, blocklist: Blocklist, policy: Policy) -> None:
        """`policy`: the default, for queries the policy stage left without one."""
        super().__init__()
        self.blocklist = blocklist
        self.policy = policy

    async def resolve(self, query: Query) -> Answer:
        if not query.allowed:
            policy = query.policy or self.policy
            # Only the policy's lists decide: an entry of another list that would win is as no entry.
            match = self.blocklist.match_name(query.qname, policy.lists)
            if match is not None:
                if policy.applies(match):
                    if match.action is _ALLOW:
                        query = query._replace(allowed=True)
                    elif policy.mode == BLOCK:
                        return policy.sinkhole.answer(query, _NAME, match, steady_until=UNTIL_LISTS_CHANGE)
                    else:
                        # Let through, and nothing below blocks it again: one decision, one log row.
                        answer = await self.next.resolve(query._replace(allowed=True))
                        return answer._replace(warning=Withheld(Trigger.NAME, match, "", policy.mode))
        return await self.next.resolve(query)

    def sibling(self, name: str) -> Sibling:
        # Its sibling was blocked by an entry above it (the replay memo keeps no other), which is above
        # `name` too: with nothing listed at `name` itself, that entry decides it alike.
        return Sibling.DECIDES if self.blocklist.holds_nothing_at(name) else Sibling.DIFFERS
