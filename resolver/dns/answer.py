"""The decision a stage hands back: what to send, what happened, and what decided it.

An answer carries data, not text: its trigger and the match (a list entry, a score), rendered
for people and dashboards by explain.py only when someone reads it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns import explain
from fraudwall.resolver.dns.codec import Scan
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Trigger
from fraudwall.scoring.score import Score

# An answer that follows from the name and the lists alone holds until the lists change,
# which is when the owner of the replay memo clears it.
UNTIL_LISTS_CHANGE = math.inf


class Withheld(NamedTuple):
    """A block the client's policy did not enforce: answered normally, logged (and counted in mode warn)."""

    trigger: Trigger
    match: Match | Score
    detail: str | int = ""
    mode: str = "warn"    # the policy's mode: warn or off


class Answer(NamedTuple):
    kind: AnswerKind
    body: bytes | None     # the reply without OPT, addressed to the client; None: send nothing
    trigger: Trigger = Trigger.UPSTREAM  # what decided it
    match: Match | Score | None = None   # the list entry or the score that decided it
    # What the trigger leaves open: the CNAME target or answer address that matched, the class
    # not served, what the rate limit did, the in-flight bound reached.
    detail: str | int = ""
    # Answered normally, but the scorer found the name suspicious (a Score), or the client's policy
    # let a block through (a Withheld).
    warning: Score | Withheld | None = None
    # Monotonic seconds until which the same query bytes get the same answer (0: no promise);
    # the handler replays the rendered reply until then (replay.py).
    steady_until: float = 0.0
    policy: str = ""   # the name of the client's `[[policy]]`; "" when none is configured

    @property
    def ede(self) -> tuple[EDECode, str] | None:
        return explain.ede(self)


class Reply(NamedTuple):
    """What the stages below the cache hand up (chain.ReplySource): the answer and, when an upstream
    gave it, the one walk over its bytes that the inspect stage checks and the cache keeps TTLs by.
    Above the cache nobody needs the walk, so an `Answer` does not carry it."""

    answer: Answer
    scan: Scan | None = None
