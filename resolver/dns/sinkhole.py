"""Answers for blocked names, built from the policy and the entry's action."""

from __future__ import annotations

import ipaddress

from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import Query, make_record, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, QType, Rcode
from fraudwall.resolver.config import SinkholeSettings


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

    def answer(self, query: Query, kind: AnswerKind, reason: str, label: str,
               action: Action = Action.BLOCK, redirect: tuple[str, ...] = (),
               steady_until: float = 0.0) -> Answer:
        """The answer for a block; `steady_until` as in `Answer`: how long it holds for the same query."""
        if action is Action.DROP:
            return Answer(kind, None, reason, label)
        if action is Action.NXDOMAIN or (action is Action.BLOCK and self.policy == "nxdomain"):
            return Answer(kind, make_reply(query, Rcode.NXDOMAIN), reason, label, steady_until=steady_until)
        if action is Action.BLOCK and self.policy == "refused":
            return Answer(kind, make_reply(query, Rcode.REFUSED), reason, label, steady_until=steady_until)
        if action is Action.REDIRECT:
            records = self._redirect_records(query.qtype, redirect)
        elif action is Action.BLOCK and self.policy == "sinkhole":
            records = self._sinkhole_records(query.qtype)
        else:
            records = ()
        return Answer(kind, make_reply(query, Rcode.NOERROR, records), reason, label, steady_until=steady_until)

    def _sinkhole_records(self, qtype: int) -> tuple[bytes, ...]:
        return self._records.get(qtype, ())

    def _redirect_records(self, qtype: int, addresses: tuple[str, ...]) -> tuple[bytes, ...]:
        records = []
        for text in addresses:
            address = ipaddress.ip_address(text)
            if qtype == QType.A and address.version == 4:
                records.append(make_record(QType.A, self.ttl, address.packed))
            elif qtype == QType.AAAA and address.version == 6:
                records.append(make_record(QType.AAAA, self.ttl, address.packed))
        return tuple(records)
