"""Which of the entries that cover a name decides it.

1. The most specific entry wins: an entry at `a.example.org` beats one at `example.org`.
2. At the same name, an operator's own entry (`fraudwall block/allow`) beats the feeds'.
3. Then an allow beats a block, unless the block is `$important`.
4. A subtree entry covers its name and the names below it, never its parent; an exact
   entry only its name; a `*.name` entry only the names below `name`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.scoring.names import is_below


class Candidate(NamedTuple):
    match: Match
    mode: Mode
    important: bool
    manual: bool
    order: int          # the list's position, for a stable choice between equal entries


def covers(entry_name: str, mode: Mode, query: str) -> bool:
    if entry_name == query:
        return mode is not Mode.BELOW
    return mode is not Mode.EXACT and is_below(query, entry_name)


def decide(query: str, candidates: Iterable[Candidate]) -> Match | None:
    best: list[Candidate] = []
    best_length = -1
    for candidate in candidates:
        name = candidate.match.name
        if not covers(name, candidate.mode, query):
            continue
        if len(name) > best_length:
            best, best_length = [candidate], len(name)
        elif len(name) == best_length:
            best.append(candidate)
    if not best:
        return None
    return choose(best)


def choose(candidates: list[Candidate]) -> Match:
    """Rules 2 and 3 among equally specific entries (the same name, or networks of one prefix length)."""
    manual = [c for c in candidates if c.manual]
    pool = sorted(manual or candidates, key=lambda c: c.order)
    for candidate in pool:
        if candidate.important and candidate.match.action is not Action.ALLOW:
            return candidate.match
    for candidate in pool:
        if candidate.match.action is Action.ALLOW:
            return candidate.match
    return pool[0].match
