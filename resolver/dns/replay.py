"""replay: the bytes sent for a datagram, kept by the datagram's bytes, while they cannot differ.

A client asking again what clients asked twice before, in the same bytes after the ID (flags,
question in the same case, the same EDNS), gets the same reply after the ID, for as long as
the answer that made it stays the same (`Answer.steady_until`): a cached reply until its TTLs
next count down (at most a second), a block by a list or the scorer until the lists change (the
owner clears the memo then, as it clears the cache). Such a datagram skips the read, the chain and the render:
the reply is the new ID and the kept bytes. This is what lets a Python server answer hits at
the rate of the syscalls that carry them.

Only UDP replies are kept: over TCP the size limit and the framing differ, and a TCP
client's queries are few next to UDP's.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind

DEFAULT_SIZE = 32_768   # kept replies (about 1 kB each); the memo starts afresh when full
# Only ordinary queries are kept: a datagram may carry tens of kB of options or trailing bytes,
# and the memo keeps its bytes twice (key and query).
MAX_KEPT_QUERY = 512
_CACHED, _SERVFAIL = AnswerKind.CACHED, AnswerKind.SERVFAIL   # bound once: member look-ups cost ~0.1 us


class Replay(NamedTuple):
    tail: bytes       # the reply after its ID
    query: Query      # the query that made it, for the observers (its client is checked)
    answer: Answer    # its `steady_until` says until when the reply holds


class ReplayMemo:
    """Rendered UDP replies by the query's bytes after the ID; bounded, cleared when the lists change.

    `admits` is the access stage's test: a replay skips the chain, so a client the access stage
    would refuse gets no replay, and one it serves gets the reply under its own address.
    `limits` is the rate limiter's: every replay takes a token, as the chain would, and a
    limited client gets no replay (the chain then answers it as limited). `policy_of` is the
    policy stage's selection: a reply made for a client of one `[[policy]]` is never replayed to a
    client of another (a block to the security team, an unfiltered answer to a guest).
    """

    def __init__(self, admits: Callable[[str], bool] = lambda client: True, size: int = DEFAULT_SIZE,
                 limits: Callable[[str, float], bool] | None = None,
                 policy_of: Callable[[str], object] | None = None) -> None:
        self.admits = admits
        self.limits = limits
        self.policy_of = policy_of
        self.size = size
        self._replays: dict[bytes, Replay] = {}
        # Bytes answered once by an answer that holds: their reply is kept the next time. A flood of
        # names asked once (random subdomains) then churns this set, not the replies worth keeping.
        self._seen: set[bytes] = set()
        self.cached_hits = 0   # replays of cache hits: the cache's own hit count misses these

    def __len__(self) -> int:
        return len(self._replays)

    def get(self, data: bytes, client: str, now: float) -> Replay | None:
        """What to send `client` for these bytes, if it still holds at `now`."""
        key = data[2:]
        replay = self._replays.get(key)
        if replay is None:
            return None
        if now >= replay.answer.steady_until:
            del self._replays[key]
            self._remember(key)  # asked again after its reply lapsed: worth keeping at once
            return None
        if replay.query.client != client:
            if not self.admits(client):
                return None
            policy_of = self.policy_of
            if policy_of is not None and policy_of(client) is not policy_of(replay.query.client):
                return None
            replay = replay._replace(query=replay.query._replace(wire=data, client=client))
        if self.limits is not None and not self.limits(client, now):
            return None
        kind = replay.answer.kind
        if kind is _CACHED or kind is _SERVFAIL:  # a kept SERVFAIL is a cached one
            self.cached_hits += 1
        return replay

    def keep(self, query: Query, wire: bytes, answer: Answer, now: float) -> None:
        """Remember `wire`, sent for `query`, when `answer` says how long it holds."""
        if answer.steady_until <= now or self.size <= 0 or len(query.wire) > MAX_KEPT_QUERY:
            return
        key = query.wire[2:]
        if key not in self._seen:
            self._remember(key)
            return
        self._seen.discard(key)
        if len(self._replays) >= self.size:
            self._replays.clear()
        self._replays[key] = Replay(wire[2:], query, answer)

    def _remember(self, key: bytes) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen.add(key)

    def clear(self) -> tuple[dict[bytes, Replay], set[bytes]]:
        """Start empty; the old replays are returned, for the caller to drop where a stall costs nothing."""
        old = (self._replays, self._seen)
        self._replays, self._seen = {}, set()
        return old
