"""The transfer server on sockets `serve` bound before it gave up root (a port below 1024 as
`[server] user`): the supervisor's background work hands them to the transfer process, which
serves on them, and binds a new address itself when a SIGHUP moves `[xfr] listen`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dns.message
import dns.query
import pytest

from fraudwall.resolver.config import from_document
from fraudwall.resolver.observe.metrics import SnapshotFolder
from fraudwall.resolver.server.background import Background
from fraudwall.resolver.xfr import server
from tests.e2e.peers import fraudwall_binary, free_port, wait_for


def _soa(port: int) -> bool:
    try:
        reply = dns.query.tcp(dns.message.make_query("phish.rpz.fraudwall.", "SOA"), "127.0.0.1", port=port,
                              timeout=1.0)
    except OSError:
        return False
    return bool(reply.answer)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    feed = tmp_path / "phish.txt"
    feed.write_text("bank.example.com\n")
    path = tmp_path / "blocklists.db"
    subprocess.run([fraudwall_binary(), "import", "--db", str(path), "--list", "phish", str(feed)],
                   check=True, capture_output=True)
    return path


def _config(db: Path, listen: str):
    return from_document({"blocklists": {"db": str(db), "files": []}, "querylog": {"enabled": False},
                          "xfr": {"listen": listen}}, "test")


def test_the_transfer_server_serves_on_the_sockets_it_inherits_and_binds_a_new_address_itself(db, tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    tcp, udp = server.bind(listen)
    # The supervisor holds the address, without SO_REUSEPORT: a transfer server that bound it
    # itself would fail. It answers, so it serves on the inherited descriptors.
    background = Background(_config(db, listen), SnapshotFolder(str(tmp_path)), (listen, tcp, udp))
    try:
        wait_for("the transfer server answers on the inherited sockets", lambda: _soa(int(listen.split(":")[1])))
        moved = free_port()
        background.configure(_config(db, f"127.0.0.1:{moved}"))   # a SIGHUP moving [xfr] listen
        wait_for("the transfer server answers on the new address", lambda: _soa(moved))
    finally:
        background.close()
    assert tcp.fileno() == -1 and udp.fileno() == -1      # closed with the background work
