"""Hostile clients against a real `fraudwall serve`: none of them can take DNS away from the others.

TCP: one client holding hundreds of connections, a refused client, a client dripping a byte at
a time, a client that pipelines thousands of queries and never reads. Upstream: a random-name
flood while the upstream black-holes every query.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from pathlib import Path
from typing import Callable, Iterator

import dns.edns
import dns.message
import dns.rcode
import pytest

from tests.e2e.dnsclient import REFUSED, rdata, tcp
from tests.e2e.peers import Process, free_port, start_fraudwall
from tests.e2e.test_observability import scrape, total

pytestmark = pytest.mark.e2e

HOG = "127.0.0.2"           # the hostile client's address (loopback is 127.0.0.0/8)


def worker_pid(server: Process) -> int:
    """The process that answers: the supervisor's only worker, or the server itself when it has none."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    return int(children[0]) if children else server.pid


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def query_wire(name: str, rdtype: str = "A") -> bytes:
    """A query with EDNS, so that an answer can say why in an EDE."""
    return dns.message.make_query(name, rdtype, use_edns=0).to_wire()


def framed(name: str, rdtype: str = "A") -> bytes:
    """A query framed for TCP."""
    wire = query_wire(name, rdtype)
    return len(wire).to_bytes(2, "big") + wire


def connect_from(source: str, port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(source, 0))


