"""What a blocklist says about a name or an address: the interface the resolver's stages call.

Every store (the in-memory demo set, the SQLite store behind a Bloom filter) answers
with a `Match` or None, so the resolver never knows which one it talks to.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol


class Action(enum.Enum):
    """What an entry asks the resolver to do with a matching query."""

    # Identity hashing in C: Enum's own __hash__ is Python code, and a Match (which holds an Action)
    # is hashed wherever decisions are kept by what decided them.
    __hash__ = object.__hash__

    BLOCK = "block"        # sinkhole answer (the warning page's address)
    ALLOW = "allow"        # answer normally, even under a blocked parent
    NXDOMAIN = "nxdomain"  # RPZ `CNAME .`
    NODATA = "nodata"      # RPZ `CNAME *.`
    DROP = "drop"          # RPZ `CNAME rpz-drop.`: no answer at all
    REDIRECT = "redirect"  # RPZ local A/AAAA data


class Match(NamedTuple):
    """One entry that decided a verdict, with its provenance."""

    name: str            # the entry's name (the query's name or one of its parents), or a CIDR
    action: Action
    list: str            # the list (or scorer rule) it came from
    rule: str            # the feed line or rule text, as written
    source: str          # "file:line" or URL:line, or "cli" for a manual entry
    added: float         # seconds since the epoch
    redirect: tuple[str, ...] = ()  # addresses for Action.REDIRECT

    @property
    def blocks(self) -> bool:
        return self.action is not Action.ALLOW


class Blocklist(Protocol):
    """Looked up on the query path; its methods must be cheap and never raise."""

    def match_name(self, name: str, lists: frozenset[str] | None = None) -> Match | None:
        """The entry deciding `name` (lowercase, ASCII/punycode, no trailing dot), or None. `lists`: only
        the entries of these lists and the operator's own count (a `[[policy]]`'s); None: all."""

    def match_address(self, address: str, lists: frozenset[str] | None = None) -> Match | None:
        """The entry covering an IPv4/IPv6 address in an answer, or None; `lists` as for names."""

    def holds_nothing_at(self, name: str) -> bool:
        """True when no list holds an entry at `name` itself (its parents aside); False when one may.
        Then `name` is decided by the entries above it, as every name below them that holds none."""

    def refresh(self) -> bool:
        """Pick up live changes; True when the lists changed (called about once a second on the query
        path's loop: keep it short)."""

    def close(self) -> None:
        """Release files and connections."""
