"""blocklist: the query's name and each of its parents, looked up in the blocklist."""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist, Match
from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.sinkhole import Sinkhole


def describe(match: Match) -> str:
    """The short reason a person reads in the EDE text, the warning page and the log.

    The source's file name and line, not its whole path or URL: `fraudwall check` shows those.
    """
    return f"listed in {match.list} ({match.source.rsplit('/', 1)[-1]})"


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
                    return self.sinkhole.answer(query, AnswerKind.BLOCKED, describe(match), match.list,
                                                match.action, match.redirect, UNTIL_LISTS_CHANGE)
        return await self.next.resolve(query)
