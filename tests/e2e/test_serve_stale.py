"""Serve-stale (RFC 8767) with a real `fraudwall serve` and NSD: an upstream outage is not a DNS outage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.dnsclient import NOERROR, SERVFAIL, answer_ttls, ede_codes, rdata, udp
from tests.e2e.peers import ZONE_TEXT, Process, start_nsd

pytestmark = pytest.mark.e2e

EDE_STALE_ANSWER = 3


@pytest.fixture
def short_lived_nsd(nsd_binary: str, tmp_path: Path) -> Iterator[Process]:
    """An NSD of this test's own (it stops it) whose `short.example.org` has a TTL of one second."""
    server = start_nsd(nsd_binary, tmp_path / "nsd", ZONE_TEXT + "short 1 IN A 192.0.2.77\n")
    yield server
    server.stop()


def stale_reply(port: int, name: str, seconds: float = 5.0):
    """Ask until fraudwall answers from its expired cache (EDE 3); fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        reply = udp(port, name, "A")
        if EDE_STALE_ANSWER in ede_codes(reply):
            return reply
        assert time.monotonic() < deadline, f"no stale answer for {name} within {seconds} s: {reply}"


def test_an_expired_answer_is_served_stale_while_the_upstream_is_down(short_lived_nsd: Process, start_own_fraudwall):
    nsd = short_lived_nsd
    server = start_own_fraudwall([f"127.0.0.1:{nsd.port}"])   # the upstream gives up after 0.3 s
    fresh = udp(server.port, "short.example.org", "A")
    nsd.stop()

    stale = stale_reply(server.port, "short.example.org")
    started = time.monotonic()
    again = udp(server.port, "short.example.org", "A")   # the failed refresh holds the next try back
    again_seconds = time.monotonic() - started
    never_cached = udp(server.port, "www.example.org", "A")

    assert rdata(fresh, "A") == ["192.0.2.77"] and EDE_STALE_ANSWER not in ede_codes(fresh)
    assert stale.rcode() == NOERROR and rdata(stale, "A") == ["192.0.2.77"]
    assert answer_ttls(stale) == [30]
    assert EDE_STALE_ANSWER in ede_codes(again) and again_seconds < 0.2
    assert never_cached.rcode() == SERVFAIL


def test_serve_stale_zero_answers_servfail_once_the_answer_expired(short_lived_nsd: Process, start_own_fraudwall):
    nsd = short_lived_nsd
    server = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], keys={"cache": "serve_stale = 0"})
    udp(server.port, "short.example.org", "A")
    nsd.stop()
    deadline = time.monotonic() + 5
    while (reply := udp(server.port, "short.example.org", "A")).rcode() == NOERROR:
        assert time.monotonic() < deadline
    assert reply.rcode() == SERVFAIL and EDE_STALE_ANSWER not in ede_codes(reply)
