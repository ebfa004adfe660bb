"""Stages and the chain that links them (Blocky's chain of resolvers)."""

from __future__ import annotations

import enum

from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.codec import Query


class Sibling(enum.Enum):
    """How a stage treats a sibling of a query it has seen: the same question with another first label
    (`x7f.evil.example` after `a1b.evil.example`), from a client it treats alike. `Stage.sibling`."""

    PASSES = "passes"     # passes it on, as it passed the query on
    DECIDES = "decides"   # answers it as it answered the query, to the byte but for the question
    DIFFERS = "differs"   # may treat it otherwise: it must go down the chain


class Stage:
    """One link: answers a query itself or passes it to `next`, and may look at what comes back."""

    def __init__(self) -> None:
        self.next: Stage | None = None

    async def resolve(self, query: Query) -> Answer:
        raise NotImplementedError

    def sibling(self, name: str) -> Sibling:
        """How this stage treats `name`, a sibling of a query it passed on or answered (and, when it
        answered, for a reason found above the name: replay.py keeps only such answers). A stage that
        reads the name says so here; one that does not know says DIFFERS."""
        return Sibling.DIFFERS


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


def answers_sibling(chain: Stage, name: str) -> bool:
    """Whether the chain gives `name` the answer it gave its sibling: every stage down to the one that
    answered passes it on, and that one decides it alike."""
    stage: Stage | None = chain
    while stage is not None:
        treats = stage.sibling(name)
        if treats is not _PASSES:
            return treats is _DECIDES
        stage = stage.next
    return False


_PASSES, _DECIDES = Sibling.PASSES, Sibling.DECIDES
