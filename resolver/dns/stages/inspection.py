"""inspect: an upstream's answer is judged by where it leads: its CNAME targets and its addresses.

A CNAME target or an address that a list names is blocked as the name itself would be; a CNAME
target the scorer finds a look-alike of a brand is judged as the look-alike (`cname2.example.net
CNAME www.paypa1.com` is as bad as `www.paypa1.com`). The client's policy says what either does,
as in the blocklist and scorer stages.
"""

from __future__ import annotations

from fraudwall.blocklists.verdict import Action, Blocklist, Match
from fraudwall.resolver.dns.answer import Reply, Withheld
from fraudwall.resolver.dns.chain import ReplySource
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.policy import BLOCK, OFF, Policy
from fraudwall.resolver.dns.stages.allowlist import covers
from fraudwall.resolver.dns.stages.scorer import judge
from fraudwall.scoring.score import Rule, Score, Verdict
from fraudwall.scoring.scorer import Scorer

# The rules that judge a target's registrable domain as a look-alike of a brand. CDNs name their
# hosts after their customers, in front of the CDN's own domain (www.paypal.com.edgekey.net):
# brand-subdomain, words and shape are no evidence in a CNAME target.
TARGET_RULES = frozenset(rule.value for rule in (Rule.TYPOSQUAT, Rule.HOMOGLYPH, Rule.COMBOSQUAT, Rule.TLD_SWAP))


class InspectStage(ReplySource):
    def __init__(self, blocklist: Blocklist, policy: Policy, scorer: Scorer | None = None,
                 allowlist: frozenset[str] = frozenset()) -> None:
        """`policy`: the default, for queries the policy stage left without one; `scorer`: None leaves
        CNAME targets to the lists; `allowlist`: `[allowlist] names`, never judged by the scorer."""
        super().__init__()
        self.blocklist = blocklist
        self.policy = policy
        self.scorer = scorer
        self.allowlist = allowlist

    async def fetch(self, query: Query) -> Reply:
        reply = await self.next.fetch(query)
        scan = reply.scan
        if scan is None or query.allowed:
            return reply
        policy = query.policy or self.policy
        blocklist = self.blocklist
        for target in scan.cname_targets:
            match = blocklist.match_name(target, policy.lists)
            if match is not None and match.action is not Action.ALLOW and policy.applies(match):
                return _decide(query, reply, policy, policy.mode, Trigger.CNAME_TARGET, match, target)
        for address in scan.addresses:
            match = blocklist.match_address(address, policy.lists)
            if match is not None and match.action is not Action.ALLOW and policy.applies(match):
                return _decide(query, reply, policy, policy.mode, Trigger.ANSWER_ADDRESS, match, address)
        if self.scorer is not None and scan.cname_targets and (policy.scorer != OFF or policy.mode == OFF):
            for target in scan.cname_targets:
                score = self.lookalike(query.qname, target)
                if score is not None:
                    return _decide(query, reply, policy, policy.scorer if policy.mode != OFF else OFF,
                                   Trigger.CNAME_TARGET, score, target)
        return reply

    def lookalike(self, qname: str, target: str) -> Score | None:
        """The block verdict of `target` as a look-alike that `qname` leads to, or None."""
        score = judge(self.scorer, target)
        if score is None or score.verdict is not Verdict.BLOCK or score.rule not in TARGET_RULES:
            return None
        if self.allowlist and covers(self.allowlist, target):
            return None
        match = self.blocklist.match_name(target)
        if match is not None and match.action is Action.ALLOW:
            return None
        asked = judge(self.scorer, qname)
        if asked is not None and asked.rule == Rule.BRAND_DOMAIN.value and asked.brand == score.brand:
            return None   # the brand's own name leads where the brand chose
        return score


def _decide(query: Query, reply: Reply, policy: Policy, how: str, trigger: Trigger, match: Match | Score,
            detail: str) -> Reply:
    if how == BLOCK:
        return Reply(policy.sinkhole.answer(query, trigger, match, detail))
    # Answered; the cache keeps no marked answer, so every query of it is logged (and counted).
    return Reply(reply.answer._replace(warning=Withheld(trigger, match, detail, how)), reply.scan)
