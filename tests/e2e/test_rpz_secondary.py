"""fraudwall as an RPZ secondary of a real NSD serving a policy zone file (`[blocklists] follow`).

NSD provides the zone by AXFR and sends a NOTIFY to fraudwall's DNS port when a reload finds a new
serial: the names of the zone are blocked once `serve` has started, and a name added on NSD is
blocked within 10 s of its reload, long before the zone's SOA refresh (an hour); with a zone whose
SOA refresh is 2 s, a change is enforced by the timer alone.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest

from fraudwall.resolver.dns.codec import Malformed, read_query
from tests.e2e.peers import Process, fraudwall_binary, free_port, nsd_config, write_fraudwall_config, wait_for
from tests.e2e.rpz_peers import lists, metrics, rcode, store_with_list

pytestmark = pytest.mark.e2e

ZONE = "phish.rpz.example.org"
FIRST = "evil-bank.example.com"
ADDED = "new-phish.example.net"


def _zone_text(serial: int, names: tuple[str, ...], refresh: int = 3600) -> str:
    records = "".join(f"{name} CNAME .\n*.{name} CNAME .\n" for name in names)
    soa = f"ns.example.org. hostmaster.example.org. {serial} {refresh} 600 86400 60"
    return f"$ORIGIN {ZONE}.\n$TTL 60\n@ IN SOA {soa}\n@ IN NS ns.example.org.\n{records}"



def _notify_message() -> dns.message.Message:
    message = dns.message.make_query(ZONE, "SOA")
    message.set_opcode(dns.opcode.NOTIFY)
    message.flags |= dns.flags.AA
    return message


def _notify(port: int, source: str) -> dns.message.Message:
    return dns.query.udp(_notify_message(), "127.0.0.1", port=port, source=source, timeout=2.0)


# The codec reads a NOTIFY as a query only once it lets opcode 4 through to the notify stage.
needs_notify = pytest.mark.skipif(isinstance(read_query(_notify_message().to_wire()), Malformed),
                                  reason="resolver/dns/codec.py answers every opcode but QUERY with NOTIMP")


@pytest.fixture(params=[3600])
def primary_and_secondary(nsd_binary: str, tmp_path: Path, request):
    """An NSD providing the zone (SOA refresh: the parameter) and notifying fraudwall's port, and a
    fraudwall following it."""
    nsd_port, fraudwall_port = free_port(), free_port()
    nsd_dir = tmp_path / "nsd"
    nsd_dir.mkdir()
    zone_file = nsd_dir / "rpz.zone"
    zone_file.write_text(_zone_text(1, (FIRST,), request.param))
    nsd_config(nsd_dir, nsd_port, f"""\
zone:
    name: "{ZONE}"
    zonefile: "rpz.zone"
    provide-xfr: 127.0.0.1 NOKEY
    notify: 127.0.0.1@{fraudwall_port} NOKEY
