"""`fraudwall serve` answering from the blocklist store while the operator changes it.

The store is the test's own (`serve --db`); the changes are made with the blocklist
commands, as `fraudwall block/allow/unblock/import` would make them from another shell.
"""

from __future__ import annotations

import time

import pytest

from tests.blocklists.blocklist_helpers import cli
from tests.e2e.dnsclient import NOERROR, rdata, udp

pytestmark = pytest.mark.e2e

SINKHOLE = ["0.0.0.0"]
ENFORCED_WITHIN = 2.0


def answer(port: int, name: str) -> list[str]:
    """The A records of the reply; ["REFUSED"] etc. for a reply that is not NOERROR."""
    reply = udp(port, name, "A")
    if reply.rcode() != NOERROR:
        return [reply.rcode().name]
    return rdata(reply, "A")


def until(port: int, name: str, wanted: list[str], negate: bool = False) -> float:
    """Seconds until `name` is answered with `wanted` (with anything else when `negate`)."""
    started = time.monotonic()
    while time.monotonic() - started < ENFORCED_WITHIN + 1.0:
        if (answer(port, name) == wanted) != negate:
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{name} {'still' if negate else 'not'} answered {wanted} after {ENFORCED_WITHIN + 1.0} s")


@pytest.fixture
def served(start_own_nsd, start_own_fraudwall, tmp_path):
    nsd = start_own_nsd()
    db = tmp_path / "store" / "blocklists.db"
    server = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], "--db", str(db), "--admin", "")
    return server, db


def test_the_store_answers_and_live_changes_are_enforced_within_2_seconds(served):
    server, db = served
    assert answer(server.port, "icbc-tuikuan.example.com") == SINKHOLE     # the seeded demo list
    assert answer(server.port, "www.example.org") == ["192.0.2.10"]        # cached from now on

    assert cli("block", "www.example.org", "--db", db) == 0
    assert until(server.port, "www.example.org", SINKHOLE) <= ENFORCED_WITHIN

    assert cli("unblock", "www.example.org", "--db", db) == 0
    assert until(server.port, "www.example.org", ["192.0.2.10"]) <= ENFORCED_WITHIN

    # Allowed, the name goes upstream (which does not serve it): no sinkhole any more.
    assert cli("allow", "icbc-tuikuan.example.com", "--db", db) == 0
    assert until(server.port, "icbc-tuikuan.example.com", SINKHOLE, negate=True) <= ENFORCED_WITHIN


def test_an_import_while_serving_swaps_the_list_in(served, tmp_path):
    server, db = served
    feed = tmp_path / "feed.txt"
    feed.write_text("0.0.0.0 cached.example.org\n")
    assert answer(server.port, "cached.example.org") == ["192.0.2.102"]
    assert cli("import", feed, "--list", "live", "--db", db) == 0
    assert until(server.port, "cached.example.org", SINKHOLE) <= ENFORCED_WITHIN


def test_an_address_blocked_live_blocks_the_answers_holding_it(served):
    server, db = served
    assert cli("block", "192.0.2.20", "--db", db) == 0
    time.sleep(1.5)     # one refresh; v4only.example.org has not been asked (nor cached) before
    reply = udp(server.port, "v4only.example.org", "A")
    assert rdata(reply, "A") != ["192.0.2.20"]
