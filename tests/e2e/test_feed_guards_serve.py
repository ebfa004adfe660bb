"""A feed cannot take A/AAAA answers away from a network that `fraudwall serve` answers (issue 11, defect 2).

`0.0.0.0/0` and `::/0` (as an IP list or as an RPZ `rpz-ip` trigger) would sinkhole every
answer: the import is refused and the server keeps answering; an ordinary public /24 is
still enforced within seconds.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.e2e.dnsclient import rdata, udp
from tests.e2e.peers import ZONE_TEXT, fraudwall_binary, start_nsd

pytestmark = pytest.mark.e2e

ENFORCED_WITHIN = 3.0


def run_cli(*arguments: object) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *map(str, arguments)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


@pytest.fixture
def served(nsd_binary, start_own_fraudwall, tmp_path):
    nsd = start_nsd(nsd_binary, tmp_path / "nsd", ZONE_TEXT + "public IN A 100.128.0.7\n")
    db = tmp_path / "store" / "blocklists.db"
    try:
        yield start_own_fraudwall([f"127.0.0.1:{nsd.port}"], "--db", str(db), "--admin", ""), db
    finally:
        nsd.stop()


@pytest.mark.parametrize("filename, text", [
    ("everything.txt", "0.0.0.0/0\n::/0\n"),
    ("everything.rpz", "$TTL 60\n@ SOA ns.rpz.example.org. h.example.org. 1 3600 600 86400 60\n@ NS ns.rpz.example.org.\n"
                       "0.0.0.0.0.rpz-ip CNAME .\n0.zz.rpz-ip CNAME .\n"),
])
def test_a_feed_covering_every_address_is_refused_and_answers_stay(served, tmp_path, filename, text):
    server, db = served
    feed = tmp_path / filename
    feed.write_text(text)
    imported = run_cli("import", feed, "--list", "everything", "--db", db)
    assert imported.returncode == 2, imported.stdout + imported.stderr
    assert "network too broad" in imported.stderr and f"{feed}:" in imported.stderr
    assert "Traceback" not in imported.stderr
    assert rdata(udp(server.port, "www.example.org", "A"), "A") == ["192.0.2.10"]
    assert rdata(udp(server.port, "www.example.org", "AAAA"), "AAAA") == ["2001:db8::10"]
    assert rdata(udp(server.port, "public.example.org", "A"), "A") == ["100.128.0.7"]


def test_a_public_24_is_enforced(served, tmp_path):
    server, db = served
    feed = tmp_path / "ips.txt"
    feed.write_text("100.128.0.0/24\n")
    imported = run_cli("import", feed, "--list", "ips", "--db", db)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    deadline = time.monotonic() + ENFORCED_WITHIN
    while rdata(udp(server.port, "public.example.org", "A"), "A") != ["0.0.0.0"]:
        assert time.monotonic() < deadline, f"100.128.0.7 not sinkholed {ENFORCED_WITHIN} s after the import"
        time.sleep(0.05)
    assert rdata(udp(server.port, "www.example.org", "A"), "A") == ["192.0.2.10"]
