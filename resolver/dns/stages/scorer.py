"""scorer: names no list decides are judged by the look-alike scorer.

`block` verdicts are sinkholed with the scorer as provenance; `warn` verdicts are
answered normally and marked on the answer, so the query log and the metrics see them.
In `warn-only` mode a `block` verdict is treated as a warning. Scores are cached by
the scorer per name and per registrable domain, so names seen before cost a dict look-up.
"""

from __future__ import annotations

from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.sinkhole import Sinkhole
from fraudwall.scoring.score import Score, Verdict
from fraudwall.scoring.scorer import Scorer


class ScorerStage(Stage):
    def __init__(self, scorer: Scorer, sinkhole: Sinkhole, blocks: bool) -> None:
        super().__init__()
        self.scorer = scorer
        self.sinkhole = sinkhole
        self.blocks = blocks

    def judge(self, qname: str) -> Score | None:
        try:
            return self.scorer.score(qname)
        except ValueError:
            # Not a host name (service labels, odd bytes): nothing a person types into a browser.
            return None

    async def resolve(self, query: Query) -> Answer:
        if query.allowed:
            return await self.next.resolve(query)
        score = self.judge(query.qname)
        if score is None or score.verdict is Verdict.ALLOW:
            return await self.next.resolve(query)
        if score.verdict is Verdict.BLOCK and self.blocks:
            # A score follows from the name alone; a list change may allow it, and clears the replays.
            return self.sinkhole.answer(query, Trigger.SCORER, score, steady_until=UNTIL_LISTS_CHANGE)
        answer = await self.next.resolve(query)
        return answer._replace(warning=score)
