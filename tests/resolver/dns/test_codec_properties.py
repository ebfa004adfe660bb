"""Property-based tests of the codec: random and mutated bytes never raise out of what reads the wire.

A client's datagram is read as a query or comes back as `Malformed` (with a reply carrying the
client's ID whenever the header is readable and is not itself a reply); an upstream's reply is
scanned or refused with None, and what the scan finds (TTL offsets, the OPT record's place)
stays true of the bytes the cache and the client get. The mutations are those a fuzzer would try:
bit flips, truncation, extension, duplicated spans, label lengths and compression pointers set to
awkward values, header counts changed, OPT records with lying lengths, versions and options.
"""

from __future__ import annotations

import dns.edns
import dns.message
import dns.rcode
import dns.rrset
from fraudwall.resolver.dns.codec import (
    HEADER,
    QR,
    U32,
    Malformed,
    Query,
    for_client,
    make_record,
    make_reply,
    make_upstream_query,
    read_name,
    read_query,
    render,
    scan_reply,
    strip_opt,
)
from fraudwall.resolver.dns.codes import EDECode, QType, Rcode, Transport
from fraudwall.resolver.server.upstream import UpstreamError, _readable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.resolver.mutations import (AWKWARD_COUNTS, AWKWARD_OCTETS, MAX_POSITION, long_name, mutate,
                                     query_corpus, query_wire)

# Bounded so that the whole file runs in a few seconds; no example database is written.
FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- corpus

QUERIES = query_corpus(("www.example.org", "xn--fiqs8s.example.org", "login.example.com"))


def _reply(asked: bytes, *records: tuple[str, str, str], authority: tuple[tuple[str, str, str], ...] = (),
           rcode: int = 0, ede: tuple[int, str] | None = None, edns: bool = True) -> bytes:
    reply = dns.message.make_response(dns.message.from_wire(asked))
    reply.set_rcode(rcode)
    for owner, rdtype, rdata in records:
        reply.answer.append(dns.rrset.from_text(owner + ".", 300, "IN", rdtype, rdata))
    for owner, rdtype, rdata in authority:
        reply.authority.append(dns.rrset.from_text(owner + ".", 300, "IN", rdtype, rdata))
    if ede is not None:
        reply.use_edns(0, 0, 1232, options=[dns.edns.EDEOption(*ede)])
    elif not edns:
        reply.use_edns(False)
    return reply.to_wire()


def _opt_before_another_record(reply: bytes) -> bytes:
    """A reply whose OPT record is not the last one: the forwarder rebuilds such a reply (dnslib)."""
    extra = make_record(QType.A, 60, b"\xc0\x00\x02\x63")
    arcount = int.from_bytes(reply[10:12], "big") + 1
    return reply[:10] + arcount.to_bytes(2, "big") + reply[12:] + extra


SOA = ("example.org", "SOA", "ns1.example.org. hostmaster.example.org. 1 3600 900 604800 60")
REPLIES = (
    _reply(QUERIES[0], ("www.example.org", "A", "192.0.2.10")),
    _reply(QUERIES[1], ("www.example.org", "CNAME", "alias.example.org."),
           ("alias.example.org", "CNAME", "web.example.net."), ("web.example.net", "AAAA", "2001:db8::10")),
    _reply(QUERIES[2], ("example.org", "MX", "10 mail.example.org."), edns=False),
    _reply(QUERIES[3], ("example.org", "TXT", " ".join(f'"{"x" * 200}"' for _ in range(4)))),
    _reply(QUERIES[4], authority=(SOA,), rcode=dns.rcode.NXDOMAIN),
    _reply(QUERIES[5], (long_name("www.example.org"), "A", "192.0.2.55")),
    _reply(QUERIES[0], rcode=dns.rcode.SERVFAIL, ede=(EDECode.NO_REACHABLE_AUTHORITY, "no server answered")),
    _reply(QUERIES[9], authority=(SOA,)),
)
REPLIES += (_opt_before_another_record(REPLIES[6]), _opt_before_another_record(REPLIES[4]))

