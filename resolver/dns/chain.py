"""Stages and the chain that links them (Blocky's chain of resolvers)."""

from __future__ import annotations

from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.codec import Query


class Stage:
    """One link: answers a query itself or passes it to `next`, and may look at what comes back."""

    def __init__(self) -> None:
        self.next: Stage | None = None

    async def resolve(self, query: Query) -> Answer:
        raise NotImplementedError


class ReplySource(Stage):
    """A stage below the cache (inspect, upstream): `fetch` hands up the reply with the upstream's walk.

    The cache stage and the inspect stage fetch from the stage after them, which must be one.
    """

    async def fetch(self, query: Query) -> Reply:
        raise NotImplementedError

    async def resolve(self, query: Query) -> Answer:
        return (await self.fetch(query)).answer


def link(*stages: Stage) -> Stage:
    """Link the stages in order and return the first; the last one must answer everything."""
    for stage, following in zip(stages, stages[1:]):
        stage.next = following
    return stages[0]
