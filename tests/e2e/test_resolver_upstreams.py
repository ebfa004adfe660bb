"""Upstream failures: failover to the next server, the cache while all are down, SERVFAIL with EDE 22."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from tests.e2e.dnsclient import NOERROR, SERVFAIL, answer_ttls, ede_codes, rdata, tcp, udp
from tests.e2e.peers import free_port

pytestmark = pytest.mark.e2e

EDE_NO_REACHABLE_AUTHORITY = 22


def address(port: int) -> str:
    return f"127.0.0.1:{port}"


@pytest.fixture
def silent_upstream() -> Iterator[int]:
    """A UDP and TCP port that takes queries and never answers (a black-holed resolver)."""
    # The port the system picks for UDP may be held for TCP (another test's server, a connection's
    # TIME_WAIT): another one is picked then.
    for _ in range(50):
        udp_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_socket.bind(("127.0.0.1", 0))
        port = udp_socket.getsockname()[1]
        tcp_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp_socket.bind(("127.0.0.1", port))
            break
        except OSError:
            udp_socket.close()
            tcp_socket.close()
    else:
        pytest.fail("no port free for both UDP and TCP on 127.0.0.1", pytrace=False)
    tcp_socket.listen()
    yield port
    udp_socket.close()
    tcp_socket.close()


def test_first_upstream_refusing_connections_fails_over_to_the_second(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([address(free_port()), address(nsd.port)])

    reply = udp(fraudwall.port, "www.example.org", "A")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "A") == ["192.0.2.10"]


def test_first_upstream_silent_fails_over_to_the_second(nsd, silent_upstream, start_own_fraudwall):
    fraudwall = start_own_fraudwall([address(silent_upstream), address(nsd.port)], timeout=0.3)

    reply = udp(fraudwall.port, "www.example.org", "AAAA")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "AAAA") == ["2001:db8::10"]


def test_stopped_upstream_fails_over_to_a_second_nsd(start_own_nsd, start_own_fraudwall):
    first, second = start_own_nsd(), start_own_nsd()
    fraudwall = start_own_fraudwall([address(first.port), address(second.port)])
    assert rdata(udp(fraudwall.port, "www.example.org", "A"), "A") == ["192.0.2.10"]

    first.stop()
    reply = udp(fraudwall.port, "v4only.example.org", "A")

    assert reply.rcode() == NOERROR
    assert rdata(reply, "A") == ["192.0.2.20"]


def test_servfail_with_ede_when_every_upstream_is_down(start_own_nsd, start_own_fraudwall):
    upstream = start_own_nsd()
    fraudwall = start_own_fraudwall([address(upstream.port), address(free_port())])
    upstream.stop()

    reply = udp(fraudwall.port, "www.example.org", "A")

    assert reply.rcode() == SERVFAIL
    assert reply.answer == []
    assert reply.question[0].name.to_text() == "www.example.org."
    assert ede_codes(reply) == [EDE_NO_REACHABLE_AUTHORITY]


def test_servfail_when_every_upstream_is_silent(silent_upstream, start_own_fraudwall):
    fraudwall = start_own_fraudwall([address(silent_upstream)], timeout=0.2, attempts=2)

    reply = tcp(fraudwall.port, "www.example.org", "A")

    assert reply.rcode() == SERVFAIL
    assert ede_codes(reply) == [EDE_NO_REACHABLE_AUTHORITY]


def test_cached_answer_is_served_while_the_upstream_is_stopped(start_own_nsd, start_own_fraudwall):
    upstream = start_own_nsd()
    fraudwall = start_own_fraudwall([address(upstream.port)])
    before = udp(fraudwall.port, "cached.example.org", "A")
    upstream.stop()

    after = udp(fraudwall.port, "cached.example.org", "A")

    assert rdata(before, "A") == rdata(after, "A") == ["192.0.2.102"]
    assert after.rcode() == NOERROR
    assert 299 <= answer_ttls(after)[0] <= 300
    assert ede_codes(after) == []
