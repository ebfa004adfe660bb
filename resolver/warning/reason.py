"""Why a name is blocked, as the resolver tells the warning page."""

from __future__ import annotations

from typing import NamedTuple

from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns.codes import Trigger
from fraudwall.resolver.dns.explain import page_reason
from fraudwall.scoring.score import Score


class BlockReason(NamedTuple):
    name: str            # the blocked host, lowercase ASCII, no trailing dot
    source_kind: str     # "list" or "scorer"
    label: str           # the list's name or the scorer's rule
    reason: str          # human text: "listed in phishtank (feed.csv:1234)"
    brand: str = ""      # the impersonated brand's domain, or ""
    since: float | None = None  # unix time the entry was added, when known

    @classmethod
    def of(cls, name: str, trigger: Trigger, match: Match | Score, detail: str | int = "") -> BlockReason:
        """Why `name` is blocked, rendered from what decided it (explain.py)."""
        return cls(name, *page_reason(trigger, match, detail))
