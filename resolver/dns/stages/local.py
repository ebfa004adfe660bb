"""local: what fraudwall answers itself and never forwards: other classes than IN, and ANY over UDP.

CHAOS `id.server` and `hostname.bind` TXT get `[server] identity` when one is set; every other
question outside class IN (`version.bind`, `version.server`, other CHAOS names, HS, NONE, the
ANY class) gets REFUSED, as Unbound with hide-identity and hide-version. Forwarded, such a
question would tell the upstream's version to anyone, and a name blocked in class IN would be
answered with class IN records. Unbound forwards a question of class ANY; fraudwall refuses
it: its lists and its cache speak of class IN only.

Firefox asks `use-application-dns.net` before it turns DNS over HTTPS on by itself; NXDOMAIN
tells it that this network's resolver filters, so it keeps asking here instead of going round
it (`[server] doh_canary`, on by default; Chrome and others follow the same canary or none).

Zone transfers (AXFR, IXFR) get REFUSED: a resolver has no zone to give. A question of type ANY over UDP gets one synthesized HINFO record ("RFC8482" "", RFC 8482
4.2): the full set is a reflection amplifier. Over TCP, where the source address is proven,
it goes on down the chain and upstream as before (RFC 8482 4.4 allows either).
"""

from __future__ import annotations

from fraudwall.resolver.dns.answer import UNTIL_LISTS_CHANGE, Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import RR_FIXED, Query, make_record, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, QClass, QType, Rcode, Transport, Trigger

IDENTITY_NAMES = ("id.server", "hostname.bind")   # RFC 4892 and BIND's older name
DOH_CANARY = "use-application-dns.net"   # Mozilla's canary domain: NXDOMAIN keeps DoH off
HINFO_TTL = 3600   # the answer never changes: caches downstream may keep it
_IN, _ANY, _UDP = QClass.IN, QType.ANY, Transport.UDP
_TRANSFERS = (QType.IXFR, QType.AXFR)
_FIRST_META_TYPE = QType.IXFR   # 251: IXFR, AXFR, MAILB, MAILA, ANY


def _character_string(text: bytes) -> bytes:
    return bytes((len(text),)) + text


class LocalStage(Stage):
    def __init__(self, identity: str = "", doh_canary: bool = True) -> None:
        super().__init__()
        self._canary = DOH_CANARY if doh_canary else None
        # Each record is made once: only the header and the question differ between queries.
        self._hinfo = (make_record(QType.HINFO, HINFO_TTL, _character_string(b"RFC8482") + _character_string(b"")),)
        self._identity = ()
        if identity:
            rdata = _character_string(identity.encode("utf-8"))
            self._identity = (b"\xc0\x0c" + RR_FIXED.pack(QType.TXT, QClass.CH, 0, len(rdata)) + rdata,)

    async def resolve(self, query: Query) -> Answer:
        if query.qclass != _IN:
            return self._outside_in(query)
        if query.qname == self._canary:
            return Answer(AnswerKind.LOCAL, make_reply(query, Rcode.NXDOMAIN), Trigger.DOH_CANARY,
                          steady_until=UNTIL_LISTS_CHANGE)
        if query.qtype >= _FIRST_META_TYPE:   # one comparison for ordinary queries
            if query.qtype == _ANY and query.transport is _UDP:
                return Answer(AnswerKind.LOCAL, make_reply(query, Rcode.NOERROR, self._hinfo), Trigger.ANY_OVER_UDP,
                              steady_until=UNTIL_LISTS_CHANGE)
            if query.qtype in _TRANSFERS:
                # A resolver holds no zone to transfer; forwarded, the upstream's zones would leak.
                return Answer(AnswerKind.LOCAL, make_reply(query, Rcode.REFUSED), Trigger.ZONE_TRANSFER,
                              steady_until=UNTIL_LISTS_CHANGE)
        return await self.next.resolve(query)

    def sibling(self, name: str) -> Sibling:
        # Class and type are its sibling's (the replay memo's key holds them): only the canary's name is left.
        return Sibling.DIFFERS if name == self._canary else Sibling.PASSES

    def _outside_in(self, query: Query) -> Answer:
        if (self._identity and query.qclass == QClass.CH and query.qtype in (QType.TXT, QType.ANY)
                and query.qname in IDENTITY_NAMES):
            body = make_reply(query, Rcode.NOERROR, self._identity)
        else:
            body = make_reply(query, Rcode.REFUSED)
        return Answer(AnswerKind.LOCAL, body, Trigger.OTHER_CLASS, detail=query.qclass,
                      steady_until=UNTIL_LISTS_CHANGE)
