"""dnsdist.conf's client-affinity policy and PROXY v2 headers, run for real: dnsdist in front of three
fake fraudwall hosts."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time

import pytest
from dnslib import A, QTYPE, RR, DNSRecord

from fraudwall.resolver.dns.proxy import Command, read_header
from tests.deploy.conftest import DEPLOY, need


class FakeHost:
    """A UDP DNS server that answers every A query with its own number (127.0.0.N), after the PROXY v2
    header dnsdist puts in front; it keeps the headers' clients (None: a LOCAL header, a health check)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.clients: list[str | None] = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            header = read_header(data)
            self.clients.append(header.client if header.command is Command.PROXY else None)
            request = DNSRecord.parse(data[header.size:])
            reply = request.reply()
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(f"127.0.0.{self.number}"), ttl=60))
            self.sock.sendto(reply.pack(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask(port: int, client: str) -> str | None:
    """The backend (its 127.0.0.N answer) dnsdist sent `client`'s query to."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((client, 0))
        sock.settimeout(1.0)
        sock.sendto(DNSRecord.question(f"q{time.monotonic_ns()}.example.org").pack(), ("127.0.0.1", port))
        try:
            reply = DNSRecord.parse(sock.recvfrom(4096)[0])
        except socket.timeout:
            return None
    return str(reply.rr[0].rdata) if reply.rr else None


@pytest.fixture(name="balanced")
def balanced_fixture(tmp_path):
    dnsdist = need("dnsdist", "dnsdist")
    hosts = [FakeHost(number) for number in (1, 2, 3)]
    port, console = free_port(), free_port()
    text = (DEPLOY / "dnsdist" / "dnsdist.conf").read_text()
    # the same config, on loopback ports, with quick health checks
    table = ",\n".join(f'  {{ name = "fraudwall-{h.number}", address = "127.0.0.1:{h.port}" }}' for h in hosts)
    text = re.sub(r"local fraudwall_hosts = \{.*?\n\}", f"local fraudwall_hosts = {{\n{table}\n}}", text, flags=re.S)
    text = re.sub(r'setLocal\("[^"]+"\)', f'setLocal("127.0.0.1:{port}")', text)
    text = re.sub(r'addLocal\("[^"]+"\)', "", text)
    text = re.sub(r'controlSocket\("[^"]+"\)', f'controlSocket("127.0.0.1:{console}")', text)
    text = text.replace("checkInterval = 5", "checkInterval = 1").replace("maxCheckFailures = 3", "maxCheckFailures = 1")
    text = text.replace("rise = 2", "rise = 1")
    path = tmp_path / "dnsdist.conf"
    path.write_text(text)
    process = subprocess.Popen([dnsdist, "--supervised", "--disable-syslog", "-C", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while ask(port, "127.0.0.1") is None:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "dnsdist did not answer"
            time.sleep(0.1)
        yield port, hosts
    finally:
        process.terminate()
        process.wait(timeout=10)
        for host in hosts:
            if host.running:
                host.stop()


def test_each_query_names_its_client_in_a_proxy_header(balanced):
    port, hosts = balanced
    host = {f"127.0.0.{h.number}": h for h in hosts}[ask(port, "127.0.1.7")]
    assert host.clients[-1] == "127.0.1.7", "dnsdist did not send the client's address in a PROXY v2 header"
    assert None in {c for h in hosts for c in h.clients}, "health checks came without a LOCAL header"


def test_a_client_keeps_its_host_and_clients_spread(balanced):
    port, _ = balanced
    clients = [f"127.0.1.{n}" for n in range(1, 41)]
    first = {client: ask(port, client) for client in clients}
    assert None not in first.values()
    again = {client: ask(port, client) for client in clients}
    assert again == first, "a client moved to another host while all were up"
    assert len(set(first.values())) == 3, f"clients not spread over the hosts: {sorted(set(first.values()))}"


def test_only_the_clients_of_a_host_that_goes_down_move(balanced):
    port, hosts = balanced
    clients = [f"127.0.1.{n}" for n in range(1, 41)]
    before = {client: ask(port, client) for client in clients}
    hosts[0].stop()                                          # 127.0.0.1 goes down
    deadline = time.monotonic() + 8
    while True:
        after = {client: ask(port, client) for client in clients}
        if "127.0.0.1" not in after.values() and None not in after.values():
            break
        assert time.monotonic() < deadline, "dnsdist kept sending to the host that went down"
        time.sleep(0.5)
    for client in clients:
        if before[client] != "127.0.0.1":
            assert after[client] == before[client], f"{client} moved although its host stayed up"
