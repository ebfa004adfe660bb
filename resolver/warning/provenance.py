"""Why a name is blocked, for the warning page: the answer fraudwall just gave, or the lists and the scorer."""

from __future__ import annotations

from collections import OrderedDict

from fraudwall.blocklists.verdict import Action, Blocklist
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.stages.blocklist import describe
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.stages.scorer import describe as describe_score
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.scoring.score import Verdict
from fraudwall.scoring.scorer import Scorer

# Recent blocks remembered per worker: enough for the pages people open after a block.
RECENT_BLOCKS = 10_000


class Provenance:
    """Answers `explain(host)`; also an observer that remembers recent blocks.

    A block by a CNAME target or an answer address leaves the name itself off every list;
    remembering the block lets the page say why all the same, until the lists change
    (`forget`): the target or address may be off them by then.
    """

    def __init__(self, blocklist: Blocklist, scorer: Scorer | None, scorer_blocks: bool,
                 size: int = RECENT_BLOCKS) -> None:
        self.blocklist = blocklist
        self.scorer = scorer
        self.scorer_blocks = scorer_blocks
        self.size = size
        self._recent: OrderedDict[str, BlockReason] = OrderedDict()

    def observe(self, query: Query, answer: Answer, seconds: float) -> None:
        if answer.kind is AnswerKind.BLOCKED:
            reason = BlockReason(query.qname, "list", answer.label, answer.reason)
        elif answer.kind is AnswerKind.SCORED:
            reason = BlockReason(query.qname, "scorer", answer.label, answer.reason)
        else:
            return
        self._recent[query.qname] = reason
        self._recent.move_to_end(query.qname)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)

    def forget(self) -> None:
        """Drop the remembered blocks: they were decided against lists that have changed."""
        self._recent.clear()

    def explain(self, name: str) -> BlockReason | None:
        """Why `name` is blocked now, or None when it is not."""
        match = self.blocklist.match_name(name)
        if match is not None:
            if match.action is Action.ALLOW:
                return None
            return BlockReason(name, "list", match.list, describe(match), "",
                               match.added or None)
        if self.scorer is not None and self.scorer_blocks:
            try:
                score = self.scorer.score(name)
            except ValueError:
                score = None
            if score is not None and score.verdict is Verdict.BLOCK:
                return BlockReason(name, "scorer", score.rule, describe_score(score), score.brand or "")
        return self._recent.get(name)
