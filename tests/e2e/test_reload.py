"""Changing a running `fraudwall serve`: SIGHUP (`systemctl reload`) drops the cached answers, and the
operator's `fraudwall block` / `fraudwall unblock` are enforced within 2 s, also for a cached name.

Each test has its own NSD (which it may stop) and its own store (`--db`), imported beforehand with
`fraudwall import`, as an operator would.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest

from tests.e2e import dnsclient
from tests.e2e.peers import fraudwall_binary, free_port, start_fraudwall
from tests.e2e.test_observability import DEMO_LIST, listening_pids, scrape, total

pytestmark = pytest.mark.e2e

CACHED = "cached.example.org"          # 192.0.2.102 in the test zone
CACHED_ADDRESS = "192.0.2.102"
ALLOWED = "www.example.org"            # 192.0.2.10
ALLOWED_ADDRESS = "192.0.2.10"
NEVER_ASKED = "v4only.example.org"     # 192.0.2.20
BLOCKED = "icbc-tuikuan.example.com"
ENFORCED_WITHIN = 2.0


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *arguments], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


def new_store(directory: Path) -> Path:
    db = directory / "store" / "blocklists.db"
    imported = run_cli("import", str(DEMO_LIST), "--list", "demo", "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    return db


def ask(port: int, name: str) -> dns.message.Message:
    """One query from a fresh socket (a fresh source port: with several workers, any of them answers)."""
    return dns.query.udp(dns.message.make_query(name, "A", use_edns=0), "127.0.0.1", port=port, timeout=2.0)


def addresses(port: int, name: str) -> list[str]:
    return dnsclient.rdata(ask(port, name), "A")


def until(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until `check()` held; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s", pytrace=False)
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_drops_cached_answers_and_keeps_serving(workers, start_own_nsd, tmp_path):
    nsd = start_own_nsd()
    server = start_fraudwall(tmp_path / "fraudwall", [f"127.0.0.1:{nsd.port}"], "--workers", str(workers),
                             "--db", str(new_store(tmp_path)), "--admin", "")
    try:
        if workers > 1:
            # The supervisor holds the sockets too (it hands them to the workers it starts).
            until(lambda: len(listening_pids(server.port) - {server.pid}) == workers, 10)
        # Asked from many source ports: every worker has the answer in its cache.
        for _ in range(12 * workers):
            assert addresses(server.port, CACHED) == [CACHED_ADDRESS]
        nsd.stop()
        # The upstream is gone: what comes now comes from the cache.
        for _ in range(12 * workers):
            assert addresses(server.port, CACHED) == [CACHED_ADDRESS]

        server.signal(signal.SIGHUP)   # systemctl reload fraudwall (ExecReload=/bin/kill -HUP $MAINPID)
        server.signalled = False       # only a reload: terminate() below still sends SIGTERM

        def forwarded_again() -> bool:
            return all(ask(server.port, CACHED).rcode() == dnsclient.SERVFAIL for _ in range(12 * workers))

        until(forwarded_again, 2.0)    # asked upstream again (which is down), not answered from the cache
        assert server.process.poll() is None, f"serve exited on SIGHUP:\n{server.log()}"
        # The old workers finish what they have in flight and go; as many new ones serve.
        until(lambda: len(listening_pids(server.port) - {server.pid}) == workers, 5)
        assert addresses(server.port, BLOCKED) == ["0.0.0.0"]   # still serving, still blocking
        assert server.terminate(timeout=10) == 0, server.log()
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_live_block_and_unblock_are_enforced_within_two_seconds(start_own_nsd, tmp_path):
    nsd = start_own_nsd()
    db = new_store(tmp_path)
    admin_port = free_port()
    server = start_fraudwall(tmp_path / "fraudwall", [f"127.0.0.1:{nsd.port}"], "--db", str(db),
                             "--admin", f"127.0.0.1:{admin_port}")
    try:
        assert addresses(server.port, ALLOWED) == [ALLOWED_ADDRESS]
        hits = total(scrape(admin_port), "fraudwall_cache_hits_total")
        assert addresses(server.port, ALLOWED) == [ALLOWED_ADDRESS]
        assert total(scrape(admin_port), "fraudwall_cache_hits_total") == hits + 1   # the answer is cached

        blocked = run_cli("block", ALLOWED, NEVER_ASKED, "--db", str(db), "--reason", "live test")
        assert blocked.returncode == 0, blocked.stderr
        took = until(lambda: addresses(server.port, ALLOWED) == ["0.0.0.0"], ENFORCED_WITHIN)
        reply = dns.query.udp(dnsclient.query(ALLOWED), "127.0.0.1", port=server.port, timeout=2.0)
        assert dnsclient.ede_codes(reply) == [15], reply   # EDE 15 "Blocked", naming the operator's list
        assert "manual" in reply.to_text()
        assert addresses(server.port, NEVER_ASKED) == ["0.0.0.0"]
        assert took < ENFORCED_WITHIN

        unblocked = run_cli("unblock", ALLOWED, NEVER_ASKED, "--db", str(db))
        assert unblocked.returncode == 0, unblocked.stderr
        until(lambda: addresses(server.port, ALLOWED) == [ALLOWED_ADDRESS], ENFORCED_WITHIN)
        until(lambda: addresses(server.port, NEVER_ASKED) == ["192.0.2.20"], ENFORCED_WITHIN)
        # The demo list is untouched by the operator's own entries.
        assert addresses(server.port, BLOCKED) == ["0.0.0.0"]
        assert server.process.poll() is None
    finally:
        server.stop()


def test_a_live_block_of_a_cname_target_or_an_address_reaches_cached_answers(start_own_nsd, tmp_path):
    """`alias.example.org` is a CNAME chain to www.example.org (192.0.2.10); its answer is cached, then
    the operator blocks the target, then its address: both are enforced within 2 s although the
    alias itself is on no list, because a change to the lists drops the answers inspected against the old."""
    nsd = start_own_nsd()
    db = new_store(tmp_path)
    server = start_fraudwall(tmp_path / "fraudwall", [f"127.0.0.1:{nsd.port}"], "--db", str(db))
    try:
        assert ALLOWED_ADDRESS in addresses(server.port, "alias.example.org")
        assert run_cli("block", ALLOWED, "--db", str(db)).returncode == 0
        until(lambda: addresses(server.port, "alias.example.org") == ["0.0.0.0"], ENFORCED_WITHIN)
        assert run_cli("unblock", ALLOWED, "--db", str(db)).returncode == 0
        until(lambda: ALLOWED_ADDRESS in addresses(server.port, "alias.example.org"), ENFORCED_WITHIN)
        assert run_cli("block", ALLOWED_ADDRESS, "--db", str(db)).returncode == 0
        until(lambda: addresses(server.port, "alias.example.org") == ["0.0.0.0"], ENFORCED_WITHIN)
    finally:
        server.stop()
