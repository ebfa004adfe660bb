"""scorer: names no list decides are judged by the look-alike scorer (a pass-through until it exists)."""

from __future__ import annotations

from fraudwall.resolver.answer import Answer
from fraudwall.resolver.chain import Stage
from fraudwall.resolver.codec import Query


class ScorerStage(Stage):
    async def resolve(self, query: Query) -> Answer:
        return await self.next.resolve(query)
