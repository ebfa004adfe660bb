"""Moving UDP datagrams in batches (recvmmsg/sendmmsg) and one at a time: the same datagrams, senders
and answers either way, on real loopback sockets."""

from __future__ import annotations

import ctypes
import errno
import select
import socket

import pytest

from fraudwall.resolver.server import datagrams as datagrams_module
from fraudwall.resolver.server.datagrams import BATCH, BatchedDatagrams, PlainDatagrams, datagrams_for
from fraudwall.resolver.server.listeners import udp_socket


@pytest.fixture(params=["batched", "plain"])
def batched(request: pytest.FixtureRequest) -> bool:
    return request.param == "batched"


def wait_readable(sock: socket.socket) -> None:
    assert select.select([sock], [], [], 5)[0], "nothing arrived within 5 s"


def receive_all(datagrams, sock: socket.socket, count: int) -> list:
    received: list = []
    while len(received) < count:
        wait_readable(sock)
        received += datagrams.receive()
    return received


def test_linux_gets_the_batched_calls_and_plain_is_there_when_asked_for():
    with udp_socket("127.0.0.1", 0) as sock:
        assert type(datagrams_for(sock)) is BatchedDatagrams
        assert type(datagrams_for(sock, batched=False)) is PlainDatagrams


@pytest.mark.parametrize("calls", ["missing", "ENOSYS", "EPERM"])
def test_a_system_without_the_batched_calls_or_refusing_them_moves_datagrams_one_at_a_time(monkeypatch, calls):
    def refused(*arguments):
        ctypes.set_errno(getattr(errno, calls))
        return -1

    monkeypatch.setattr(datagrams_module, "_load_calls", lambda: None if calls == "missing" else (refused, refused))
    with udp_socket("127.0.0.1", 0) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        datagrams = datagrams_for(server)
        client.sendto(b"query", server.getsockname())
        [(data, sender, peer)] = receive_all(datagrams, server, 1)
        assert (data, sender) == (b"query", "127.0.0.1")
        assert datagrams.send([(b"answer", peer)]) == 0
        client.settimeout(5)
        assert client.recv(100) == b"answer"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_datagrams_of_every_size_arrive_whole_with_their_sender_and_answers_go_back(batched, host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sent = [b"", b"\x01" * 12, bytes(range(256)) * 6, b"\xff" * 65507, b"\x02" * 40]
    with udp_socket(host, 0) as server, socket.socket(family, socket.SOCK_DGRAM) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        client.bind((host, 0))
        datagrams = datagrams_for(server, batched)
        for datagram in sent:
            client.sendto(datagram, server.getsockname()[:2])
        received = receive_all(datagrams, server, len(sent))
        assert [data for data, _, _ in received] == sent
        assert {type(data) for data, _, _ in received} == {bytes}
        assert {sender for _, sender, _ in received} == {host}

        assert datagrams.send([(b"answer-" + data[:3], peer) for data, _, peer in received]) == 0
        client.settimeout(5)
        answers = [client.recvfrom(65535) for _ in sent]
        assert [answer for answer, _ in answers] == [b"answer-" + data[:3] for data in sent]
        assert {address[:2] for _, address in answers} == {server.getsockname()[:2]}


def test_more_answers_than_a_batch_reach_every_client_in_order(batched):
    with udp_socket("127.0.0.1", 0) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
        datagrams = datagrams_for(server, batched)
        peers = []
        for client in (first, second):
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            client.sendto(b"hello", server.getsockname())
            peers.append(receive_all(datagrams, server, 1)[0][2])
        count = BATCH * 2 + 7
        messages = [(f"{index}".encode(), peers[index % 2]) for index in range(count)]
        assert datagrams.send(messages) == 0
        for client, parity in ((first, 0), (second, 1)):
            client.settimeout(5)
            got = [client.recv(100) for _ in range(count // 2 + (1 - parity) * (count % 2))]
            assert got == [f"{index}".encode() for index in range(parity, count, 2)]


def test_an_address_the_kernel_refuses_costs_that_answer_only(batched):
    with udp_socket("127.0.0.1", 0) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        datagrams = datagrams_for(server, batched)
        client.sendto(b"hello", server.getsockname())
        peer = receive_all(datagrams, server, 1)[0][2]
        # Port 0 cannot be sent to (EINVAL): the answers after it still go.
        refused = peer[:2] + b"\x00\x00" + peer[4:] if batched else ("127.0.0.1", 0)
        assert datagrams.send([(b"lost", refused), (b"kept", peer)]) == 0
        client.settimeout(5)
        assert client.recv(100) == b"kept"


def test_nothing_waiting_gives_nothing(batched):
    with udp_socket("127.0.0.1", 0) as server:
        assert datagrams_for(server, batched).receive() == []
