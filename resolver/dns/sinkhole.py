"""Answers for blocked names, built from the policy and the entry's action."""

from __future__ import annotations

import ipaddress

from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import Query, make_record, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, QType, Rcode, Trigger
from fraudwall.resolver.config import SinkholeSettings
from fraudwall.scoring.score import Score


_BLOCKED, _SCORED, _BLOCK = AnswerKind.BLOCKED, AnswerKind.SCORED, Action.BLOCK
_new_answer = tuple.__new__   # Answer(...) is Python code: a flood of blocked names runs this for each


class Sinkhole:
    """Builds the answer for a block: A/AAAA at the warning page, NODATA, NXDOMAIN, REFUSED or nothing."""

    def __init__(self, settings: SinkholeSettings) -> None:
        self.ttl = settings.ttl
        self.policy = settings.policy
        # The records a sinkhole answer carries never change: made once.
        self._records = {QType.A: (make_record(QType.A, self.ttl, ipaddress.IPv4Address(settings.ipv4).packed),)}
        if settings.ipv6:
            self._records[QType.AAAA] = (make_record(QType.AAAA, self.ttl,
                                                     ipaddress.IPv6Address(settings.ipv6).packed),)
        # What a plain block (Action.BLOCK, nearly every entry and every score) answers, by `policy`: its
        # rcode and its records by query type, worked out once rather than per blocked query.
        self._block_rcode = {"nxdomain": Rcode.NXDOMAIN, "refused": Rcode.REFUSED}.get(self.policy, Rcode.NOERROR)
        self._block_records = self._records if self.policy == "sinkhole" else {}

    def answer(self, query: Query, trigger: Trigger, match: Match | Score, detail: str = "",
               steady_until: float = 0.0) -> Answer:
        """The answer for a block by a list entry's action (a score blocks); `detail` and
        `steady_until` as in `Answer`: what matched, how long it holds for the same query."""
        # A score blocks the name itself or a look-alike its CNAME leads to: the scorer decided.
        if type(match) is Match:
            kind, action, redirect = _BLOCKED, match.action, match.redirect
        else:
            kind, action, redirect = _SCORED, _BLOCK, ()
        if action is _BLOCK:
            body = make_reply(query, self._block_rcode, self._block_records.get(query.qtype, ()))
            return _new_answer(Answer, (kind, body, trigger, match, detail, None, steady_until, ""))
        if action is Action.DROP:
            return Answer(kind, None, trigger, match, detail)
        if action is Action.NXDOMAIN:
            body = make_reply(query, Rcode.NXDOMAIN)
        else:
            # NODATA: no records; REDIRECT: the entry's own addresses of the type asked.
            records = self._redirect_records(query.qtype, redirect) if action is Action.REDIRECT else ()
            body = make_reply(query, Rcode.NOERROR, records)
        return Answer(kind, body, trigger, match, detail, steady_until=steady_until)

    def _redirect_records(self, qtype: int, addresses: tuple[str, ...]) -> tuple[bytes, ...]:
        records = []
        for text in addresses:
            address = ipaddress.ip_address(text)
            if qtype == QType.A and address.version == 4:
                records.append(make_record(QType.A, self.ttl, address.packed))
            elif qtype == QType.AAAA and address.version == 6:
                records.append(make_record(QType.AAAA, self.ttl, address.packed))
        return tuple(records)
