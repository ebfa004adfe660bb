"""The TCP listener (RFC 7766): several queries a connection, answered as they finish, idle timeout, a cap."""

from __future__ import annotations

import asyncio

from fraudwall.resolver.codes import Transport
from fraudwall.resolver.handler import QueryHandler


class TcpConnections:
    """What all connections of one listener share: the handler, the limits, the open connections."""

    def __init__(self, handler: QueryHandler, idle_timeout: float, max_connections: int) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.open: set["TcpServer"] = set()

    def close_all(self) -> None:
        for connection in list(self.open):
            connection.close()


class TcpServer(asyncio.Protocol):
    def __init__(self, shared: TcpConnections) -> None:
        self.shared = shared
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.client = ""
        self.idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if len(self.shared.open) >= self.shared.max_connections:
            transport.abort()
            return
        self.shared.open.add(self)
        self.client = transport.get_extra_info("peername")[0]
        self._touch()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._touch()
        while len(self.buffer) >= 2:
            length = (self.buffer[0] << 8) | self.buffer[1]
            if len(self.buffer) < 2 + length:
                return
            message = bytes(self.buffer[2:2 + length])
            del self.buffer[:2 + length]
            self.shared.handler.handle(message, self.client, Transport.TCP, self._send)

    def _send(self, wire: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(len(wire).to_bytes(2, "big") + wire)
            self._touch()

    def _touch(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = asyncio.get_running_loop().call_later(self.shared.idle_timeout, self.close)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.shared.open.discard(self)
        self.transport = None
