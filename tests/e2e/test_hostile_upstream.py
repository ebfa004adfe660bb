"""A hostile upstream against a real `fraudwall serve`: forged replies are never accepted, smuggled records never cached.

The upstream (tests/resolver/fake_upstream.py, in a thread of this process) floods forged
replies at every query while it is pending: other IDs, another name or type, the QR bit clear,
another source port, the right reply to an earlier try that timed out, replies after the real
one. Its real replies also carry a record for a name nobody asked about.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from tests.e2e.dnsclient import SERVFAIL, rdata, udp
from tests.e2e.peers import Process
from tests.resolver.fake_upstream import FORGED_ADDRESS, ForgingUpstream

pytestmark = pytest.mark.e2e

NAMES = [f"n{index}.example.org" for index in range(20)]
ADDRESSES = {name: f"192.0.2.{100 + index}" for index, name in enumerate(NAMES)}
ADDRESSES |= {"late.example.org": "192.0.2.2", "www.example.org": "192.0.2.1", "victim.example.net": "192.0.2.99"}


@pytest.fixture
def forger() -> Iterator[ForgingUpstream]:
    upstream = ForgingUpstream(ADDRESSES, answer_second_try=("late.example.org",),
                               never_answer=("never.example.org",),
                               smuggle=(f"victim.example.net. 3600 A {FORGED_ADDRESS}",)).start()
    yield upstream
    upstream.stop()


@pytest.fixture
def fraudwall_behind_forger(forger: ForgingUpstream, start_own_fraudwall) -> Process:
    return start_own_fraudwall([f"127.0.0.1:{forger.port}"], timeout=0.5, attempts=2)


def addresses_of(reply, name: str) -> list[str]:
    return [item.address for rrset in reply.answer if rrset.name.to_text() == f"{name}." for item in rrset]


def test_forged_replies_flooded_while_queries_are_pending_are_never_accepted(forger: ForgingUpstream,
                                                                             fraudwall_behind_forger: Process):
    port = fraudwall_behind_forger.port
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = dict(zip(NAMES, pool.map(lambda name: udp(port, name, "A"), NAMES)))
    late = udp(port, "late.example.org", "A")
    never = udp(port, "never.example.org", "A")
    again = {name: udp(port, name, "A") for name in NAMES[:3]}   # from the cache: what was kept is the real one

    assert forger.forged > 20 * 150
    assert {name: addresses_of(reply, name) for name, reply in replies.items()} == \
        {name: [ADDRESSES[name]] for name in NAMES}
    assert addresses_of(late, "late.example.org") == ["192.0.2.2"]
    assert forger.queries.count("late.example.org") == 2
    assert never.rcode() == SERVFAIL and rdata(never, "A") == []
    assert {name: addresses_of(reply, name) for name, reply in again.items()} == \
        {name: [ADDRESSES[name]] for name in NAMES[:3]}
    assert all(forger.queries.count(name) == 1 for name in NAMES)


def test_records_for_names_not_asked_are_never_cached(forger: ForgingUpstream, fraudwall_behind_forger: Process):
    port = fraudwall_behind_forger.port
    www = udp(port, "www.example.org", "A")          # its reply smuggles victim.example.net A FORGED_ADDRESS
    victim = udp(port, "victim.example.net", "A")
    victim_again = udp(port, "victim.example.net", "A")

    assert addresses_of(www, "www.example.org") == ["192.0.2.1"]
    assert forger.queries.count("victim.example.net") == 1   # asked upstream, not answered from www's reply
    assert addresses_of(victim, "victim.example.net") == ["192.0.2.99"]
    assert addresses_of(victim_again, "victim.example.net") == ["192.0.2.99"]
