"""notify: a primary's NOTIFY (RFC 1996) for a followed zone, answered on the DNS port.

A NOTIFY (opcode 4) whose question names a `[blocklists] follow` zone, from that zone's primary
address, is acknowledged (NOERROR, authoritative, the opcode and question echoed, RFC 1996 4.7)
and leaves the trigger file `follow/NAME.notify` beside the store: the supervisor's schedule
(resolver/xfr/secondary.py) sees it within half a second and refreshes the list there, never in a
worker. A NOTIFY from any other address, or for a zone not followed, gets REFUSED: only the
primary may make this host ask, so a stranger cannot turn it into a transfer loop. Any other
opcode than QUERY and NOTIFY never gets here (the codec answers NOTIMP).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fraudwall.blocklists.settings import Follow, follow_folder
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import OPCODE_MASK, OPCODE_NOTIFY, Query, make_reply
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Trigger
from fraudwall.resolver.dns.stages.access import client_address

log = logging.getLogger("fraudwall")

class NotifyStage(Stage):
    def __init__(self, follows: tuple[Follow, ...] = (), db: Path | None = None) -> None:
        super().__init__()
        # zone -> (the primary's address, the trigger file)
        self._zones = {follow.zone: (follow.address[0], follow_folder(db) / f"{follow.name}.notify")
                       for follow in follows if db is not None}

    async def resolve(self, query: Query) -> Answer:
        if query.flags & OPCODE_MASK != OPCODE_NOTIFY:   # one test for every ordinary query
            return await self.next.resolve(query)
        followed = self._zones.get(query.qname)
        address = client_address(query.client)
        if followed is None or address is None or str(address) != followed[0]:
            return Answer(AnswerKind.LOCAL, make_reply(query, Rcode.REFUSED), Trigger.ZONE_TRANSFER)
        try:
            followed[1].touch()
        except OSError as error:
            # Acknowledged all the same: the SOA refresh timer brings the change a little later.
            log.warning("notify: %s: the refresh not asked for: %s", query.qname, error)
        return Answer(AnswerKind.LOCAL, make_reply(query, Rcode.NOERROR, authoritative=True), Trigger.ZONE_TRANSFER)
