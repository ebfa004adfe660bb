"""What a real `fraudwall serve` in front of a real NSD answers to hostile or careless clients:
CHAOS and other classes, ANY over UDP, a client over its rate limit, a denied host.

Each client has a loopback address of its own (127.0.0.1 is the readiness probe): 127.0.0.2
sends faster than the rate limit, 127.0.0.3 is denied, 127.0.0.4 is an ordinary neighbour.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from tests.e2e.dnsclient import HOST, TIMEOUT, rdata, tcp, udp
from tests.e2e.peers import Process, free_port, start_fraudwall, start_nsd

pytestmark = pytest.mark.e2e

BLOCKED = "icbc-tuikuan.example.com"   # in the demo list
FLOODER, DENIED, NEIGHBOUR = "127.0.0.2", "127.0.0.3", "127.0.0.4"
QPS, BURST = 5, 10


@pytest.fixture(scope="module")
def talkative_nsd(nsd_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """An NSD that tells its version and its identity to whoever asks in class CH."""
    server = start_nsd(nsd_binary, tmp_path_factory.mktemp("nsd"), hide_version=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def resolver(talkative_nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    server = start_fraudwall(tmp_path_factory.mktemp("fraudwall"), [f"127.0.0.1:{talkative_nsd.port}"])
    yield server
    server.stop()


def ask(port: int, name: str, rdtype: str, rdclass: int = dns.rdataclass.IN, source: str = HOST,
        timeout: float = TIMEOUT) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype, rdclass=rdclass), HOST, port=port, timeout=timeout,
                         source=source)


def test_the_upstream_does_tell_its_version(talkative_nsd: Process):
    """The premise: asked directly, this NSD says what it runs."""
    reply = ask(talkative_nsd.port, "version.bind", "TXT", dns.rdataclass.CH)
    assert reply.rcode() == dns.rcode.NOERROR and "NSD" in str(reply.answer)


@pytest.mark.parametrize("name", ["version.bind", "version.server", "hostname.bind", "id.server"])
def test_chaos_questions_are_refused_and_never_forwarded(resolver: Process, talkative_nsd: Process, name: str):
    direct = ask(talkative_nsd.port, name, "TXT", dns.rdataclass.CH)
    assert direct.rcode() == dns.rcode.NOERROR and direct.answer     # what forwarding would pass on
    for transport in (udp_chaos, tcp_chaos):
        reply = transport(resolver.port, name)
        assert reply.rcode() == dns.rcode.REFUSED
        assert reply.answer == []
        assert "NSD" not in reply.to_text()


def udp_chaos(port: int, name: str) -> dns.message.Message:
    return ask(port, name, "TXT", dns.rdataclass.CH)


def tcp_chaos(port: int, name: str) -> dns.message.Message:
    return dns.query.tcp(dns.message.make_query(name, "TXT", rdclass=dns.rdataclass.CH), HOST, port=port,
                         timeout=TIMEOUT)


@pytest.mark.parametrize("rdclass", [dns.rdataclass.CH, dns.rdataclass.HS, dns.rdataclass.ANY])
def test_a_blocked_name_in_another_class_gets_no_in_record(resolver: Process, rdclass: int):
    reply = ask(resolver.port, BLOCKED, "A", rdclass)
    assert reply.rcode() == dns.rcode.REFUSED
    assert reply.answer == []
    # in class IN it is still sinkholed
    assert rdata(udp(resolver.port, BLOCKED, "A"), "A") == ["0.0.0.0"]


def test_any_over_udp_gets_one_hinfo_and_over_tcp_the_records(resolver: Process, talkative_nsd: Process):
    direct = dns.query.udp(dns.message.make_query("www.example.org", "ANY"), HOST, port=talkative_nsd.port,
                           timeout=TIMEOUT)
    assert rdata(direct, "A") == ["192.0.2.10"]     # what forwarding would pass on (NSD itself sends one RRset)

    reply = udp(resolver.port, "www.example.org", "ANY")
    assert reply.rcode() == dns.rcode.NOERROR and not reply.flags & dns.flags.TC
    assert [(rrset.rdtype, rrset.ttl, [(item.cpu, item.os) for item in rrset]) for rrset in reply.answer] == [
        (dns.rdatatype.HINFO, 3600, [(b"RFC8482", b"")])]

    # TCP proves the client's address: no amplification, so the question is forwarded as before
    over_tcp = tcp(resolver.port, "www.example.org", "ANY")
    assert over_tcp.rcode() == dns.rcode.NOERROR and rdata(over_tcp, "A") == ["192.0.2.10"]
    assert not rdata(over_tcp, "HINFO")


# ---------------------------------------------------------------- rate limit and deny

@pytest.fixture(scope="module")
def guarded(talkative_nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, int]]:
    """A fraudwall that limits every client to 5 qps (burst 10), loopback included, and drops 127.0.0.3."""
    admin_port = free_port()
    server = start_fraudwall(tmp_path_factory.mktemp("guarded"), [f"127.0.0.1:{talkative_nsd.port}"],
                             "--admin", f"127.0.0.1:{admin_port}", deny=(DENIED,), access_action="drop",
                             extra=f"""
[ratelimit]
qps = {QPS}
burst = {BURST}
action = "refuse"
exempt = []
""")
    yield server, admin_port
    server.stop()


def test_a_client_over_its_rate_is_refused_while_its_neighbours_are_answered(guarded: tuple[Process, int]):
    server, admin_port = guarded
    started = time.monotonic()
    rcodes = [ask(server.port, "www.example.org", "A", source=FLOODER).rcode() for _ in range(4 * BURST)]
    elapsed = time.monotonic() - started
    answered = rcodes.count(dns.rcode.NOERROR)
    assert answered >= BURST
    assert answered <= BURST + QPS * elapsed + 1, (rcodes, elapsed)
    assert rcodes.count(dns.rcode.REFUSED) == len(rcodes) - answered > 0

    # the same moment, another client is answered in full, the flooder's replies included
    for client in (HOST, NEIGHBOUR):
        assert rdata(ask(server.port, "www.example.org", "A", source=client), "A") == ["192.0.2.10"]

    metrics = fetch_metrics(admin_port)
    limited = re.search(r'^fraudwall_ratelimit_limited_total\{action="refuse"\} (\S+)$', metrics, re.MULTILINE)
    assert limited and float(limited.group(1)) == len(rcodes) - answered
    assert re.search(r'^fraudwall_queries_total\{.*result="limited".*\} ', metrics, re.MULTILINE)


def test_a_denied_host_inside_an_allowed_network_gets_nothing(guarded: tuple[Process, int]):
    server, _ = guarded
    with pytest.raises(dns.exception.Timeout):
        ask(server.port, "www.example.org", "A", source=DENIED, timeout=0.5)
    assert rdata(ask(server.port, "www.example.org", "A", source=NEIGHBOUR), "A") == ["192.0.2.10"]


def fetch_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as response:
        return response.read().decode()
