"""The UDP listener: moves datagrams between the socket and the query handler, nothing else.

It reads the datagrams waiting at each wake-up of the event loop, up to a batch, in one system call
where the system allows (datagrams.py), and sends the answers a turn of the event loop gave
together at its end: those of the batch just read, and those that came from upstream meanwhile.
A DatagramProtocol costs a callback and a transport check per packet, and a system call per
datagram cost more than a cached answer's own work (datagrams.py has the figures).

Behind a balancer each datagram starts with a PROXY v2 header: the gate (dns/proxy.py) says
which client it carries, and the reply still goes back to the sender, the balancer.
"""

from __future__ import annotations

import asyncio
import functools
import socket

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.handler import QueryHandler
from fraudwall.resolver.dns.proxy import SIGNATURE, ProxyGate
from fraudwall.resolver.server.datagrams import Datagrams, datagrams_for
from fraudwall.resolver.server.listeners import udp_socket

_UDP = Transport.UDP        # bound once: a member look-up is a descriptor call per datagram


class UdpServer:
    def __init__(self, handler: QueryHandler, sock: socket.socket, proxy: ProxyGate | None = None,
                 datagrams: Datagrams | None = None) -> None:
        self.handler = handler
        self.sock = sock
        self.proxy = proxy if proxy is not None else ProxyGate()   # by default nobody's header is read
        self.datagrams = datagrams if datagrams is not None else datagrams_for(sock)
        self.dropped = 0   # answers the kernel had no room for
        self._reading = False
        self._outbox: list[tuple[bytes, object]] = []
        self._in_batch = False

    @classmethod
    def bind(cls, handler: QueryHandler, host: str, port: int, proxy: ProxyGate | None = None,
             batched: bool = True) -> "UdpServer":
        """A server on a socket of its own on host:port (`serve` hands its workers bound sockets instead)."""
        sock = udp_socket(host, port)
        return cls(handler, sock, proxy, datagrams_for(sock, batched))

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)
        self._reading = True

    def stop_accepting(self) -> None:
        if self._reading:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self._reading = False

    def close(self) -> None:
        self.stop_accepting()
        self._flush()
        self.sock.close()

    def _readable(self) -> None:
        handle = self.handler.handle
        post = self._post
        gate = self.proxy
        # With no trusted balancer, only a datagram that starts like a PROXY header is the gate's to
        # refuse; every other one goes straight to the handler, as sent.
        reads_headers = gate.reads_headers
        self._in_batch = True
        try:
            for data, client, peer in self.datagrams.receive():
                if reads_headers or data.startswith(SIGNATURE):
                    message = gate.datagram(data, client)
                    if message is None:
                        continue  # a header refused (counted by the gate)
                    data, client = message
                handle(data, client, _UDP, functools.partial(post, peer))
        finally:
            self._in_batch = False
            self._flush()

    def _post(self, peer: object, wire: bytes) -> None:
        outbox = self._outbox
        outbox.append((wire, peer))
        if len(outbox) == 1 and not self._in_batch:
            # An answer from upstream, outside a batch: it goes out with the others of this turn.
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        outbox = self._outbox
        if outbox:
            self._outbox = []
            self.dropped += self.datagrams.send(outbox)
