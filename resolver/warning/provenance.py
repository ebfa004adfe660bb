"""Why a name is blocked, for the warning page: the answer fraudwall just gave, or the lists and the scorer."""

from __future__ import annotations

from collections import OrderedDict

from fraudwall.blocklists.verdict import Action, Blocklist, Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.scoring.score import Score, Verdict
from fraudwall.scoring.scorer import Scorer

# Recent blocks remembered per worker: enough for the pages people open after a block.
RECENT_BLOCKS = 10_000


class Provenance:
    """Answers `explain(host)`; also an observer that remembers recent blocks.

    A block by a CNAME target or an answer address leaves the name itself off every list;
    remembering the block lets the page say why all the same, until the lists change
    (`forget`): the target or address may be off them by then. What decided it is remembered,
    and rendered only when a page asks.
    """

    def __init__(self, blocklist: Blocklist, scorer: Scorer | None, scorer_blocks: bool,
                 size: int = RECENT_BLOCKS) -> None:
        self.blocklist = blocklist
        self.scorer = scorer
        self.scorer_blocks = scorer_blocks
        self.size = size
        # name -> (trigger, match, detail) of its last block
        self._recent: OrderedDict[str, tuple[Trigger, Match | Score, str | int]] = OrderedDict()

    def observe(self, query: Query, answer: Answer, seconds: float, count: int = 1) -> None:
        if answer.kind is not AnswerKind.BLOCKED and answer.kind is not AnswerKind.SCORED:
            return
        self._recent[query.qname] = (answer.trigger, answer.match, answer.detail)
        self._recent.move_to_end(query.qname)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)

    def forget(self) -> OrderedDict[str, tuple[Trigger, Match | Score, str | int]]:
        """Drop the remembered blocks: they were decided against lists that have changed. The old ones
        are returned, for the caller to drop where a stall costs nothing."""
        old, self._recent = self._recent, OrderedDict()
        return old

    def explain(self, name: str) -> BlockReason | None:
        """Why `name` is blocked now, or None when it is not."""
        match = self.blocklist.match_name(name)
        if match is not None:
            if match.action is Action.ALLOW:
                return None
            return BlockReason.of(name, Trigger.NAME, match)
        if self.scorer is not None and self.scorer_blocks:
            try:
                score = self.scorer.score(name)
            except ValueError:
                score = None
            if score is not None and score.verdict is Verdict.BLOCK:
                return BlockReason.of(name, Trigger.SCORER, score)
        recent = self._recent.get(name)
        return None if recent is None else BlockReason.of(name, *recent)
