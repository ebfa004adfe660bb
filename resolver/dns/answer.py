"""The decision a stage hands back: what to send, what happened, and why."""

from __future__ import annotations

import math
from typing import NamedTuple

from fraudwall.resolver.dns.codec import Scan
from fraudwall.resolver.dns.codes import AnswerKind, EDECode

# RFC 8914 codes follow from what happened, so no stage formats its own.
_EDE_BY_KIND = {
    AnswerKind.BLOCKED: EDECode.BLOCKED,
    AnswerKind.SCORED: EDECode.FILTERED,
    AnswerKind.REFUSED: EDECode.PROHIBITED,
    AnswerKind.SERVFAIL: EDECode.NO_REACHABLE_AUTHORITY,
    AnswerKind.STALE: EDECode.STALE_ANSWER,
    AnswerKind.OVERLOADED: EDECode.OTHER,  # RFC 8914 has no code for "too busy": the text says it
}

# An answer that follows from the name and the lists alone holds until the lists change,
# which is when the owner of the replay memo clears it.
UNTIL_LISTS_CHANGE = math.inf


class Answer(NamedTuple):
    kind: AnswerKind
    body: bytes | None     # the reply without OPT, addressed to the client; None: send nothing
    reason: str = ""       # for people: the warning page, the query log, the EDE text
    label: str = ""        # low-cardinality: the list or scorer rule, for metrics
    scan: Scan | None = None  # an upstream reply's walk, shared by the inspect and cache stages
    warning: str = ""      # answered normally, but the scorer found the name suspicious: why
    # Monotonic seconds until which the same query bytes get the same answer (0: no promise);
    # the handler replays the rendered reply until then (replay.py).
    steady_until: float = 0.0

    @property
    def ede(self) -> tuple[EDECode, str] | None:
        code = _EDE_BY_KIND.get(self.kind)
        return None if code is None else (code, self.reason)
