"""notify: a primary's NOTIFY (RFC 1996) for a followed zone, answered on the DNS port.

A NOTIFY (opcode 4) whose question names a `[blocklists] follow` zone, from that zone's primary
address, is acknowledged (NOERROR, authoritative, the opcode and question echoed, RFC 1996 4.7)
and leaves the trigger file `follow/NAME.notify` beside the store: the supervisor's schedule
(resolver/xfr/secondary.py) sees it within half a second and refreshes the list there, never in a
worker. A NOTIFY from any other address, or for a zone not followed, gets REFUSED: only the
primary may make this host ask, so a stranger cannot turn it into a transfer loop. Any other
opcode than QUERY and NOTIFY never gets here (the codec answers NOTIMP).

A list followed with a TSIG key (`key` of its `[[lists]]` table, RFC 8945) takes a NOTIFY from its
primary only signed with that key, as BIND's `allow-notify { key NAME; }` does: the reply is signed
over the NOTIFY's MAC (NSD and BIND check it); unsigned, REFUSED; signed with another key, or a MAC
that does not verify, NOTAUTH with the TSIG error (BADKEY, BADSIG unsigned; BADTIME signed). The key
is read from `[xfr] keys_file` when the worker starts (a SIGHUP reads it again).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import NamedTuple

from fraudwall.blocklists.settings import Follow, follow_folder
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Sibling, Stage
from fraudwall.resolver.dns.codec import OPCODE_MASK, OPCODE_NOTIFY, Query, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Trigger
from fraudwall.resolver.dns.stages.access import client_address
from fraudwall.resolver.xfr import keys as xfr_keys
from fraudwall.resolver.xfr import tsig
from fraudwall.resolver.xfr.messages import NOTAUTH

log = logging.getLogger("fraudwall")


class Followed(NamedTuple):
    primary: str                          # the primary's address: the only sender taken
    trigger: Path                         # touched to have the supervisor refresh the list
    keys: dict[str, tsig.Key] | None      # the one key its NOTIFY must be signed with; None: unsigned


class NotifyStage(Stage):
    def __init__(self, follows: tuple[Follow, ...] = (), db: Path | None = None, clock=time.time) -> None:
        super().__init__()
        self.clock = clock
        self._zones = {follow.zone: Followed(follow.address[0], follow_folder(db) / f"{follow.name}.notify",
                                             _key(follow))
                       for follow in follows if db is not None}

    async def resolve(self, query: Query) -> Answer:
        if query.flags & OPCODE_MASK != OPCODE_NOTIFY:   # one test for every ordinary query
            return await self.next.resolve(query)
        followed = self._zones.get(query.qname)
        address = client_address(query.client)
        if followed is None or address is None or str(address) != followed.primary:
            return _local(make_reply(query, Rcode.REFUSED))
        now = int(self.clock())
        signed = None
        if followed.keys is not None:
            # Refusals are not logged: a bad key shows where it matters, in the list's refreshes.
            try:
                signed = tsig.verify_request(query.wire, followed.keys, now)[1]
            except tsig.Failure as failure:
                if failure.error == tsig.FORMERR or failure.tsig is None:
                    return _local(make_reply(query, Rcode.FORMERR))
                return _local(tsig.refusal(make_reply(query, NOTAUTH), failure, now))
            if signed is None:
                return _local(make_reply(query, Rcode.REFUSED))
        try:
            followed.trigger.touch()
        except OSError as error:
            # Acknowledged all the same: the SOA refresh timer brings the change a little later.
            log.warning("notify: %s: the refresh not asked for: %s", query.qname, error)
        reply = make_reply(query, Rcode.NOERROR, authoritative=True)
        if signed is not None:
            reply = tsig.sign(reply, signed.key, now, request_mac=signed.mac)[0]
        return _local(reply)

    def sibling(self, name: str) -> Sibling:
        # By the opcode alone, which its sibling's flags (in the replay memo's key) hold: only a query passes.
        return Sibling.PASSES


def _local(body: bytes) -> Answer:
    return Answer(AnswerKind.LOCAL, body, Trigger.ZONE_TRANSFER)


def _key(follow: Follow) -> dict[str, tsig.Key] | None:
    """The key a followed list's NOTIFY must carry, by name; None for a list followed without one.
    A key that cannot be read (the file changed since the config was read) leaves it empty: every
    NOTIFY for that zone is refused until a SIGHUP, and the SOA refresh timer still brings changes."""
    if not follow.key:
        return None
    try:
        key = xfr_keys.load(follow.keys_file).get(follow.key)
    except xfr_keys.KeyFileError as error:
        log.error("notify: %s: %s; its NOTIFYs are refused", follow.name, error)
        return {}
    if key is None:
        log.error("notify: %s: no key %r in %s; its NOTIFYs are refused", follow.name, follow.key, follow.keys_file)
        return {}
    return {key.name: key}
