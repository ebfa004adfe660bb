"""allowlist: names an admin allows explicitly pass untouched by the blocking stages."""

from __future__ import annotations

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.scoring.names import normalise_name, parents


def covers(names: frozenset[str], qname: str) -> bool:
    """Whether `qname` or one of its parents is in `names`."""
    return not names.isdisjoint(parents(qname))


class AllowlistStage(Stage):
    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        # `[allowlist] names` are normalised when the config is read; again here for other callers.
        self._names = frozenset(normalise_name(name) for name in names if name.strip())

    async def resolve(self, query: Query) -> Answer:
        if self._names and covers(self._names, query.qname):
            query = query._replace(allowed=True)
        return await self.next.resolve(query)

    def sibling(self, name: str) -> Sibling:
        # Its parents are its sibling's, which none of the names covered: the name itself is left.
        return Sibling.DIFFERS if name in self._names else Sibling.PASSES
