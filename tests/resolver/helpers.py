"""Small builders shared by the resolver's unit tests: queries and replies as dnspython makes them."""

from __future__ import annotations

import asyncio

import dns.edns
import dns.message
import dns.rrset
from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.chain import ReplySource
from fraudwall.resolver.dns.codec import Query, read_query, scan_reply, strip_opt
from fraudwall.resolver.dns.codes import AnswerKind, Transport


def query_wire(name: str = "www.example.org", rdtype: str = "A", **options) -> bytes:
    return dns.message.make_query(name, rdtype, **options).to_wire()


def make_query(name: str = "www.example.org", rdtype: str = "A", client: str = "127.0.0.1",
               transport: Transport = Transport.UDP, **options) -> Query:
    query = read_query(query_wire(name, rdtype, **options), client, transport)
    assert isinstance(query, Query), query
    return query


def upstream_reply(query: Query, *records: str, rcode: int = 0, authority: tuple[str, ...] = (),
                   edns: bool = True) -> bytes:
    """A reply as an upstream would send it to fraudwall, records in zone-file text."""
    message = dns.message.from_wire(query.wire)
    reply = dns.message.make_response(message)
    reply.set_rcode(rcode)
    for text in records:
        reply.answer.append(dns.rrset.from_text(*text.split(maxsplit=3)[:1], *_rest(text)))
    for text in authority:
        reply.authority.append(dns.rrset.from_text(*text.split(maxsplit=3)[:1], *_rest(text)))
    if not edns:
        reply.use_edns(False)
    return reply.to_wire()


def _rest(text: str) -> list[str]:
    owner, ttl, rdtype, rdata = text.split(maxsplit=3)
    return [int(ttl), "IN", rdtype, rdata]


def parse(wire: bytes) -> dns.message.Message:
    return dns.message.from_wire(wire)


def ede_of(message: dns.message.Message) -> list[tuple[int, str]]:
    return [(option.code, option.text) for option in message.options if option.otype == dns.edns.EDE]


def run(coro):
    return asyncio.run(coro)


class FixedAnswer(ReplySource):
    """The end of a test chain: counts calls and answers every query with one upstream reply."""

    def __init__(self, *records: str, rcode: int = 0, authority: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.records = records
        self.rcode = rcode
        self.authority = authority
        self.calls = 0

    async def fetch(self, query: Query) -> Reply:
        self.calls += 1
        wire = upstream_reply(query, *self.records, rcode=self.rcode, authority=self.authority)
        scan = scan_reply(wire)
        body = strip_opt(wire, scan)
        return Reply(Answer(AnswerKind.RESOLVED, body), scan_reply(body))


def policy(sinkhole=None, scorer: str = "block", name: str = "default", mode: str = "block", lists=None,
           tag: bytes = b""):
    """A client policy as the policy stage hands it to the blocking stages (the default one unless told)."""
    from fraudwall.resolver.config import SinkholeSettings
    from fraudwall.resolver.dns.policy import Policy
    from fraudwall.resolver.dns.sinkhole import Sinkhole

    holes = sinkhole if isinstance(sinkhole, Sinkhole) else Sinkhole(sinkhole or SinkholeSettings())
    return Policy(name, mode, frozenset(lists) if lists is not None else None, scorer, holes, tag)
