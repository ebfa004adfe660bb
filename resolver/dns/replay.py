"""replay: the bytes sent for a datagram, kept by the datagram's bytes, while they cannot differ.

A client asking again what clients asked twice before, in the same bytes after the ID (flags,
question in the same case, the same EDNS), gets the same reply after the ID, for as long as
the answer that made it stays the same (`Answer.steady_until`): a cached reply until its TTLs
next count down (at most a second), a block by a list or the scorer until the lists change (the
owner clears the memo then, as it clears the cache). Such a datagram skips the read, the chain and the render:
the reply is the new ID and the kept bytes. This is what lets a Python server answer hits at
the rate of the syscalls that carry them.

A block by a list entry above the name (a phishing kit's random labels under a listed domain, a
random-subdomain flood) is kept for its siblings too: the same bytes but for the question's first label.
Such a datagram gets the kept reply with its own question in it, once every stage down to the blocklist
says it treats the new name as it treated the first (chain.answers_sibling: the allowlist and the
canary name, and nothing listed at the new name itself), for as long as the lists stay the same.

Only UDP replies are kept: over TCP the size limit and the framing differ, and a TCP
client's queries are few next to UDP's.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import MAX_LABEL_OCTETS, MAX_NAME_OCTETS, TC, Query
from fraudwall.resolver.dns.codes import AnswerKind, Trigger

DEFAULT_SIZE = 32_768   # kept replies (about 1 kB each); the memo starts afresh when full
# Only ordinary queries are kept: a datagram may carry tens of kB of options or trailing bytes,
# and the memo keeps its bytes twice (key and query).
MAX_KEPT_QUERY = 512
_CACHED, _SERVFAIL = AnswerKind.CACHED, AnswerKind.SERVFAIL   # bound once: member look-ups cost ~0.1 us
_NAME = Trigger.NAME
_new_query = tuple.__new__   # Query(...) is Python code; a flood of new names runs this for each


class Replay(NamedTuple):
    tail: bytes       # the reply after its ID
    query: Query      # the query that made it, for the observers (its client is checked)
    answer: Answer    # its `steady_until` says until when the reply holds


class SiblingReplay(NamedTuple):
    """A block kept for the names beside the one it was made for: what differs is the question."""

    head: bytes       # the reply's header after its ID
    tail: bytes       # the reply after its question
    parent: str       # "." and the name's parent, lowercase: a sibling's name is its first label and this
    rest: int         # octets of the question after its first label (the parent's labels, type and class)
    limit: int        # the longest reply after the ID the client takes (its EDNS size: the same bytes)
    key_flags: bytes  # what the query's cache key holds after the question (the DO and CD bits)
    query: Query      # the query it was made for
    answer: Answer


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
        # Blocks by an entry above the name, by the query's bytes after the ID less the first label.
        self._siblings: dict[bytes, SiblingReplay] = {}
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
            if not self._serves(client, replay.query.client):
                return None
            replay = replay._replace(query=replay.query._replace(wire=data, client=client))
        if self.limits is not None and not self.limits(client, now):
            return None
        kind = replay.answer.kind
        if kind is _CACHED or kind is _SERVFAIL:  # a kept SERVFAIL is a cached one
            self.cached_hits += 1
        return replay

    def _serves(self, client: str, kept_for: str) -> bool:
        """Whether a reply made for `kept_for` may go to `client`: one the access stage serves, of the
        same policy."""
        if not self.admits(client):
            return False
        policy_of = self.policy_of
        return policy_of is None or policy_of(client) is policy_of(kept_for)

    def sibling(self, data: bytes, client: str, now: float,
                alike: Callable[[str], bool]) -> tuple[bytes, Query, SiblingReplay] | None:
        """The reply (after the ID), the query and the kept block (its answer) for a datagram whose bytes but the
        question's first label were blocked before, when that block still holds and `alike(name)`
        says the stages decide its name so too. The bytes are kept as `keep` keeps them: the same
        bytes a second time get a plain replay."""
        siblings = self._siblings
        if not siblings or len(data) < 14:
            return None
        first = 13 + data[12]
        if not 13 < first <= 13 + MAX_LABEL_OCTETS:
            return None
        key = data[2:12] + data[first:]
        kept = siblings.get(key)
        if kept is None:
            return None
        if now >= kept.answer.steady_until:
            del siblings[key]
            return None
        question = data[12:first + kept.rest]
        reply = kept.head + question + kept.tail
        if len(question) > MAX_NAME_OCTETS + 4 or len(reply) > kept.limit:
            return None   # a name over 255 octets, a reply that would not fit: the chain says what
        template = kept.query
        if template.client != client and not self._serves(client, template.client):
            return None
        name = data[13:first].lower().decode("latin-1") + kept.parent
        if not alike(name):
            return None
        if self.limits is not None and not self.limits(client, now):
            return None
        # The fields the template's own read gave but the question's, which differs only in its first label.
        query = _new_query(Query, (data, (data[0] << 8) | data[1], template.flags, name, template.qtype,
                                   template.qclass, question, question.lower() + kept.key_flags,
                                   template.edns_size, template.do, client, template.transport, False, None))
        # Asked again, these bytes are a replay like any other (counted, not observed one by one): `keep`'s
        # two steps, here where the key is at hand. A flood's names come once and only churn the seen set.
        if len(data) <= MAX_KEPT_QUERY:
            key = data[2:]
            if self._answered_before(key):
                self._store(key, Replay(reply, query, kept.answer))
        return reply, query, kept

    def keep(self, query: Query, wire: bytes, answer: Answer, now: float,
             alike: Callable[[str], bool] | None = None) -> None:
        """Remember `wire`, sent for `query`, when `answer` says how long it holds; with `alike` (the
        stages' say on a sibling's name, `sibling`), a block by an entry above the name for its siblings."""
        if answer.steady_until <= now or self.size <= 0 or len(query.wire) > MAX_KEPT_QUERY:
            return
        if alike is not None and answer.trigger is _NAME:
            self._keep_for_siblings(query, wire, answer, alike)
        key = query.wire[2:]
        if self._answered_before(key):
            self._store(key, Replay(wire[2:], query, answer))

    def _answered_before(self, key: bytes) -> bool:
        """Whether these bytes were answered once already, by an answer that holds: their reply is worth
        keeping now. The first time they are only remembered."""
        if key not in self._seen:
            self._remember(key)
            return False
        self._seen.discard(key)
        return True

    def _store(self, key: bytes, replay: Replay) -> None:
        if len(self._replays) >= self.size:
            self._replays.clear()
        self._replays[key] = replay

    def _keep_for_siblings(self, query: Query, wire: bytes, answer: Answer, alike: Callable[[str], bool]) -> None:
        match = answer.match
        qname = query.qname
        data = query.wire
        first = 13 + data[12]
        if type(match) is not Match or len(qname) <= len(match.name) or wire[2] & (TC >> 8):
            return   # an entry at the name itself, a name of one label, a truncated reply: for it alone
        key = data[2:12] + data[first:]
        if key in self._siblings or not alike(qname):
            return   # kept already; or an entry at the name that lost to the one above: for it alone
        if len(self._siblings) >= self.size:
            self._siblings.clear()
        question_end = 12 + len(query.question)
        self._siblings[key] = SiblingReplay(wire[2:12], wire[question_end:], qname[data[12]:], question_end - first,
                                            query.reply_limit - 2, query.key[len(query.question):], query, answer)

    def _remember(self, key: bytes) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen.add(key)

    def clear(self) -> tuple[dict[bytes, Replay], set[bytes], dict[bytes, SiblingReplay]]:
        """Start empty; the old replays are returned, for the caller to drop where a stall costs nothing."""
        old = (self._replays, self._seen, self._siblings)
        self._replays, self._seen, self._siblings = {}, set(), {}
        return old
