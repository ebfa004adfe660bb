"""fraudwall as an RPZ primary, followed by a real Unbound (`rpz:` with `primary:`) and read by kdig.

Unbound answers from its copy of fraudwall's zones: a name of the imported list `phish` is NXDOMAIN
there, and a `fraudwall block` on fraudwall's store reaches it by NOTIFY and IXFR within 10 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.e2e.peers import Process, answers, fraudwall_binary, free_port, serve_expecting_failure, wait_for
from tests.e2e.rpz_peers import rcode, store_with_list

pytestmark = pytest.mark.e2e

PHISH = "evil-bank.example.com"


@pytest.fixture
def primary(start_own_fraudwall, nsd: Process, tmp_path: Path):
    """A fraudwall whose store holds the list `phish`, serving its zones on a free loopback port,
    and sending NOTIFYs to the port an Unbound will listen on."""
    store = store_with_list(tmp_path / "fraudwall0" / "store" / "blocklists.db", "phish", tmp_path / "phish.txt",
                            f"{PHISH}\nphish.example.net\n")
    xfr_port, unbound_port = free_port(), free_port()
    server = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], "--xfr-listen", f"127.0.0.1:{xfr_port}",
                                 extra=f'\n[xfr]\nnotify = ["127.0.0.1:{unbound_port}"]\n')
    # The transfer server is a process of its own, started beside the workers: wait for its SOA.
    wait_for("the transfer server answers", lambda: answers("127.0.0.1", xfr_port, "phish.rpz.fraudwall."))
    return server, store, xfr_port, unbound_port


@pytest.fixture
def unbound(require_binary, primary, nsd: Process, tmp_path: Path):
    _, _, xfr_port, port = primary
    directory = tmp_path / "unbound"
    directory.mkdir()
    config = directory / "unbound.conf"
    # The operator's own zone first: in RPZ the first zone that matches decides, and an allow
    # there is to win over a list's block.
    rpz = "".join(f"""
rpz:
    name: {list_name}.rpz.fraudwall.
    primary: 127.0.0.1@{xfr_port}
    allow-notify: 127.0.0.1
""" for list_name in ("manual", "phish"))
    config.write_text(f"""\
server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-daemonize: no
    use-syslog: no
    logfile: ""
    chroot: ""
    username: ""
    directory: "{directory}"
    pidfile: "{directory}/unbound.pid"
    module-config: "respip iterator"
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    verbosity: 1
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{nsd.port}
{rpz}""")
    server = Process("unbound", [require_binary("unbound"), "-d", "-c", str(config)], port, directory,
                     "example.org").start()
    yield server
    server.stop()


def test_kdig_axfr_returns_the_list_as_an_rpz_zone(primary, require_binary):
    _, _, xfr_port, _ = primary
    result = subprocess.run([require_binary("kdig"), "AXFR", "phish.rpz.fraudwall.", "@127.0.0.1", "-p", str(xfr_port),
                             "+timeout=5", "+retry=0"], capture_output=True, text=True, timeout=30)
    records = [line.split() for line in result.stdout.splitlines() if line and not line.startswith(";")]
    owners = {(fields[0], fields[3], fields[4]) for fields in records}
    assert (f"{PHISH}.phish.rpz.fraudwall.", "CNAME", ".") in owners, result.stdout
    assert (f"*.{PHISH}.phish.rpz.fraudwall.", "CNAME", ".") in owners
    soas = [fields for fields in records if fields[3] == "SOA"]
    assert len(soas) == 2 and soas[0] == soas[-1] and soas[0][6] == str(1 << 16)   # the list's first generation


def test_unbound_follows_the_lists_and_a_live_block(primary, unbound):
    _, store, _, port = primary
    wait_for(f"Unbound answers NXDOMAIN for {PHISH}", lambda: rcode(port, PHISH) == dns.rcode.NXDOMAIN)
    assert rcode(port, "www.example.org") == dns.rcode.NOERROR
    subprocess.run([fraudwall_binary(), "block", "--db", str(store), "www.example.org"], check=True,
                   capture_output=True)
    wait_for("Unbound blocks www.example.org after `fraudwall block`",
              lambda: rcode(port, "www.example.org") == dns.rcode.NXDOMAIN)
    subprocess.run([fraudwall_binary(), "unblock", "--db", str(store), "www.example.org"], check=True,
                   capture_output=True)
    wait_for("Unbound answers www.example.org again after `fraudwall unblock`",
              lambda: rcode(port, "www.example.org") == dns.rcode.NOERROR)


def _transfer_server_pid(supervisor: int) -> int | None:
    """The supervisor's child running `python -m fraudwall.resolver.xfr`."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return None
    for child in map(int, children):
        try:
            if b"fraudwall.resolver.xfr" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def test_a_transfer_server_that_dies_is_started_again(primary):
    server, _, xfr_port, _ = primary
    pid = _transfer_server_pid(server.pid)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for("the transfer server stops answering",
              lambda: not answers("127.0.0.1", xfr_port, "phish.rpz.fraudwall."))
    wait_for("a new transfer server answers", lambda: answers("127.0.0.1", xfr_port, "phish.rpz.fraudwall."))
    assert _transfer_server_pid(server.pid) not in (None, pid)
    assert rcode(server.port, "www.example.org") == dns.rcode.NOERROR   # the workers served on throughout


def test_serve_with_a_taken_xfr_address_stops_with_one_line(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        code, stderr = serve_expecting_failure(tmp_path, "--xfr-listen", address)
    assert code == 2
    assert f"--xfr-listen {address}: cannot serve zone transfers there: Address already in use" in stderr
    assert "Traceback" not in stderr


def test_sighup_moves_the_transfer_server_to_a_new_xfr_listen(start_own_fraudwall, nsd: Process, tmp_path: Path):
    first, second = free_port(), free_port()
    server = start_own_fraudwall([f"127.0.0.1:{nsd.port}"], extra=f'\n[xfr]\nlisten = "127.0.0.1:{first}"\n')
    wait_for("the transfer server answers", lambda: answers("127.0.0.1", first, "manual.rpz.fraudwall."))
    config = tmp_path / "fraudwall0" / "fraudwall.toml"
    config.write_text(config.read_text().replace(f"127.0.0.1:{first}", f"127.0.0.1:{second}"))
    server.signal(signal.SIGHUP)
    wait_for("the transfer server answers on the new address",
              lambda: answers("127.0.0.1", second, "manual.rpz.fraudwall."))
    assert not answers("127.0.0.1", first, "manual.rpz.fraudwall.")
