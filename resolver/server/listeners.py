"""The listening sockets, bound once by the supervisor before it forks: every worker inherits the same ones.

A second `fraudwall serve` on an address fails with "address in use" instead of quietly taking a
share of the queries: TCP listeners are bound without SO_REUSEPORT, and before its UDP sockets a
supervisor binds the address once without it, which fails while anyone holds it. Each worker then
gets a UDP socket of its own in one SO_REUSEPORT group, so the kernel spreads datagrams over the
workers by their source (one shared socket woke every worker for each datagram, and the first to run
took most of them). The workers share the TCP listener. The supervisor keeps every socket open, so
while a worker restarts the kernel queues what arrives for it, and the others go on answering.
"""

from __future__ import annotations

import socket

from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.config import ADMIN_PORT
from fraudwall.resolver.config import Config

RECEIVE_BUFFER = 4 << 20    # bytes: rides out bursts instead of dropping them in the kernel
DNS_BACKLOG = 1024          # TCP connections the kernel holds before a worker accepts them
WARNING_BACKLOG = 256
ADMIN_BACKLOG = 100


class ListenError(Exception):
    """A listen address cannot be had; the message names it and why."""


def udp_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A non-blocking UDP socket bound to host:port; OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass  # the kernel caps it at net.core.rmem_max; the default still works
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def udp_sockets(host: str, port: int, count: int) -> tuple[socket.socket, ...]:
    """`count` UDP sockets on host:port, one SO_REUSEPORT group; OSError when anyone holds the address.

    SO_REUSEPORT would let a second instance join the group: a plain bind first proves nobody has it.
    """
    if count == 1:
        return (udp_socket(host, port),)
    udp_socket(host, port).close()
    first = udp_socket(host, port, reuse_port=True)
    sockets = [first]
    try:
        port = first.getsockname()[1]   # port 0: the others join the port the kernel chose
        while len(sockets) < count:
            sockets.append(udp_socket(host, port, reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return tuple(sockets)


def tcp_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on host:port; OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Only lets a restarted fraudwall bind past connections in TIME_WAIT; a live listener still excludes.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Listeners:
    """Every socket the config listens on: DNS (UDP and TCP), the warning page, the admin listener."""

    def __init__(self) -> None:
        # listen address -> (a UDP socket per worker, the TCP listener they share)
        self.dns: dict[str, tuple[tuple[socket.socket, ...], socket.socket]] = {}
        self.warning: dict[tuple[str, int], socket.socket] = {}          # (host, port) -> TCP
        self.admin: socket.socket | None = None

    @classmethod
    def bind(cls, config: Config) -> "Listeners":
        """Bind them all, or none: ListenError names the first address that cannot be had."""
        listeners = cls()
        try:
            for address in config.server.listen:
                host, port = parse_hostport(address, 53)
                udp = _bound(lambda: udp_sockets(host, port, config.server.workers),
                             f"cannot listen on {address} (UDP)")
                try:
                    tcp = _bound(lambda: tcp_socket(host, port, DNS_BACKLOG), f"cannot listen on {address} (TCP)")
                except ListenError:
                    for sock in udp:
                        sock.close()
                    raise
                listeners.dns[address] = (udp, tcp)
            warning = config.warning
            for addresses, default_port in ((warning.listen, 80), (warning.tls_listen, 443)):
                for address in addresses:
                    host, port = parse_hostport(address, default_port)
                    listeners.warning[(host, port)] = _bound(lambda: tcp_socket(host, port, WARNING_BACKLOG),
                                                             f"warning page: cannot listen on {host} port {port}")
            if config.admin.listen:
                host, port = parse_hostport(config.admin.listen, ADMIN_PORT)
                listeners.admin = _bound(lambda: tcp_socket(host, port, ADMIN_BACKLOG),
                                         f"cannot serve /metrics on {config.admin.listen}")
        except ListenError:
            listeners.close()
            raise
        return listeners

    def close(self) -> None:
        for udp, tcp in self.dns.values():
            for sock in udp:
                sock.close()
            tcp.close()
        for sock in self.warning.values():
            sock.close()
        if self.admin is not None:
            self.admin.close()


def _bound(bind, what: str) -> socket.socket:
    try:
        return bind()
    except OSError as error:
        raise ListenError(f"{what}: {error.strerror or error}") from None
