"""The UDP listener: moves datagrams between the socket and the query handler, nothing else."""

from __future__ import annotations

import asyncio

from fraudwall.resolver.codes import Transport
from fraudwall.resolver.handler import QueryHandler


class UdpServer(asyncio.DatagramProtocol):
    def __init__(self, handler: QueryHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.accepting = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not self.accepting:
            return
        transport = self.transport
        self.handler.handle(data, addr[0], Transport.UDP, lambda wire: transport.sendto(wire, addr))

    def error_received(self, error: Exception) -> None:
        # ICMP errors from clients that went away; nothing to do for them.
        pass