""")
    nsd = Process("nsd", [nsd_binary, "-d", "-c", str(nsd_dir / "nsd.conf")], nsd_port, nsd_dir, ZONE).start()
    directory = tmp_path / "fraudwall"
    config = write_fraudwall_config(directory, [f"127.0.0.1:{nsd_port}"],
                                    keys={"blocklists": f'follow = ["phish={ZONE},127.0.0.1:{nsd_port}"]'})
    admin_port = free_port()
    argv = [fraudwall_binary(), "serve", "--config", str(config), "--listen", f"127.0.0.1:{fraudwall_port}",
            "--admin", f"127.0.0.1:{admin_port}"]
    try:
        fraudwall = Process("fraudwall", argv, fraudwall_port, directory, "icbc-tuikuan.example.com").start()
        fraudwall.admin_port = admin_port
    except Exception:
        nsd.stop()
        raise
    yield nsd, zone_file, fraudwall, config
    fraudwall.stop()
    nsd.stop()


def test_a_followed_zone_is_enforced_from_the_start(primary_and_secondary):
    nsd, _, fraudwall, config = primary_and_secondary
    wait_for(f"{FIRST} blocked after the first transfer",
              lambda: rcode(fraudwall.port, f"www.{FIRST}") == dns.rcode.NXDOMAIN)
    assert rcode(fraudwall.port, ADDED) != dns.rcode.NXDOMAIN
    assert f"phish follows {ZONE}. at 127.0.0.1:{nsd.port}: serial 1; last refresh " in lists(config)
    transferred = 'fraudwall_xfr_secondary_transfers_total{list="phish",result="transferred"} 1.0'
    wait_for("/metrics counts the transfer", lambda: transferred in metrics(fraudwall.admin_port))


@pytest.mark.parametrize("primary_and_secondary", [2], indirect=True)
def test_a_change_on_the_primary_is_enforced_at_the_soa_refresh(primary_and_secondary):
    nsd, zone_file, fraudwall, config = primary_and_secondary
    wait_for("the first transfer", lambda: rcode(fraudwall.port, FIRST) == dns.rcode.NXDOMAIN)
    zone_file.write_text(_zone_text(2, (FIRST, ADDED), 2))
    nsd.signal(signal.SIGHUP)
    wait_for(f"{ADDED} blocked by the 2 s refresh", lambda: rcode(fraudwall.port, ADDED) == dns.rcode.NXDOMAIN)
    assert "serial 2;" in lists(config)


@needs_notify
def test_a_change_on_the_primary_is_enforced_within_10_s_of_its_notify(primary_and_secondary):
    nsd, zone_file, fraudwall, config = primary_and_secondary
    wait_for(f"{FIRST} blocked after the first transfer",
              lambda: rcode(fraudwall.port, f"www.{FIRST}") == dns.rcode.NXDOMAIN)

    zone_file.write_text(_zone_text(2, (FIRST, ADDED)))
    nsd.signal(signal.SIGHUP)   # NSD reads the changed file and notifies fraudwall's port
    wait_for(f"{ADDED} blocked after NSD's reload", lambda: rcode(fraudwall.port, ADDED) == dns.rcode.NXDOMAIN)
    listed = lists(config)
    assert f"phish follows {ZONE}. at 127.0.0.1:{nsd.port}: serial 2;" in listed
    assert "transferred" in listed


@needs_notify
def test_a_notify_is_acknowledged_from_the_primary_only(primary_and_secondary):
    _, _, fraudwall, _ = primary_and_secondary
    reply = _notify(fraudwall.port, "127.0.0.1")
    assert (reply.opcode(), reply.rcode()) == (dns.opcode.NOTIFY, dns.rcode.NOERROR)
    assert reply.flags & dns.flags.AA
    stranger = _notify(fraudwall.port, "127.0.0.2")
    assert (stranger.opcode(), stranger.rcode()) == (dns.opcode.NOTIFY, dns.rcode.REFUSED)


# ---------------------------------------------------------------- another fraudwall as the primary

def _serve(directory: Path, port: int, upstreams: list[str], *flags: str, **config) -> Process:
    path = write_fraudwall_config(directory, upstreams, **config)
    argv = [fraudwall_binary(), "serve", "--config", str(path), "--listen", f"127.0.0.1:{port}", *flags]
    return Process("fraudwall", argv, port, directory, "icbc-tuikuan.example.com").start()


@pytest.fixture
def two_fraudwalls(nsd: Process, tmp_path: Path):
    """A serves its lists by zone transfer and notifies B's DNS port; B follows A's list `phish` and
    A's own blocks (the zone manual.rpz.fraudwall.)."""
    xfr_port, a_port, b_port = free_port(), free_port(), free_port()
    a_dir = tmp_path / "a"
    a_store = store_with_list(a_dir / "store" / "blocklists.db", "phish", tmp_path / "phish.txt", f"{FIRST}\n")
    upstreams = [f"127.0.0.1:{nsd.port}"]
    started = [_serve(a_dir, a_port, upstreams, "--xfr-listen", f"127.0.0.1:{xfr_port}",
                      extra=f'\n[xfr]\nnotify = ["127.0.0.1:{b_port}"]\n')]
    try:
        follow = f'follow = ["a-phish=phish.rpz.fraudwall,127.0.0.1:{xfr_port}", ' \
                 f'"a-manual=manual.rpz.fraudwall,127.0.0.1:{xfr_port}"]'
        started.append(_serve(tmp_path / "b", b_port, upstreams, keys={"blocklists": follow}))
        yield a_store, started[1]
    finally:
        for server in started:
            server.stop()


