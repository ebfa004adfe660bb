"""fraudwall as an RPZ primary, followed by a real BIND 9 (`response-policy`, secondary zones).

BIND resolves through an NSD (its forwarder) and enforces its copies of fraudwall's zones: a name
of the imported list `phish` is NXDOMAIN or NODATA as the list says, an answer holding a listed
address or an address of a listed network (rpz-ip, IPv4 and IPv6) is rewritten, a `fraudwall
block` reaches it by NOTIFY and IXFR within 10 s, an `unblock` likewise, and an operator's allow
wins over the list because the `manual` zone comes first.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.e2e.peers import ZONE_TEXT, Process, answers, fraudwall_binary, free_port, start_nsd
from tests.e2e.rpz_peers import named_options, store_with_list

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 10.0

# The upstream's names: each answers NOERROR with its address until a policy rewrites it, so an
# NXDOMAIN or an empty answer can only come from BIND's copy of fraudwall's zones.
UPSTREAM_TEXT = ZONE_TEXT + """\
evil-bank     IN A    192.0.2.66
quiet         IN A    192.0.2.67
shop          IN A    11.22.33.44
shop-net      IN A    11.22.33.7
shop-fine     IN A    11.22.34.1
shop6         IN AAAA 2a02:26f0::1
tie6          IN AAAA 2a02:26f0::1:0:0:1
lab6          IN AAAA 2a02:0:0:1::5
lab6-fine     IN AAAA 2a02:0:0:2::5
"""

# The list `phish`, imported from an RPZ file: names, then addresses and networks in answers,
# IPv6 with `zz` for `::` in the middle, at the end, and for the first of two equal runs of zeros
# (BIND logs any other spelling as not canonical, and refuses a prefix with bits set after it).
PHISH_FEED = """\
$TTL 300
@ SOA localhost. hostmaster.localhost. 1 3600 600 86400 60
  NS localhost.
evil-bank.example.org CNAME .
quiet.example.org CNAME *.
32.44.33.22.11.rpz-ip CNAME .
24.0.33.22.11.rpz-ip CNAME .
128.1.zz.26f0.2a02.rpz-ip CNAME .
128.1.0.0.1.zz.26f0.2a02.rpz-ip CNAME .
64.zz.1.0.0.2a02.rpz-ip CNAME *.
"""


def _wait_for(what: str, check, bind: Process, seconds: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}\nnamed's log:\n{bind.log()[-3000:]}"
        time.sleep(0.1)


def _ask(port: int, name: str, rdtype: str = "A") -> tuple[int, set[str]] | None:
    """(rcode, the answer's data of type `rdtype`), or None when no answer came."""
    try:
        reply = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=1.0)
    except (OSError, dns.exception.DNSException):
        return None
    wanted = dns.rdatatype.from_text(rdtype)
    return reply.rcode(), {rdata.to_text() for rrset in reply.answer if rrset.rdtype == wanted for rdata in rrset}


NXDOMAIN = (dns.rcode.NXDOMAIN, set())
NODATA = (dns.rcode.NOERROR, set())


@pytest.fixture
def upstream(nsd_binary: str, tmp_path: Path):
    server = start_nsd(nsd_binary, tmp_path / "nsd", UPSTREAM_TEXT)
    yield server
    server.stop()


@pytest.fixture
def primary(start_own_fraudwall, upstream: Process, tmp_path: Path):
    """A fraudwall whose store holds the list `phish`, serving its zones on a free loopback port and
    sending NOTIFYs to the port BIND will listen on."""
    store = store_with_list(tmp_path / "fraudwall0" / "store" / "blocklists.db", "phish", tmp_path / "phish.rpz",
                            PHISH_FEED)
    xfr_port, bind_port = free_port(), free_port()
    start_own_fraudwall([f"127.0.0.1:{upstream.port}"], "--xfr-listen", f"127.0.0.1:{xfr_port}",
                        extra=f'\n[xfr]\nnotify = ["127.0.0.1:{bind_port}"]\n')
    deadline = time.monotonic() + SETTLE_SECONDS
    while not answers("127.0.0.1", xfr_port, "phish.rpz.fraudwall."):
        assert time.monotonic() < deadline, "fraudwall's transfer server does not answer"
        time.sleep(0.1)
    return store, xfr_port, bind_port


