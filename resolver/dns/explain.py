"""explain: what people and dashboards read about an answer, rendered from what it carries.

A stage says what decided its answer (a `Trigger`) and hands over what matched: the list's
`Match`, the scorer's `Score`, and for a CNAME target or an answer address, which one (the
answer's `detail`). No stage formats text and nothing parses it back: the EDE text, the query
log's reason and label, the metric labels and the warning page's reason are rendered here, and
only when read (an EDE when a reply carries one, a log row when its batch is taken, a metric
when a block is counted, a page when one is asked for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from fraudwall.blocklists.store import MANUAL_LIST
from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Trigger
from fraudwall.scoring.score import Score

if TYPE_CHECKING:
    from fraudwall.resolver.dns.answer import Answer, Withheld

# RFC 8914 codes follow from what happened, so no stage chooses its own.
EDE_BY_KIND = {
    AnswerKind.BLOCKED: EDECode.BLOCKED,
    AnswerKind.SCORED: EDECode.FILTERED,
    AnswerKind.REFUSED: EDECode.PROHIBITED,
    AnswerKind.SERVFAIL: EDECode.NO_REACHABLE_AUTHORITY,
    AnswerKind.STALE: EDECode.STALE_ANSWER,
    AnswerKind.OVERLOADED: EDECode.OTHER,  # RFC 8914 has no code for "too busy": the text says it
}

# Enum members bound once: a member look-up is a descriptor call (~0.1 us), and every blocked reply's EDE
# and every block counted is rendered here.
_NAME, _CNAME_TARGET, _ANSWER_ADDRESS, _SCORER, _OTHER_CLASS = (
    Trigger.NAME, Trigger.CNAME_TARGET, Trigger.ANSWER_ADDRESS, Trigger.SCORER, Trigger.OTHER_CLASS)
_SCORED = AnswerKind.SCORED

# Triggers whose match is a blocklist entry.
LIST_TRIGGERS = frozenset((Trigger.NAME, Trigger.CNAME_TARGET, Trigger.ANSWER_ADDRESS))
# `fraudwall_blocked_total`'s reason label, in a plain dict: an enum's `.value` is a property call.
_BLOCKED_BY = {trigger: trigger.value for trigger in (*LIST_TRIGGERS, Trigger.SCORER)}
# The policy label of an answer decided with no `[[policy]]` configured.
DEFAULT_POLICY = "default"
# The rule label of a score acted on because its domain is new to the network (stages/nod.py); such an
# answer or warning has the scorer's trigger and, as its detail, the newly observed registrable domain.
NEWLY_OBSERVED = "newly-observed"

# The text and label of the triggers with nothing matched; a label of None is the answer's
# `detail` (what the rate limit did, which in-flight bound was reached).
_FIXED: dict[Trigger, tuple[str, str | None]] = {
    Trigger.UPSTREAM: ("", ""),
    Trigger.CACHE: ("", ""),
    Trigger.STALE: ("no upstream answered; answer expired", "stale"),
    Trigger.ACCESS: ("client network not served", "access"),
    Trigger.RATE_LIMIT: ("rate limited", None),
    Trigger.ANY_OVER_UDP: ("RFC 8482: ANY over UDP", "any"),
    Trigger.ZONE_TRANSFER: ("zone transfer not served", "transfer"),
    Trigger.DOH_CANARY: ("DoH canary: browsers keep using this resolver", "canary"),
    Trigger.NO_UPSTREAM: ("no upstream answered", "upstream"),
    Trigger.OVERLOAD: ("too many queries in flight", None),
    Trigger.INTERNAL_ERROR: ("internal error", "error"),
}


def listed(match: Match) -> str:
    """A list entry as a person reads it: the list, the source's file name and line (not its whole
    path or URL: `fraudwall check` shows those), and the operator's `--reason` for an entry of their own."""
    where = f"listed in {match.list} ({match.source.rsplit('/', 1)[-1]})"
    # An operator's entry keeps its `--reason` as its rule; without one, the rule is the name itself.
    if match.list == MANUAL_LIST and match.rule != match.name:
        return f"{where}: {match.rule}"
    return where


def decided(match: Match | Score) -> str:
    """What a list entry or a score says, whichever decided."""
    return scored(match) if type(match) is Score else listed(match)


def scored(score: Score) -> str:
    """A score as a person reads it: the value, the strongest signal (it names the brand imitated)."""
    reason = score.reasons[0] if score.reasons else "fraud-like name"
    return f"scored {score.value:.2f}: {reason}"


def newly_observed(score: Score, domain: str | int) -> str:
    """A score that counts because nobody on this network asked for its domain lately."""
    return f"newly observed: {domain} is new to this network; {scored(score)}"


