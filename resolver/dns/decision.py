"""decision: the stages that decide a query by its name and its client, and `decide`, which runs them alone.

The resolver links these stages between the rate limit and the cache (server/worker.py);
`fraudwall check` links the same stages to `Undecided` and runs one question through them. Both
give the same verdict by the same code, and explain.py renders the same reason from it: what the
EDE, the warning page and the query log say is what `check` prints. Only what an upstream's reply
holds (CNAME targets, addresses: the inspect stage) is beyond `check`.
"""

from __future__ import annotations

from fraudwall.blocklists.seen import SeenDomains
from fraudwall.blocklists.store import resolve_db
from fraudwall.blocklists.verdict import Blocklist
from fraudwall.resolver.config import Config
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage, link
from fraudwall.resolver.dns.codec import HEADER, RD, TYPE_CLASS, Query, encode_name, read_query
from fraudwall.resolver.dns.codes import AnswerKind, QClass, QType, Transport, Trigger
from fraudwall.resolver.dns.policy import OFF, Policies
from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.dns.stages.allowlist import AllowlistStage
from fraudwall.resolver.dns.stages.blocklist import BlocklistStage
from fraudwall.resolver.dns.stages.local import LocalStage
from fraudwall.resolver.dns.stages.nod import NodStage
from fraudwall.resolver.dns.stages.notify import NotifyStage
from fraudwall.resolver.dns.stages.policy import PolicyStage
from fraudwall.resolver.dns.stages.scorer import ScorerStage
from fraudwall.scoring.scorer import Scorer


def scorer_for(config: Config, policies: Policies) -> Scorer | None:
    """The look-alike scorer when any policy scores (the default follows `[scorer] mode`), else None."""
    if policies.default.scorer == OFF and all(policy.scorer == OFF and policy.mode != OFF
                                              for _, policy in policies.chosen):
        return None
    return Scorer(config.scorer)


def decision_stages(config: Config, blocklist: Blocklist, scorer: Scorer | None, policies: Policies,
                    seen: SeenDomains | None = None) -> list[Stage]:
    """The stages, in chain order, that decide by the question and the client alone; `seen`: the domains
    the network asked for lately, when `[nod]` is on."""
    stages: list[Stage] = []
    if policies:
        # First: every stage below reads the client's policy from the query; the cache key carries its tag.
        stages.append(PolicyStage(policies))
    # Before every list and the cache: they speak of class IN, and ANY over UDP must not
    # reach the upstream (RFC 8482). After the limit: CHAOS and ANY floods are limited too.
    stages.append(LocalStage(config.server.identity, config.server.doh_canary))
    # A primary's NOTIFY for a followed zone is no question: acknowledged or refused, never looked up.
    stages.append(NotifyStage(config.blocklists.follow, resolve_db(config.blocklists.db)))
    if config.allowlist.names:
        # The admin's own allowlist wins over every list and the scorer.
        stages.append(AllowlistStage(config.allowlist.names))
    # Before the cache: a name blocked live is blocked at once, even with an answer cached.
    stages.append(BlocklistStage(blocklist, policies.default))
    if scorer is not None:
        # After the lists: they are exact and cheaper; an allow entry there also skips scoring.
        stages.append(ScorerStage(scorer, policies.default))
        if seen is not None:
            # After the scorer: it reads the score the scorer cached, and leaves it the names it judges.
            stages.append(NodStage(seen, scorer, policies.default, config.nod.threshold, config.nod.action))
    return stages


class Undecided(Stage):
    """Where the decision ends for `check`: what the resolver would forward (cache and upstream)."""

    async def resolve(self, query: Query) -> Answer:
        return Answer(AnswerKind.RESOLVED, None, Trigger.UPSTREAM)


def checker(config: Config, blocklist: Blocklist, scorer: Scorer | None, policies: Policies,
            access: bool = False, seen: SeenDomains | None = None) -> Stage:
    """The resolver's decision as a chain of its own; `access`: the access stage first (a client was named);
    `seen`: read-only, so that asking never makes a domain seen."""
    first = [AccessStage(config.access.allow, config.access.deny, config.access.action)] if access else []
    return link(*first, *decision_stages(config, blocklist, scorer, policies, seen), Undecided())


def question(name: str, client: str = "", qtype: int = QType.A) -> Query:
    """The query a client would send for `name` (lowercase, ASCII), read as the listeners read it."""
    wire = HEADER.pack(0, RD, 1, 0, 0, 0) + encode_name(name) + TYPE_CLASS.pack(qtype, QClass.IN)
    query = read_query(wire, client, Transport.UDP)
    if type(query) is not Query:
        raise ValueError(f"{name!r}: {query.reason}")
    return query


def decide(chain: Stage, query: Query) -> Answer:
    """Run `chain`, whose stages never wait (no cache, no upstream), to its answer."""
    running = chain.resolve(query)
    try:
        running.send(None)
    except StopIteration as done:
        return done.value
    running.close()
    raise RuntimeError("a decision stage waited for something")