@pytest.fixture
def bind(require_binary, primary, upstream: Process, tmp_path: Path):
    """`named` in the foreground, as the user running the tests, everything in a temporary folder;
    the policy zones loaded (its copy of `phish` blocks the list's first name)."""
    _, xfr_port, port = primary
    directory = tmp_path / "named"
    directory.mkdir()
    config = directory / "named.conf"
    zones = "".join(f"""
zone "{name}.rpz.fraudwall" {{
    type secondary;
    primaries port {xfr_port} {{ 127.0.0.1; }};
    allow-notify {{ 127.0.0.1; }};
}};
""" for name in ("manual", "phish"))
    # `manual` first: in RPZ the first zone that matches decides, and an operator's allow is to win
    # over a list's block. `min-update-interval 0`: BIND otherwise applies a new version of a policy
    # zone at most once a minute, however fast the transfer came.
    config.write_text(named_options(directory, port, f"""\
    recursion yes;
    forwarders port {upstream.port} {{ 127.0.0.1; }};
    forward only;
    max-cache-size 16m;
    response-policy {{ zone "manual.rpz.fraudwall"; zone "phish.rpz.fraudwall"; }} min-update-interval 0;
""") + zones)
    server = Process("named", [require_binary("named"), "-g", "-4", "-n", "1", "-c", str(config)], port, directory,
                     "example.org").start()
    _wait_for("BIND has loaded the list `phish` from fraudwall",
              lambda: _ask(port, "evil-bank.example.org") == NXDOMAIN, server)
    yield server
    server.stop()


def test_bind_enforces_the_lists_names_and_addresses(bind: Process):
    port = bind.port
    assert _ask(port, "quiet.example.org") == NODATA
    assert _ask(port, "www.example.org") == (dns.rcode.NOERROR, {"192.0.2.10"})
    # rpz-ip: BIND rewrites the upstream's answer when it holds a listed address.
    assert _ask(port, "shop.example.org") == NXDOMAIN                 # 11.22.33.44/32
    assert _ask(port, "shop-net.example.org") == NXDOMAIN             # 11.22.33.0/24
    assert _ask(port, "shop-fine.example.org") == (dns.rcode.NOERROR, {"11.22.34.1"})
    assert _ask(port, "shop6.example.org", "AAAA") == NXDOMAIN        # 2a02:26f0::1
    assert _ask(port, "tie6.example.org", "AAAA") == NXDOMAIN         # 2a02:26f0::1:0:0:1
    assert _ask(port, "lab6.example.org", "AAAA") == NODATA           # 2a02:0:0:1::/64
    assert _ask(port, "lab6-fine.example.org", "AAAA") == (dns.rcode.NOERROR, {"2a02:0:0:2::5"})
    # BIND logs a policy record it refuses ("invalid rpz IP address ...") and loads the zone without
    # it; one it reads but would have spelled otherwise, "... is not the canonical ...".
    assert "invalid rpz" not in bind.log() and "not the canonical" not in bind.log(), bind.log()


def test_bind_follows_a_live_block_and_unblock(primary, bind: Process):
    store, _, _ = primary
    port = bind.port
    assert _ask(port, "www.example.org") == (dns.rcode.NOERROR, {"192.0.2.10"})
    subprocess.run([fraudwall_binary(), "block", "--db", str(store), "www.example.org"], check=True,
                   capture_output=True)
    _wait_for("BIND blocks www.example.org after `fraudwall block`",
              lambda: _ask(port, "www.example.org") == NXDOMAIN, bind)
    subprocess.run([fraudwall_binary(), "unblock", "--db", str(store), "www.example.org"], check=True,
                   capture_output=True)
    _wait_for("BIND answers www.example.org again after `fraudwall unblock`",
              lambda: _ask(port, "www.example.org") == (dns.rcode.NOERROR, {"192.0.2.10"}), bind)


def test_an_operators_allow_wins_over_the_list_in_bind(primary, bind: Process):
    store, _, _ = primary
    subprocess.run([fraudwall_binary(), "allow", "--db", str(store), "evil-bank.example.org"], check=True,
                   capture_output=True)
    _wait_for("BIND answers evil-bank.example.org after `fraudwall allow` (rpz-passthru in `manual`)",
              lambda: _ask(bind.port, "evil-bank.example.org") == (dns.rcode.NOERROR, {"192.0.2.66"}), bind)
