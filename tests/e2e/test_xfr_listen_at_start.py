"""`[xfr] listen` is bound by `serve` at start, before it becomes `[server] user`.

So the transfer server serves on a port below 1024 while fraudwall runs as an unprivileged user:
a secondary's AXFR there works although the user could never bind it. That test runs as root only
(nothing else may switch users), and only where the user may run this Python (an interpreter under
a private home, as a pyenv under /root, is out of its reach). An address that cannot be bound,
TCP or UDP, stops `serve` at start with one line naming --xfr-listen.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.e2e.peers import Process, fraudwall_binary, serve_expecting_failure, free_port, port_is_free, wait_for, write_fraudwall_config
from tests.e2e.rpz_peers import store_with_list

pytestmark = pytest.mark.e2e

USER = "nobody"
LISTED = "evil-bank.example.com"


def _can_run_as(user: str, argv: list[str]) -> bool:
    return subprocess.run(["su", user, "-s", "/bin/sh", "-c", " ".join(argv)], capture_output=True).returncode == 0


@pytest.fixture
def unprivileged_directory():
    """A folder the user owns (the store and its query log are written as it), outside root's
    private pytest folder, which it could not enter."""
    if os.geteuid() != 0:
        pytest.skip("only root can switch to [server] user")
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"no user {USER}")
    # The interpreter `serve` starts the transfer server with (its console script's).
    python = str(Path(fraudwall_binary()).with_name("python"))
    if not _can_run_as(USER, [python, "-c", "pass"]):
        pytest.skip(f"{USER} cannot run {python}: the transfer server is started as it")
    directory = Path(tempfile.mkdtemp(prefix="fraudwall-low-port-"))
    yield directory, account
    shutil.rmtree(directory, ignore_errors=True)


def _low_port() -> int:
    """A free port on loopback, picked at random, that only root may bind here."""
    try:
        first_unprivileged = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        first_unprivileged = 1024
    if first_unprivileged <= 600:
        pytest.skip(f"any user may bind a port from {first_unprivileged} on here")
    for port in random.sample(range(600, first_unprivileged), min(200, first_unprivileged - 600)):
        if port_is_free(port):
            return port
    pytest.skip("no free port below 1024")


def _chown(directory: Path, account: pwd.struct_passwd) -> None:
    for path in (directory, *directory.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)


def test_an_axfr_from_a_port_below_1024_works_while_fraudwall_runs_as_an_unprivileged_user(unprivileged_directory):
    directory, account = unprivileged_directory
    store_with_list(directory / "store" / "blocklists.db", "phish", directory / "phish.txt", f"{LISTED}\n")
    config = write_fraudwall_config(directory, ["127.0.0.1:9"], keys={"server": f'user = "{USER}"'})
    _chown(directory, account)
    port, xfr_port = free_port(), _low_port()
    argv = [fraudwall_binary(), "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}",
            "--xfr-listen", f"127.0.0.1:{xfr_port}"]
    server = Process("fraudwall", argv, port, directory, "icbc-tuikuan.example.com").start()
    try:
        records = wait_for("an AXFR of phish.rpz.fraudwall. from the low port", lambda: _axfr(xfr_port))
        assert f"{LISTED} 300 IN CNAME ." in records, records
        # kdig, a client an operator has, sees the same zone.
        kdig = shutil.which("kdig")
        if kdig is not None:
            done = subprocess.run([kdig, "AXFR", "phish.rpz.fraudwall.", "@127.0.0.1", "-p", str(xfr_port)],
                                  capture_output=True, text=True, timeout=10)
            assert f"{LISTED}.phish.rpz.fraudwall." in done.stdout, done.stdout + done.stderr
        # The transfer server is not root: it serves on what the supervisor bound for it.
        users = subprocess.run(["ps", "-o", "user=", "--ppid", str(server.pid)], capture_output=True,
                               text=True).stdout.split()
        assert users and set(users) == {USER}, users
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def _axfr(port: int) -> list[str] | None:
    try:
        messages = list(dns.query.xfr("127.0.0.1", "phish.rpz.fraudwall.", port=port, timeout=2.0))
    except Exception:  # noqa: BLE001 - not serving yet
        return None
    return [line for message in messages for rrset in message.answer for line in rrset.to_text().splitlines()]


def test_serve_with_the_xfr_address_taken_for_udp_stops_with_one_line(tmp_path: Path):
    port = free_port()
    address = f"127.0.0.1:{port}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))   # TCP is free: only the bind at start finds the UDP side taken
        code, stderr = serve_expecting_failure(tmp_path, "--listen", f"127.0.0.1:{free_port()}",
                                               "--xfr-listen", address)
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (f"fraudwall: error: --xfr-listen {address}: cannot serve zone "
                                               f"transfers there: Address already in use (choose another ADDR:PORT)")
    assert "Traceback" not in stderr
