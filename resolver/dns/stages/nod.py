"""nod: a registrable domain this network has not asked for lately is remembered, and warned about
(or blocked) when the scorer found its name somewhat suspicious (PowerDNS Recursor's "newly observed
domains").

Fraud domains are days old when they are used; the domains people use are asked for every day. So a
score too low for the scorer to warn about (`[scorer] warn_threshold`) says more when nobody here has
asked for the domain in days: from `[nod] threshold` up, such a first sighting is warned about
(answered, logged as newly observed, counted) or, with `[nod] action = "block"`, sinkholed.

It sits after the scorer stage, which judges every name first and passes on those it lets through (and
those it only warns about), and reads the scorer's cached score of the name (a dict look-up), never
scoring twice. A name the scorer warns about or blocks is the scorer's: a newly observed one is only
remembered, unless `[nod] action` blocks. A query allowed by a list or the allowlist is neither
remembered nor judged. A policy whose scorer is "off" (or whose mode is) keeps it from acting, not from
remembering; one whose scorer only warns turns `action = "block"` into a warning.

What it costs a query: the registrable domain (cached per name), then a set look-up when this worker has
met the domain since the period began, else one xxh3 hash and a few bit tests in the shared mapped memory
(blocklists/seen.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from fraudwall.blocklists.seen import SeenDomains
from fraudwall.resolver.dns.answer import Answer, Withheld
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.policy import BLOCK, OFF, WARN, Policy
from fraudwall.resolver.dns.stages.scorer import judge
from fraudwall.scoring.names import Parts, public_suffixes
from fraudwall.scoring.score import Verdict
from fraudwall.scoring.scorer import Scorer

# Names whose registrable domain is kept per process: repeats of a name skip the suffix list.
DOMAIN_CACHE = 65_536


def registrable_of(split: Callable[[str], Parts]) -> Callable[[str], str]:
    """`name` -> its registrable domain ("" for a public suffix or a name with none), cached per name."""

    @functools.lru_cache(maxsize=DOMAIN_CACHE)
    def registrable(name: str) -> str:
        try:
            parts = split(name)
        except ValueError:
            return ""
        return f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else ""

    return registrable


class NodStage(Stage):
    def __init__(self, seen: SeenDomains, scorer: Scorer, policy: Policy, threshold: float,
                 action: str = "warn") -> None:
        """`policy`: the default, for queries the policy stage left without one; `seen`: read-only in
        `fraudwall check`, which must not remember what it is asked about."""
        super().__init__()
        self.seen = seen
        self.scorer = scorer
        self.policy = policy
        self.threshold = threshold
        self.blocks = action == "block"
        self.registrable = registrable_of(public_suffixes().split)
        # Newly observed domains by what was done (warn, block, none): the worker copies it into
        # fraudwall_newly_observed_total.
        self.observed = {"warn": 0, "block": 0, "none": 0}

    async def resolve(self, query: Query) -> Answer:
        if query.allowed:
            return await self.next.resolve(query)
        domain = self.registrable(query.qname)
        if not domain or not self.seen.observe(domain):
            return await self.next.resolve(query)
        policy = query.policy or self.policy
        # The policy's scorer setting says what a score may do (a mode warn or off policy's already says so).
        score = None if policy.scorer == OFF else judge(self.scorer, query.qname)
        if score is None or score.value < self.threshold:
            self.observed["none"] += 1
            return await self.next.resolve(query)
        if self.blocks and policy.scorer == BLOCK:
            self.observed["block"] += 1
            # No promise to replay it: the next query finds the domain seen and is answered.
            return policy.sinkhole.answer(query, Trigger.SCORER, score, domain)
        answer = await self.next.resolve(query)
        if score.verdict is not Verdict.ALLOW or answer.warning is not None:
            # The scorer warns about it (or a list's block was withheld below): that reason stands.
            self.observed["none"] += 1
            return answer
        self.observed["warn"] += 1
        # Not replayed (replay.py): the same query again finds the domain seen, and is not warned about.
        return answer._replace(warning=Withheld(Trigger.SCORER, score, domain, WARN), steady_until=0.0)
