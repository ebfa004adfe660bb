"""What the scorer says about a name (`Score`), and how signals combine into it."""

from __future__ import annotations

import enum
import operator
from typing import NamedTuple, Sequence

__all__ = ["Rule", "Score", "Signal", "Verdict", "combine", "verdict_for"]


class Verdict(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


class Rule(enum.Enum):
    """The kind of evidence: a metric label, so a short closed set."""
    NONE = "none"
    BRAND_DOMAIN = "brand-domain"        # the brand's own domain
    TYPOSQUAT = "typosquat"              # an edit or two away from a brand
    HOMOGLYPH = "homoglyph"              # looks the same once confusables are folded
    COMBOSQUAT = "combosquat"            # brand plus other words
    BRAND_SUBDOMAIN = "brand-subdomain"  # brand in front of an unrelated domain
    INFRASTRUCTURE = "infrastructure"    # hashes and counters under a domain serving machines: a note
    TLD_SWAP = "tld-swap"                # brand label under a suffix it does not own
    TLD = "tld"                          # a suffix that abuse reports rank high
    WORDS = "words"                      # words fraud uses (login, tuikuan, ...)
    SHAPE = "shape"                      # length, digits, hyphens, randomness


class Signal(NamedTuple):
    """One piece of evidence: how strongly it alone suggests fraud, in [0, 1]."""
    value: float
    rule: Rule
    reason: str
    brand: str | None = None   # main domain of the brand imitated


class Score(NamedTuple):
    value: float
    verdict: Verdict
    brand: str | None
    reasons: tuple[str, ...]
    rule: str


def verdict_for(value: float, block_threshold: float, warn_threshold: float) -> Verdict:
    if value >= block_threshold:
        return Verdict.BLOCK
    if value >= warn_threshold:
        return Verdict.WARN
    return Verdict.ALLOW


_NOTHING = {v: Score(0.0, v, None, (), Rule.NONE.value) for v in Verdict}
# Each rule's label (`Rule.value`), looked up: Enum's `value` is a descriptor run in Python, a tenth of `combine`.
_LABEL = {rule: rule.value for rule in Rule}


def combine(signals: Sequence[Signal], block_threshold: float = 0.85,
            warn_threshold: float = 0.6) -> Score:
    """Noisy-or of independent pieces of evidence: each closes part of the remaining doubt.

    So two weak signals together say more than either, but never reach certainty,
    and the reasons read strongest first, the way the value was built.
    """
    if not signals:
        return _NOTHING[verdict_for(0.0, block_threshold, warn_threshold)]
    if len(signals) == 1 and signals[0].value > 0:     # the usual flagged name: nothing to rank
        signal = signals[0]
        value = round(1.0 - (1.0 - signal.value), 4)
        verdict = (Verdict.BLOCK if value >= block_threshold else Verdict.WARN if value >= warn_threshold
                   else Verdict.ALLOW)
        return Score(value, verdict, signal.brand or None, (signal.reason,), _LABEL[signal.rule])
    # Strongest first; a stable sort, so equal values keep the order they were found in.
    # A signal of value 0 is a note (infrastructure): it moves nothing, its reason reads last.
    ranked = sorted(signals, key=_VALUE, reverse=True)
    if ranked[0].value <= 0:
        verdict = verdict_for(0.0, block_threshold, warn_threshold)
        return Score(0.0, verdict, None, tuple(s.reason for s in ranked), _LABEL[ranked[0].rule])
    doubt = 1.0
    brand = None
    for signal in ranked:
        doubt *= 1.0 - signal.value
        if brand is None and signal.brand:
            brand = signal.brand
    value = round(1.0 - doubt, 4)
    verdict = (Verdict.BLOCK if value >= block_threshold else Verdict.WARN if value >= warn_threshold
               else Verdict.ALLOW)
    return Score(value, verdict, brand, tuple([s.reason for s in ranked]), _LABEL[ranked[0].rule])


_VALUE = operator.itemgetter(0)