def text(trigger: Trigger, match: Match | Score | None = None, detail: str | int = "") -> str:
    """The reason a person reads: the EDE text, the query log's reason, the warning page's detail."""
    if trigger is _NAME:
        return listed(match)
    if trigger is _CNAME_TARGET:
        return f"alias {detail} {decided(match)}"   # listed, or scored as a look-alike
    if trigger is _ANSWER_ADDRESS:
        return f"address {detail} {listed(match)}"
    if trigger is _SCORER:
        return newly_observed(match, detail) if detail else scored(match)
    if trigger is _OTHER_CLASS:
        return f"class {detail} not served"
    return _FIXED[trigger][0]


def label(trigger: Trigger, match: Match | Score | None = None, detail: str | int = "") -> str:
    """A low-cardinality label: the list or scorer rule, or what a bound did; the query log's label column."""
    if trigger is _SCORER and detail:
        return NEWLY_OBSERVED
    if trigger is _SCORER or (trigger in LIST_TRIGGERS and type(match) is Score):
        return match.rule
    if trigger in LIST_TRIGGERS:
        return match.list
    if trigger is _OTHER_CLASS:
        return "class"
    fixed = _FIXED[trigger][1]
    return str(detail) if fixed is None else fixed


# -- from an answer -----------------------------------------------------------------------------

def ede(answer: Answer) -> tuple[EDECode, str] | None:
    """The Extended DNS Error a reply carries (RFC 8914), or None."""
    code = EDE_BY_KIND.get(answer.kind)
    if code is None:
        return None
    reason = text(answer.trigger, answer.match, answer.detail)
    # With `[[policy]]` tables, which policy decided is part of the why ("guests are strict").
    return code, f"{reason} (policy {answer.policy})" if answer.policy else reason


def log_columns(trigger: Trigger, match: Match | Score | None, detail: str | int,
                warning: Score | Withheld | None) -> tuple[str, str]:
    """The query log's reason and label of an answer's decision: a warned name's score and its rule, or
    the block its policy let through, else the text and label of what decided the answer."""
    if type(warning) is Score:
        return scored(warning), warning.rule
    if warning is not None:
        return (text(warning.trigger, warning.match, warning.detail),
                label(warning.trigger, warning.match, warning.detail))
    return text(trigger, match, detail), label(trigger, match, detail)


def blocked_labels(answer: Answer) -> tuple[str, str, str]:
    """`fraudwall_blocked_total`'s (reason, list, policy): what triggered the block (name, cname,
    address, scorer), the list or scorer rule, and the client's policy (names from the config only)."""
    trigger, match = answer.trigger, answer.match
    if trigger is _SCORER and answer.detail:
        return _BLOCKED_BY[trigger], NEWLY_OBSERVED, answer.policy or DEFAULT_POLICY
    return (_BLOCKED_BY[trigger], match.rule if type(match) is Score else match.list,
            answer.policy or DEFAULT_POLICY)


def withheld_labels(answer: Answer) -> tuple[str, str, str] | None:
    """`fraudwall_warned_total`'s (reason, list, policy) for a block the client's policy warned about instead."""
    warning = answer.warning
    if warning is None or type(warning) is Score or warning.mode != "warn":
        return None
    if warning.trigger is _SCORER and warning.detail:
        return None   # newly observed: not a block the policy withheld (fraudwall_newly_observed_total)
    match = warning.match
    return (_BLOCKED_BY[warning.trigger], match.rule if type(match) is Score else match.list,
            answer.policy or DEFAULT_POLICY)


def verdict_labels(answer: Answer) -> tuple[str, str] | None:
    """`fraudwall_scorer_verdicts_total`'s (verdict, rule), or None when the scorer said nothing."""
    if answer.kind is _SCORED:
        return "block", NEWLY_OBSERVED if answer.trigger is _SCORER and answer.detail else answer.match.rule
    warning = answer.warning
    if type(warning) is Score:
        return "warn", warning.rule
    if warning is not None and type(warning.match) is Score:
        return "warn", label(warning.trigger, warning.match, warning.detail)
    return None


class PageReason(NamedTuple):
    """What the warning page says about a block (resolver/warning/reason.py adds the name)."""

    source_kind: str     # "list" or "scorer"
    label: str           # the list's name or the scorer's rule
    reason: str          # text() of the block
    brand: str = ""      # the impersonated brand's domain, or ""
    since: float | None = None  # when the list entry was added, when known


def page_reason(trigger: Trigger, match: Match | Score, detail: str | int = "") -> PageReason:
    if type(match) is Score:
        return PageReason("scorer", match.rule, text(trigger, match, detail), match.brand or "")
    return PageReason("list", match.list, text(trigger, match, detail), "", match.added or None)
