"""NOTIFY to the secondaries (RFC 1996), without sockets: who is owed which zone's new serial, when
to send again, and when to give up. The asyncio shell sends what `due` gives and hands replies to
`answered`.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from fraudwall.resolver.xfr.zones import Soa

TRIES = 5
FIRST_WAIT = 1.0       # seconds before the first resend, doubled after each (RFC 1996 3.6: retry)


class Send(NamedTuple):
    target: tuple[str, int]
    soa: Soa
    ident: int


class _Pending(NamedTuple):
    soa: Soa
    ident: int
    tries: int
    at: float


class Notifier:
    def __init__(self, targets: tuple[tuple[str, int], ...], tries: int = TRIES, first_wait: float = FIRST_WAIT,
                 ident: random.Random | None = None) -> None:
        self.targets = targets
        self.tries = tries
        self.first_wait = first_wait
        self._random = ident or random.SystemRandom()
        self.pending: dict[tuple[tuple[str, int], str], _Pending] = {}
        self.sent = 0
        self.acknowledged = 0
        self.failed = 0

    def changed(self, soa: Soa, now: float) -> None:
        """A zone has a new serial: every target is owed a NOTIFY (a newer one replaces one still owed)."""
        for target in self.targets:
            self.pending[(target, soa.zone)] = _Pending(soa, self._random.randrange(0x10000), 0, now)

    def due(self, now: float) -> list[Send]:
        """The NOTIFYs to send now; those sent `tries` times unanswered are given up (counted as failed)."""
        sends = []
        for key, pending in list(self.pending.items()):
            if pending.at > now:
                continue
            if pending.tries >= self.tries:
                del self.pending[key]
                self.failed += 1
                continue
            sends.append(Send(key[0], pending.soa, pending.ident))
            self.pending[key] = pending._replace(tries=pending.tries + 1,
                                                 at=now + self.first_wait * 2 ** pending.tries)
            self.sent += 1
        return sends

    def answered(self, target: tuple[str, int], ident: int) -> bool:
        """A reply from `target` with `ident`: its NOTIFY is acknowledged (whatever the rcode: a
        secondary that refuses says so, and sending again would not change its mind)."""
        for key, pending in list(self.pending.items()):
            if key[0] == target and pending.ident == ident:
                del self.pending[key]
                self.acknowledged += 1
                return True
        return False

    def wake_at(self) -> float | None:
        return min((pending.at for pending in self.pending.values()), default=None)