def test_a_fraudwall_follows_another_fraudwalls_list_from_the_start(two_fraudwalls):
    _, b = two_fraudwalls
    wait_for(f"B blocks {FIRST}, a name of A's list", lambda: rcode(b.port, FIRST) == dns.rcode.NXDOMAIN)


@needs_notify
def test_a_block_on_the_primary_fraudwall_reaches_the_secondary_by_ixfr_within_5_s(two_fraudwalls):
    a_store, b = two_fraudwalls
    wait_for("B follows A's zones", lambda: rcode(b.port, FIRST) == dns.rcode.NXDOMAIN)
    assert rcode(b.port, "www.example.org") == dns.rcode.NOERROR
    subprocess.run([fraudwall_binary(), "block", "--db", str(a_store), "www.example.org"], check=True,
                   capture_output=True)
    wait_for("B blocks www.example.org after `fraudwall block` on A",
              lambda: rcode(b.port, "www.example.org") == dns.rcode.NXDOMAIN, seconds=5.0)
    # A's own zone answers an IXFR with the difference: B applies it to its last copy.
    assert "by IXFR;" in next(line for line in lists(b.directory / "fraudwall.toml").splitlines()
                              if line.startswith("a-manual follows"))
    subprocess.run([fraudwall_binary(), "unblock", "--db", str(a_store), "www.example.org"], check=True,
                   capture_output=True)
    wait_for("B answers www.example.org again after `fraudwall unblock` on A",
              lambda: rcode(b.port, "www.example.org") == dns.rcode.NOERROR, seconds=5.0)


def _manual_line(b: Process) -> str:
    lines = lists(b.directory / "fraudwall.toml").splitlines()
    return next((line for line in lines if line.startswith("a-manual follows")), "")


def test_a_restarted_follower_catches_up_by_ixfr(two_fraudwalls):
    a_store, b = two_fraudwalls
    wait_for("B has A's own zone", lambda: "transferred" in _manual_line(b))
    b.terminate()
    subprocess.run([fraudwall_binary(), "block", "--db", str(a_store), "www.example.org"], check=True,
                   capture_output=True)
    again = Process(b.name, b.argv, b.port, b.directory, b.probe_name).start()
    try:
        wait_for("B, started again, blocks what A blocked meanwhile",
                  lambda: rcode(again.port, "www.example.org") == dns.rcode.NXDOMAIN)
        assert "by IXFR;" in _manual_line(again)
    finally:
        again.stop()


def test_a_list_removed_and_imported_again_on_the_primary_reaches_the_secondary(two_fraudwalls, tmp_path: Path):
    a_store, b = two_fraudwalls
    wait_for("B follows A's list", lambda: rcode(b.port, FIRST) == dns.rcode.NXDOMAIN)
    subprocess.run([fraudwall_binary(), "lists", "remove", "phish", "--db", str(a_store)], check=True,
                   capture_output=True)
    feed = tmp_path / "phish-again.txt"
    feed.write_text(f"{ADDED}\n")
    subprocess.run([fraudwall_binary(), "import", "--db", str(a_store), "--list", "phish", str(feed)],
                   check=True, capture_output=True)
    # The list starts again at generation 1 on A, but its serial is above the one B holds: B takes it.
    wait_for(f"B blocks {ADDED}, the only name of A's new list",
             lambda: rcode(b.port, ADDED) == dns.rcode.NXDOMAIN)
    wait_for(f"B no longer blocks {FIRST}", lambda: rcode(b.port, FIRST) != dns.rcode.NXDOMAIN)