positions = st.integers(min_value=0, max_value=MAX_POSITION)
sixteen_bits = st.sampled_from(AWKWARD_COUNTS) | st.integers(0, 0xFFFF)
mutation = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 7)),
    st.tuples(st.just("truncate"), positions, st.none()),
    st.tuples(st.just("extend"), positions, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("duplicate"), positions, st.integers(1, 80)),
    st.tuples(st.just("octet"), positions, st.sampled_from(AWKWARD_OCTETS) | st.integers(0, 255)),
    st.tuples(st.just("pointer"), positions, st.integers(0, 0x3FFF) | st.integers(0, 40)),
    st.tuples(st.just("count"), positions, sixteen_bits),
    st.tuples(st.just("opt"), positions, sixteen_bits),
)


def _mutated(corpus: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    return st.builds(_fold, st.sampled_from(corpus), st.lists(mutation, min_size=1, max_size=4))


def _fold(wire: bytes, steps: list[tuple]) -> bytes:
    for kind, position, value in steps:
        wire = mutate(wire, kind, position, value)
    return wire


client_bytes = st.one_of(st.binary(max_size=600), _mutated(QUERIES), _mutated(REPLIES))
upstream_bytes = st.one_of(st.binary(max_size=600), _mutated(REPLIES), _mutated(QUERIES))


# ---------------------------------------------------------------- client messages

def _check_read(data: bytes, transport: Transport) -> Query | Malformed:
    outcome = read_query(data, "127.0.0.1", transport)
    assert type(outcome) in (Query, Malformed)
    if type(outcome) is Malformed:
        if len(data) >= 12 and not data[2] & 0x80:
            # A readable header that is not a reply gets an answer with its ID, which a client can parse.
            assert outcome.reply is not None, outcome
            assert outcome.reply[:2] == data[:2] and outcome.reply[2] & 0x80
            message = dns.message.from_wire(outcome.reply)
            assert message.rcode() in (dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.BADVERS)
        else:
            assert outcome.reply is None  # no header, or a response: silence, never a reflection
    return outcome


@FAST
@given(client_bytes, st.sampled_from(Transport))
def test_a_client_message_is_read_or_answered_with_an_error(data, transport):
    _check_read(data, transport)


@FAST
@given(client_bytes)
def test_a_query_that_reads_renders_replies_that_fit_and_read_back(data):
    query = _check_read(data, Transport.UDP)
    if type(query) is not Query:
        return
    sinkholed = make_reply(query, Rcode.NOERROR, (make_record(QType.A, 60, b"\x00\x00\x00\x00"),))
    for transport in Transport:
        addressed = query._replace(transport=transport)
        for body, ede in ((make_reply(query, Rcode.NXDOMAIN), None),
                          (sinkholed, (EDECode.BLOCKED, "listed in fraud (feed.txt:1)"))):
            wire = render(addressed, body, ede)
            assert len(wire) <= addressed.reply_limit
            assert wire[:2] == data[:2]
            scan = scan_reply(wire)
            assert scan is not None and scan.question == query.question
    forwarded = make_upstream_query(query, 0x1234)
    assert type(read_query(forwarded)) is Query


@settings(FAST, max_examples=80)
@given(st.lists(client_bytes, min_size=2, max_size=8))
def test_remembered_questions_read_exactly_like_new_ones(messages):
    known: dict[bytes, tuple] = {}
    for data in messages + messages:
        assert read_query(data, known=known) == read_query(data)


@FAST
@given(st.binary(max_size=300), st.integers(0, 320))
def test_reading_a_name_anywhere_raises_nothing_but_value_or_index_errors(data, offset):
    try:
        name, after = read_name(data, offset)
    except (ValueError, IndexError):
        return
    assert len(name) <= 255 and offset < after <= len(data)


# ---------------------------------------------------------------- upstream replies

@FAST
@given(upstream_bytes)
def test_a_reply_is_scanned_or_refused_and_its_scan_holds(data):
    scan = scan_reply(data)
    if scan is None:
        return
    assert data[2] & 0x80 and HEADER.unpack_from(data)[2] == 1
    for offset, ttl in scan.ttls:
        raw = U32.unpack_from(data, offset)[0]
        assert ttl == (0 if raw & 0x80000000 else raw)
    if scan.opt_span is not None:
        start, end = scan.opt_span
        assert 12 < start < end <= len(data)
    body = strip_opt(data, scan)
    if body is None:
        assert not scan.opt_is_last
        return
    rescanned = scan_reply(body)
    assert rescanned is not None and rescanned.opt_span is None and rescanned.end == len(body)
    # The cache rewrites TTLs at the first scan's offsets in the stripped body: they must still be there.
    assert rescanned.ttls == scan.ttls and rescanned.question == scan.question


@FAST
@given(upstream_bytes)
def test_what_the_forwarder_reads_from_an_upstream_is_a_body_or_an_upstream_error(data):
    try:
        body, scan = _readable(data)
    except UpstreamError:
        return
    assert body[:2] == data[:2] and scan.opt_span is None
    for offset, ttl in scan.ttls:
        raw = U32.unpack_from(body, offset)[0]
        assert ttl == (0 if raw & 0x80000000 else raw)


@FAST
@given(st.sampled_from(QUERIES), upstream_bytes)
def test_a_reply_to_the_question_is_addressed_to_the_client_with_its_id_and_question(asked, data):
    query = read_query(asked)
    assert type(query) is Query
    scan = scan_reply(data)
    if scan is None or scan.question.lower() != query.question.lower():
        return
    body = strip_opt(data, scan)
    if body is None:
        return
    wire = for_client(body, query)
    assert len(wire) == len(body)
    assert wire[:2] == query.wire[:2] and wire[12:12 + len(query.question)] == query.question
    assert wire[2] & 0x80 == QR >> 8
    rendered = render(query, wire)
    assert len(rendered) <= query.reply_limit and scan_reply(rendered) is not None


def test_the_corpus_reads_as_queries_and_replies():
    """The mutations start from valid messages: a corpus that did not read would test nothing."""
    assert all(type(read_query(wire)) is Query for wire in QUERIES)
    assert all(scan_reply(wire) is not None for wire in REPLIES)
    assert strip_opt(REPLIES[-1], scan_reply(REPLIES[-1])) is None  # the rebuilt kind is in the corpus


def test_bytes_after_an_upstream_replys_last_record_never_reach_the_client():
    """Found by the properties above: junk after the records stayed in the body, and the client's OPT
    went after the junk, so the client read the junk as a record (or refused the whole reply)."""
    query = read_query(query_wire("www.example.org", use_edns=0, payload=1232))
    reply = _reply(query.wire, ("www.example.org", "A", "192.0.2.10"), edns=False)
    for junk in (b"\x00" * 16, b"\xc0\x0c\x00\x01junk"):
        body, _ = _readable(reply + junk)
        message = dns.message.from_wire(render(query, for_client(body, query)))  # raises on trailing junk
        assert [rrset.to_text() for rrset in message.answer] == ["www.example.org. 300 IN A 192.0.2.10"]
        assert message.edns == 0 and not message.additional


def test_a_cname_whose_target_runs_past_its_rdata_makes_the_reply_unreadable():
    """Found by the properties above: the target was read from the bytes after the record, so the
    scan (and the inspect stage) saw a name the record does not hold, and the stripped body no longer read."""
    reply = _reply(QUERIES[0], ("www.example.org", "CNAME", "alias.example.net."))
    cname = reply.index(b"\x00\x05\x00\x01")
    rdlength = cname + 8
    for short in (0, 5):
        cut = reply[:rdlength] + short.to_bytes(2, "big") + reply[rdlength + 2:]
        assert scan_reply(cut) is None


def test_an_opt_record_outside_the_additional_section_makes_the_reply_unreadable():
    """Found by the properties above in a CI-like run: an OPT in the authority section with ARCOUNT 0
    was taken for the reply's OPT, and stripping it made ARCOUNT -1 (struct.error out of the codec)."""
    header = b"\x00\x00\x80\x00" + b"\x00\x01" + b"\x00\x00" + b"\x00\x01" + b"\x00\x00"   # QD 1, NS 1, AR 0
    question = b"\x00" + b"\x00\x01\x00\x01"                                              # . A IN
    opt = b"\x00" + b"\x00\x29" + b"\x04\xd0" + b"\x00\x00\x00\x00" + b"\x00\x00"          # OPT, in authority
    data = header + question + opt
    assert scan_reply(data) is None
    try:
        _readable(data)
    except UpstreamError:
        pass
    else:
        raise AssertionError("an unreadable reply was read")
