"""DNS and the warning page from one `fraudwall serve`: the sinkhole answer is the page's address, and a
real headless Chromium sent there sees why the name was blocked, over HTTP and HTTPS (the lab CA made
by `fraudwall ca init`).

Chromium cannot be pointed at a DNS server on a high port, so --host-resolver-rules maps each name
to the address fraudwall answered for it, at the page's port: what a client of the resolver would do.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import dnsclient
from tests.e2e.peers import Process, fraudwall_binary, free_port, start_fraudwall
from tests.e2e.test_observability import DEMO_LIST, scrape, total
from tests.e2e.test_warning_browser import run_chromium

pytestmark = pytest.mark.e2e

BLOCKED = "icbc-tuikuan.example.com"       # demo-blocklist.txt line 5
ALIAS = "to-blocked.example.org"           # a CNAME to BLOCKED in the test zone (tests/e2e/peers.py)
NOT_BLOCKED = "www.example.org"
REASON = "listed in demo (demo-blocklist.txt:5)"
ADVICE = "Never share verification codes"


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *arguments], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


class Served:
    def __init__(self, server: Process, http_port: int, https_port: int, admin_port: int, ca_dir: Path,
                 spki: str) -> None:
        self.server = server
        self.port = server.port
        self.http_port = http_port
        self.https_port = https_port
        self.admin_port = admin_port
        self.ca_dir = ca_dir
        self.spki = spki


@pytest.fixture(scope="module")
def chromium(require_binary) -> str:
    return require_binary("chromium")


@pytest.fixture(scope="module")
def served(nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("warning-dns")
    ca_dir = directory / "ca"
    made = run_cli("ca", "init", "--dir", str(ca_dir))
    assert made.returncode == 0, made.stderr
    # `ca init` tells how to make Chromium trust the CA in tests.
    spki = re.search(r"--ignore-certificate-errors-spki-list=(\S+)", made.stdout + made.stderr)
    assert spki, made.stdout
    db = directory / "store" / "blocklists.db"
    imported = run_cli("import", str(DEMO_LIST), "--list", "demo", "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    http_port, https_port, admin_port = free_port(), free_port(), free_port()
    server = start_fraudwall(directory / "fraudwall", [f"127.0.0.1:{nsd.port}"], "--db", str(db),
                             "--warning-listen", f"127.0.0.1:{http_port}",
                             "--warning-tls-listen", f"127.0.0.1:{https_port}",
                             "--ca-dir", str(ca_dir), "--admin", f"127.0.0.1:{admin_port}")
    yield Served(server, http_port, https_port, admin_port, ca_dir, spki.group(1))
    server.stop()


def sinkhole_address(served: Served, name: str) -> str:
    reply = dnsclient.udp(served.port, name)
    addresses = dnsclient.rdata(reply, "A")
    assert len(addresses) == 1, reply
    return addresses[0]


def page(chromium: str, tmp_path: Path, served: Served, name: str, scheme: str, path: str = "/") -> str:
    """The page Chromium shows for scheme://name/path, reaching `name` where fraudwall's DNS sent it."""
    address = sinkhole_address(served, name)
    port = served.https_port if scheme == "https" else served.http_port
    return run_chromium(chromium, tmp_path, f"--host-resolver-rules=MAP {name} {address}:{port}",
                        f"--ignore-certificate-errors-spki-list={served.spki}", "--lang=en-US",
                        "--accept-lang=en-US,en", "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
                        "--dump-dom", f"{scheme}://{name}{path}")


def test_the_sinkhole_answer_is_the_warning_page(served: Served):
    reply = dnsclient.udp(served.port, BLOCKED)
    assert dnsclient.rdata(reply, "A") == ["127.0.0.1"]   # the --warning-listen address, not 0.0.0.0
    assert dnsclient.ede_codes(reply) == [15]
    assert dnsclient.rdata(dnsclient.udp(served.port, "login." + BLOCKED), "A") == ["127.0.0.1"]
    assert dnsclient.rdata(dnsclient.udp(served.port, ALIAS), "A") == ["127.0.0.1"]   # via its CNAME target
    assert dnsclient.rdata(dnsclient.udp(served.port, NOT_BLOCKED), "A") == ["192.0.2.10"]


def views(served: Served, scheme: str) -> float:
    return total(scrape(served.admin_port), "fraudwall_warning_page_views_total", lang="en", scheme=scheme)


def test_browser_over_http_shows_the_name_and_the_list(chromium, served, tmp_path):
    before = views(served, "http")
    dom = page(chromium, tmp_path, served, BLOCKED, "http", "/login/account")
    assert BLOCKED in dom and "/login/account" in dom
    assert REASON in dom and ADVICE in dom
    assert views(served, "http") >= before + 1   # the view is on /metrics, by language and scheme


def test_browser_over_https_with_the_lab_ca(chromium, served, tmp_path):
    before = views(served, "https")
    dom = page(chromium, tmp_path, served, BLOCKED, "https", "/pay")
    assert BLOCKED in dom and "/pay" in dom and REASON in dom and ADVICE in dom
    assert views(served, "https") >= before + 1


def test_a_block_through_a_cname_is_explained_for_the_alias(chromium, served, tmp_path):
    dom = page(chromium, tmp_path, served, ALIAS, "http")
    assert ALIAS in dom and ADVICE in dom
    # The alias is on no list: the page says it was blocked for where it points.
    assert f"alias {BLOCKED} {REASON}" in dom


def test_the_https_listener_gives_a_certificate_only_for_blocked_names(served):
    trusting = ssl.create_default_context(cafile=str(served.ca_dir / "ca.crt"))
    with socket.create_connection(("127.0.0.1", served.https_port), timeout=5) as raw, \
            trusting.wrap_socket(raw, server_hostname=BLOCKED) as tls:
        names = [value for kind, value in tls.getpeercert()["subjectAltName"] if kind == "DNS"]
        assert names == [BLOCKED]
    # A name people may trust never gets a certificate from the sinkhole: the handshake ends.
    lenient = ssl.create_default_context()
    lenient.check_hostname = False
    lenient.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", served.https_port), timeout=5) as raw, \
            pytest.raises(ssl.SSLError), lenient.wrap_socket(raw, server_hostname=NOT_BLOCKED) as tls:
        tls.getpeercert(binary_form=True)