def closed_by_server(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `seconds`; replies on the way are read past."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def read_together(socks: list[socket.socket], seconds: float, enough: Callable[[], bool],
                  received: Callable[[bytes], None]) -> None:
    """Hand what each socket reads to `received` (b"" once when the server closes it), until `enough()` or
    `seconds` pass."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while not enough() and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            while True:
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    break
                except ConnectionResetError:
                    data = b""
                received(data)
                if data == b"":
                    selector.unregister(key.fileobj)
                    break
    selector.close()


def all_closed_by_server(socks: list[socket.socket], wanted: int, seconds: float) -> int:
    """How many of `socks` the server closed, waited on together until `wanted` are or `seconds` pass."""
    closed = []
    read_together(socks, seconds, lambda: len(closed) >= wanted, lambda data: data or closed.append(True))
    return len(closed)


@pytest.fixture(scope="module")
def fraudwall_short_deadline(nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """The module's fraudwall, serving 127.0.0.0/8: a message must be whole 0.5 s after its first byte."""
    server = start_fraudwall(tmp_path_factory.mktemp("fraudwall"), [f"127.0.0.1:{nsd.port}"],
                             keys={"server": "tcp_message_timeout = 0.5"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served_only_from_127_0_0_1(nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    server = start_fraudwall(tmp_path_factory.mktemp("refusing"), [f"127.0.0.1:{nsd.port}"],
                             allow=("127.0.0.1/32", "::1/128"))
    yield server
    server.stop()


def test_one_client_holding_600_connections_does_not_lock_tcp_for_the_others(fraudwall_short_deadline: Process):
    fraudwall = fraudwall_short_deadline
    hog = []
    try:
        for _ in range(600):
            hog.append(connect_from(HOG, fraudwall.port))
        closed = all_closed_by_server(hog, 600 - 16, 5)
        reply = tcp(fraudwall.port, "www.example.org", "A")
    finally:
        for sock in hog:
            sock.close()
    assert closed >= 600 - 16   # all but its share (tcp_max_connections_per_client) were closed at once
    assert rdata(reply, "A") == ["192.0.2.10"]


def test_a_refused_client_is_closed_right_after_its_refused(served_only_from_127_0_0_1: Process):
    with connect_from(HOG, served_only_from_127_0_0_1.port) as sock:
        sock.sendall(framed("www.example.org") + framed("www.example.org", "AAAA"))
        length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
        reply = dns.message.from_wire(sock.recv(length, socket.MSG_WAITALL))
        closed = closed_by_server(sock, 2)   # the idle timeout is 10 s
    assert reply.rcode() == REFUSED
    assert closed


def test_a_refused_client_cannot_hold_the_connections_of_the_served_ones(served_only_from_127_0_0_1: Process):
    port = served_only_from_127_0_0_1.port
    refused = []
    try:
        for _ in range(515):
            refused.append(connect_from(HOG, port))
        reply = tcp(port, "www.example.org", "A")
    finally:
        for sock in refused:
            sock.close()
    assert rdata(reply, "A") == ["192.0.2.10"]


def test_a_client_dripping_a_byte_at_a_time_is_closed_at_the_message_deadline(fraudwall_short_deadline: Process):
    server = fraudwall_short_deadline
    message = framed("www.example.org") * 4
    started = time.monotonic()
    closed = False
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        for byte in message:          # a byte every 0.2 s used to restart the 10 s idle timeout
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(sock, 0.2):
                closed = True
                break
    waited = time.monotonic() - started
    assert closed and waited < 2.0


def test_a_client_that_pipelines_3000_queries_and_never_reads_holds_little_memory(fraudwall_short_deadline: Process):
    server = fraudwall_short_deadline
    pid = worker_pid(server)
    tcp(server.port, "www.example.org", "A")   # warm: the first TCP connection and forwarded query
    before = resident_kib(pid)
    # One name, not yet cached: the first query goes upstream and every other one waits with it.
    queries = framed("v4only.example.org") * 3000
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.settimeout(2)
        try:
            sock.sendall(queries)
        except socket.timeout:
            pass   # fraudwall stopped reading: what is not sent waits in this process, not in fraudwall
        reply = tcp(server.port, "www.example.org", "A")   # others are still answered meanwhile
        grown = resident_kib(pid) - before
    assert rdata(reply, "A") == ["192.0.2.10"]
    assert grown < 4096, f"fraudwall grew by {grown} KiB"


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A UDP port that takes queries and never answers (no ICMP either): every query waits its timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_a_random_name_flood_to_a_black_holing_upstream_cannot_use_up_the_descriptors(black_hole: int,
                                                                                      start_own_fraudwall):
    admin = free_port()
    # The upstream timeout outlasts the test: every query let through holds its socket till the end.
    server = start_own_fraudwall([f"127.0.0.1:{black_hole}"], "--admin", f"127.0.0.1:{admin}", timeout=10.0)
    pid = worker_pid(server)
    before = open_files(pid)
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
    # 20 clients x 125 random names: 2,500 queries.
    flood = [(clients[index], query_wire(f"r{number}-{index}.flood.example.org"))
             for number in range(125) for index in range(len(clients))]
    try:
        for index, sock in enumerate(clients):
            sock.bind((f"127.0.0.{index + 1}", 0))
        started = time.monotonic()
        for sock, wire in flood:
            sock.sendto(wire, ("127.0.0.1", server.port))
        overloaded = overload_replies(clients, wanted=1500, seconds=8.0)
        seconds = time.monotonic() - started
        during = open_files(pid)
    finally:
        for sock in clients:
            sock.close()
    metrics = scrape(admin)
    # 1,000 in flight at most (the default [upstream] max_in_flight, 100 a client), SERVFAIL at once for the rest.
    assert during - before <= 1000 + 20, f"{during - before} more descriptors open"
    assert overloaded >= 1500 and seconds < 8.0
    assert total(metrics, "fraudwall_upstream_overload_total") >= 1500


def overload_replies(clients: list[socket.socket], wanted: int, seconds: float) -> int:
    """How many SERVFAIL replies saying "too many queries in flight" (EDE 0) came within `seconds`."""
    overloaded = []

    def received(wire: bytes) -> None:
        reply = dns.message.from_wire(wire)
        texts = [option.text for option in reply.options if option.otype == dns.edns.EDE and option.code == 0]
        if reply.rcode() == dns.rcode.SERVFAIL and texts == ["too many queries in flight"]:
            overloaded.append(reply)

    read_together(clients, seconds, lambda: len(overloaded) >= wanted, received)
    return len(overloaded)
