"""Why a name is blocked, as the resolver tells the warning page."""

from __future__ import annotations

from typing import NamedTuple


class BlockReason(NamedTuple):
    name: str            # the blocked host, lowercase ASCII, no trailing dot
    source_kind: str     # "list" or "scorer"
    label: str           # the list's name or the scorer's rule
    reason: str          # human text: "listed in phishtank (feed.csv:1234)"
    brand: str = ""      # the impersonated brand's domain, or ""
    since: float | None = None  # unix time the entry was added, when known
