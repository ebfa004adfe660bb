"""scorer: names no list decides are judged by the look-alike scorer.

`block` verdicts are sinkholed with the scorer as provenance; `warn` verdicts are
answered normally and marked on the answer, so the query log and the metrics see them.
The client's policy says what a `block` verdict does: with scorer "warn" (or `[scorer] mode =
"warn-only"` for the default) it is treated as a warning, with "off" or mode "off" it is
answered and only logged. Scores are cached by the scorer per name and per registrable domain,
so names seen before cost a dict look-up.
"""

from __future__ import annotations

from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer, Withheld
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.policy import BLOCK, OFF, WARN, Policy
from fraudwall.scoring.score import Score, Verdict
from fraudwall.scoring.scorer import Scorer

# Bound once: an enum member look-up is a descriptor call (~0.1 us), and every new name is judged here.
_ALLOW, _BLOCK, _SCORER = Verdict.ALLOW, Verdict.BLOCK, Trigger.SCORER


def judge(scorer: Scorer, name: str) -> Score | None:
    try:
        return scorer.score(name)
    except ValueError:
        # Not a host name (service labels, odd bytes): nothing a person types into a browser.
        return None


class ScorerStage(Stage):
    def __init__(self, scorer: Scorer, policy: Policy) -> None:
        """`policy`: the default, for queries the policy stage left without one."""
        super().__init__()
        self.scorer = scorer
        self.policy = policy

    def judge(self, qname: str) -> Score | None:
        return judge(self.scorer, qname)

    async def resolve(self, query: Query) -> Answer:
        if query.allowed:
            return await self.next.resolve(query)
        policy = query.policy or self.policy
        if policy.scorer == OFF and policy.mode != OFF:
            return await self.next.resolve(query)
        score = judge(self.scorer, query.qname)
        if score is None or score.verdict is _ALLOW:
            return await self.next.resolve(query)
        if score.verdict is _BLOCK:
            if policy.scorer == BLOCK:
                # A score follows from the name alone; a list change may allow it, and clears the replays.
                return policy.sinkhole.answer(query, _SCORER, score, steady_until=UNTIL_LISTS_CHANGE)
            # A block the policy does not enforce: warned about (scorer "warn", warn-only), or only logged
            # (mode off). Under a warning, a listed CNAME target or address in the answer still blocks it.
            if policy.mode == OFF:
                answer = await self.next.resolve(query._replace(allowed=True))
                return answer._replace(warning=Withheld(Trigger.SCORER, score, "", OFF))
            answer = await self.next.resolve(query)
            return answer if answer.warning is not None else answer._replace(
                warning=Withheld(Trigger.SCORER, score, "", WARN))
        if policy.mode == OFF:
            return await self.next.resolve(query)
        answer = await self.next.resolve(query)
        return answer._replace(warning=score)
