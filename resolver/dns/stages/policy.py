"""policy: the client's policy, chosen once per query, put on the query for the stages below.

Left out of the chain when no `[[policy]]` table is configured: every stage then decides by the
default policy it was built with. The answer carries the policy's name back up, for the EDE, the
query log and the metrics; the cache key carries its tag down, so the answer cache and the
in-flight joins never hand one policy's decision to another's client.
"""

from __future__ import annotations

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.policy import Policies


class PolicyStage(Stage):
    def __init__(self, policies: Policies) -> None:
        super().__init__()
        self.policies = policies

    async def resolve(self, query: Query) -> Answer:
        policy = self.policies.select(query.client)
        answer = await self.next.resolve(query._replace(policy=policy, key=query.key + policy.tag))
        return answer._replace(policy=policy.name)

    def sibling(self, name: str) -> Sibling:
        # By the client alone: the replay memo replays only to clients of the same policy.
        return Sibling.PASSES
