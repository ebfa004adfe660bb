"""What the transfer server answers, decided without sockets: `Primary.respond(bytes, client)`
gives the messages to send; `Primary.refresh()` says which zones have a new serial (to NOTIFY).

The store comes in through a small `Catalogue` (serials, and a list's entries as a stream), so
the tests drive it with a fake. IXFR is answered from a journal of the operator's zone (`manual`:
its blocks and allows change one entry at a time): the versions seen since the server started,
diffed. A list's import replaces the whole list, so an IXFR of an imported list, or from a version
the journal does not hold, gets the whole zone, as RFC 1995 4 allows.

A request signed with a TSIG key (RFC 8945, `tsig.py`) is answered signed, every message of a
transfer; one whose key is unknown, whose MAC does not verify or whose time is off gets NOTAUTH
with the TSIG error (BADKEY, BADSIG unsigned; BADTIME signed, with our time). With `require_key`,
an unsigned AXFR or IXFR is REFUSED, as NSD's `provide-xfr: ADDR KEY` and BIND's
`allow-transfer { key NAME; }` do; SOA and NS queries are answered either way.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from fraudwall.blocklists.store import MANUAL_LIST, ListStream, StoreError
from fraudwall.resolver.dns.codec import Malformed
from fraudwall.resolver.dns.codes import QClass, QType, Rcode
from fraudwall.resolver.xfr import messages, tsig, zones

JOURNAL_VERSIONS = 16          # versions of the operator's zone kept for IXFR
JOURNAL_RECORDS = 200_000      # a bigger operator's zone is sent whole: its versions would cost too much


class Catalogue(Protocol):
    def serials(self) -> dict[str, int]: ...
    def stream(self, list_name: str) -> ListStream: ...


class Primary:
    def __init__(self, catalogue: Catalogue, suffix: str, allow: tuple[str, ...],
                 keys: dict[str, tsig.Key] | None = None, require_key: bool = False, clock=time.time) -> None:
        self.catalogue = catalogue
        self.keys = keys or {}
        self.require_key = require_key
        self.clock = clock
        self.suffix = suffix
        self.allow = tuple(ipaddress.ip_network(network, strict=False) for network in allow)
        self.serials: dict[str, int] = {}      # zone -> serial
        self.lists: dict[str, str] = {}        # zone -> the list it publishes (a list's name may hold dots)
        self.journal: list[tuple[int, frozenset[bytes]]] = []   # the operator's zone, oldest first
        self.counts: Counter[tuple[str, str]] = Counter()       # (kind, result) -> transfers
        self._journaled: int | None = None     # the operator's serial last looked at for the journal
        self.refresh()

    # ---- the store

    def refresh(self) -> list[zones.Soa]:
        """Read the serials again; the zones whose serial moved (new zones included)."""
        serials = self.catalogue.serials()
        self.lists = {zones.zone_name(name, self.suffix): name for name in serials}
        fresh = {zones.zone_name(name, self.suffix): serial for name, serial in serials.items()}
        moved = [zones.Soa(zone, serial) for zone, serial in fresh.items() if self.serials.get(zone) != serial]
        self.serials = fresh
        manual = zones.zone_name(MANUAL_LIST, self.suffix)
        if fresh[manual] != self._journaled:
            self._journaled = fresh[manual]
            self._keep_version(manual)   # the entries of the newest version (its serial may be newer still)
        return moved

    def _keep_version(self, zone: str) -> None:
        stream = self.catalogue.stream(MANUAL_LIST)
        serial = stream.serial
        try:
            version = set()
            for rr in zones.records(zone, stream.names(), stream.networks()):
                version.add(rr)
                if len(version) > JOURNAL_RECORDS:
                    self.journal = []
                    return
        finally:
            stream.close()
        self.journal = [*self.journal[-(JOURNAL_VERSIONS - 1):], (serial, frozenset(version))]

    # ---- the wire

    def respond(self, data: bytes, client: str, tcp: bool = True) -> Iterator[bytes]:
        """The messages that answer `data` from `client` (none: stay silent), signed when it was."""
        now = int(self.clock())
        try:
            data, signed = tsig.verify_request(data, self.keys, now)
        except tsig.Failure as failure:
            yield from self._tsig_refusal(failure, now)
            return
        replies = self._respond(data, client, tcp, signed is not None)
        if signed is None:
            yield from replies
            return
        # Every message signed: the first over the request's MAC, the others "timers only".
        prior = b""
        for number, reply in enumerate(replies):
            if number == 0:
                reply, prior = tsig.sign(reply, signed.key, now, request_mac=signed.mac)
            else:
                reply, prior = tsig.sign_next(reply, signed.key, int(self.clock()), prior)
            yield reply

    def _tsig_refusal(self, failure: tsig.Failure, now: int) -> Iterator[bytes]:
        """NOTAUTH with the TSIG error (RFC 8945 5.2); silence for a TSIG record that cannot be read."""
        request = messages.read_request(failure.body) if failure.body is not None else None
        if request is None or isinstance(request, Malformed):
            return
        query = request.query
        kind = {QType.AXFR: "axfr", QType.IXFR: "ixfr"}.get(query.qtype, "query")
        if failure.error == tsig.FORMERR:
            self.counts[(kind, "formerr")] += 1
            yield messages.error(query, Rcode.FORMERR)
            return
        self.counts[(kind, tsig.TsigError(failure.error).name.lower())] += 1
        yield tsig.refusal(messages.error(query, messages.NOTAUTH), failure, now)

    def _respond(self, data: bytes, client: str, tcp: bool, signed: bool) -> Iterator[bytes]:
        request = messages.read_request(data)
        if isinstance(request, Malformed):
            if request.reply is not None:
                yield request.reply
            return
        query = request.query
        if not self._allowed(client):
            self.counts[("refused", "refused")] += 1
            yield messages.error(query, Rcode.REFUSED)
            return
        zone = query.qname
        list_name = self.lists.get(zone)
        transfer = query.qtype in (QType.AXFR, QType.IXFR)
        kind = "axfr" if query.qtype == QType.AXFR else "ixfr" if query.qtype == QType.IXFR else "query"
        if transfer and self.require_key and not signed:
            self.counts[(kind, "unsigned")] += 1
            yield messages.error(query, Rcode.REFUSED)
            return
        if query.qclass != QClass.IN or zone not in self.serials or list_name is None:
            if transfer:
                self.counts[(kind, "notauth")] += 1
            yield messages.error(query, messages.NOTAUTH if transfer else Rcode.REFUSED)
            return
        serial = self.serials[zone]
        soa = zones.soa_record(serial)
        if not transfer:
            rtype = {QType.SOA: soa, QType.NS: zones.ns_record()}.get(query.qtype)
            yield messages.answer(query, (rtype,) if rtype else ())
            return
        if not tcp:
            # AXFR is TCP only (RFC 5936 4.2); over UDP an IXFR gets the current SOA alone, which
            # tells a secondary that is behind to ask again over TCP (RFC 1995 2).
            if query.qtype == QType.AXFR:
                yield messages.error(query, Rcode.REFUSED)
            else:
                yield messages.answer(query, (soa,))
            return
        if request.serial is not None:
            if not messages.newer(serial, request.serial):
                self.counts[("ixfr", "current")] += 1
                yield messages.answer(query, (soa,))
                return
            diff = self._diff(list_name, request.serial, serial)
            if diff is not None:
                self.counts[("ixfr", "incremental")] += 1
                deleted, added = diff
                yield from messages.ixfr(query, zones.soa_record(request.serial), soa, deleted, added)
                return
        self.counts[(kind, "full")] += 1
        yield from self._whole(query, zone, list_name)

    def _whole(self, query, zone: str, list_name: str) -> Iterator[bytes]:
        try:
            stream = self.catalogue.stream(list_name)
        except StoreError:   # removed since the last refresh: no longer served
            yield messages.error(query, messages.NOTAUTH)
            return
        try:
            # The serial of the entries read, which a change may have moved since `refresh`.
            soa = zones.soa_record(stream.serial)
            body = zones.records(zone, stream.names(), stream.networks())
            yield from messages.axfr(query, soa, _after(zones.ns_record(), body))
        finally:
            stream.close()

    def _diff(self, list_name: str, since: int, now: int) -> tuple[list[bytes], list[bytes]] | None:
        if list_name != MANUAL_LIST:
            return None
        versions = dict(self.journal)
        if since not in versions or now not in versions:
            return None
        old, new = versions[since], versions[now]
        return sorted(old - new), sorted(new - old)

    def _allowed(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)


def _after(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
