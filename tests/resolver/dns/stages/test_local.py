"""The local stage: other classes than IN and ANY over UDP are answered here, never forwarded."""

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest
from fraudwall.resolver import config
from fraudwall.resolver.dns.stages.blocklist import BlocklistStage
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import read_query
from fraudwall.resolver.dns.codes import AnswerKind, Transport
from fraudwall.resolver.config import Config, ConfigError, ServerSettings, SinkholeSettings
from fraudwall.resolver.dns.stages.local import LocalStage
from fraudwall.resolver.server.worker import Resolver
from fraudwall.resolver.dns.sinkhole import Sinkhole
from fraudwall.resolver.dns.upstream_policy import Upstream

from tests.resolver.helpers import FixedAnswer, make_query, parse, policy, run
from tests.resolver.dns.test_replay import LiveBlocklist


def chain(identity=""):
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    return link(LocalStage(identity), upstream), upstream


def class_query(name, rdtype, rdclass, transport=Transport.UDP, client="127.0.0.1"):
    wire = dns.message.make_query(name, rdtype, rdclass=rdclass).to_wire()
    return read_query(wire, client, transport)


@pytest.mark.parametrize("name", ["version.bind", "version.server", "hostname.bind", "id.server"])
def test_chaos_names_are_refused_and_never_forwarded(name):
    stage, upstream = chain()
    for rdtype in ("TXT", "ANY"):
        answer = run(stage.resolve(class_query(name, rdtype, dns.rdataclass.CH)))
        reply = parse(answer.body)
        assert answer.kind is AnswerKind.LOCAL
        assert reply.rcode() == dns.rcode.REFUSED and reply.answer == []
        assert reply.question[0].rdclass == dns.rdataclass.CH
    assert upstream.calls == 0


@pytest.mark.parametrize("name", ["hostname.bind", "id.server", "ID.Server"])
def test_a_configured_identity_answers_id_server_and_hostname_bind(name):
    stage, upstream = chain(identity="resolver-1.example.org")
    reply = parse(run(stage.resolve(class_query(name, "TXT", dns.rdataclass.CH))).body)
    assert reply.rcode() == dns.rcode.NOERROR
    [rrset] = reply.answer
    assert (rrset.rdclass, rrset.rdtype) == (dns.rdataclass.CH, dns.rdatatype.TXT)
    assert [b"".join(rdata.strings) for rdata in rrset] == [b"resolver-1.example.org"]
    assert reply.question[0].name.to_text() == f"{name}."    # the client's case echoed
    assert upstream.calls == 0


def test_the_version_is_never_told_even_with_an_identity():
    stage, upstream = chain(identity="resolver-1")
    for name in ("version.bind", "version.server"):
        assert parse(run(stage.resolve(class_query(name, "TXT", dns.rdataclass.CH))).body).rcode() == dns.rcode.REFUSED
    assert upstream.calls == 0


@pytest.mark.parametrize("rdclass, name, rdtype", [
    (dns.rdataclass.CH, "www.example.org", "A"),
    (dns.rdataclass.CH, "authors.bind", "TXT"),
    (dns.rdataclass.HS, "www.example.org", "A"),
    (dns.rdataclass.ANY, "www.example.org", "A"),
    (dns.rdataclass.NONE, "www.example.org", "A"),
    (42, "www.example.org", "A"),
])
def test_every_other_class_is_refused(rdclass, name, rdtype):
    stage, upstream = chain(identity="resolver-1")
    for transport in Transport:
        answer = run(stage.resolve(class_query(name, rdtype, rdclass, transport)))
        assert parse(answer.body).rcode() == dns.rcode.REFUSED
    assert upstream.calls == 0


def test_in_class_queries_pass_on():
    stage, upstream = chain()
    assert run(stage.resolve(make_query())).kind is AnswerKind.RESOLVED
    assert upstream.calls == 1


def test_a_blocked_name_in_class_ch_gets_no_in_record():
    blocklist = LiveBlocklist()
    blocklist.block("fraud.example.net")
    upstream = FixedAnswer("fraud.example.net. 300 A 192.0.2.1")
    stage = link(LocalStage(""), BlocklistStage(blocklist, policy()), upstream)
    reply = parse(run(stage.resolve(class_query("fraud.example.net", "A", dns.rdataclass.CH))).body)
    assert reply.rcode() == dns.rcode.REFUSED and reply.answer == []
    # the same name in class IN is still blocked
    blocked = run(stage.resolve(make_query("fraud.example.net")))
    assert blocked.kind is AnswerKind.BLOCKED
    assert upstream.calls == 0


# ---------------------------------------------------------------- RFC 8482

def test_any_over_udp_gets_one_small_hinfo():
    stage, upstream = chain()
    query = make_query("www.example.org", "ANY")
    answer = run(stage.resolve(query))
    reply = parse(answer.body)
    assert answer.kind is AnswerKind.LOCAL and upstream.calls == 0
    assert reply.rcode() == dns.rcode.NOERROR
    [rrset] = reply.answer
    assert (rrset.name.to_text(), rrset.rdtype, rrset.rdclass) == (
        "www.example.org.", dns.rdatatype.HINFO, dns.rdataclass.IN)
    assert rrset.ttl == 3600
    assert [(rdata.cpu, rdata.os) for rdata in rrset] == [(b"RFC8482", b"")]
    assert len(answer.body) < 100
    assert answer.steady_until > 0      # the same bytes always get it: the replay memo may keep it


def test_any_over_tcp_is_forwarded():
    stage, upstream = chain()
    answer = run(stage.resolve(make_query("www.example.org", "ANY", transport=Transport.TCP)))
    assert answer.kind is AnswerKind.RESOLVED and upstream.calls == 1


def test_the_resolver_answers_chaos_before_any_list_or_upstream():
    config = Config(server=ServerSettings(identity="lab-resolver"))
    resolver = Resolver(config, LiveBlocklist(), (Upstream("127.0.0.1", 9),))
    sent = []
    wire = dns.message.make_query("id.server", "TXT", rdclass=dns.rdataclass.CH).to_wire()
    resolver.handler.handle(wire, "127.0.0.1", Transport.UDP, sent.append)
    [rrset] = parse(sent[0]).answer
    assert [b"".join(rdata.strings) for rdata in rrset] == [b"lab-resolver"]


@pytest.mark.parametrize("toml_value", ['"' + "x" * 256 + '"', '"lab\\nresolver"', '"\\u001b[31m"'])
def test_an_identity_that_is_not_one_printable_txt_string_is_a_config_error(tmp_path, toml_value):
    path = tmp_path / "fraudwall.toml"
    path.write_text(f"[server]\nidentity = {toml_value}\n")
    with pytest.raises(ConfigError, match=r"fraudwall.toml: \[server\] identity"):
        config.load(path)


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
def test_zone_transfers_are_refused_and_never_forwarded(rdtype, transport):
    stage, upstream = chain()
    answer = run(stage.resolve(class_query("example.org", rdtype, "IN", transport)))
    assert answer.kind is AnswerKind.LOCAL
    assert parse(answer.body).rcode() == dns.rcode.REFUSED
    assert upstream.calls == 0
