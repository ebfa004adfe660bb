"""The admin listener: /metrics for Prometheus, on loopback unless configured otherwise."""

from __future__ import annotations

import asyncio
import socket
from typing import Callable

from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.config import ADMIN_PORT
from fraudwall.resolver.server.http import Limits, OneRequestServer, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

LOOPBACK = ("127.0.0.0/8", "::1/128")


def plain(status: int, text: str) -> Response:
    return Response(status, (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")),
                    (text + "\n").encode())


class AdminService:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def respond(self, request: Request, client: str, scheme: str) -> Response:
        path = request.target.split("?", 1)[0]
        if request.method not in ("GET", "HEAD"):
            return plain(405, "method not allowed")
        if path == "/metrics":
            return Response(200, (("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")),
                            generate_latest(self.registry))
        if path == "/":
            return plain(200, "fraudwall admin: /metrics")
        return plain(404, "not found")


async def start_admin(listen: str, collector: object, start_server: Callable = asyncio.start_server,
                      sock: socket.socket | None = None,
                      allow: tuple[str, ...] = LOOPBACK) -> asyncio.AbstractServer:
    """Serve /metrics from `collector` on `sock` (bound by the supervisor), else on `listen`; OSError when the
    address cannot be had. A client outside the `allow` networks is disconnected before it sends a byte."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    service = AdminService(registry)
    # The same decision the access stage makes for DNS queries, over this listener's own networks.
    connections = OneRequestServer(service.respond, plain, Limits(body=0), timeout=10.0, max_connections=64,
                                   allows=AccessStage(allow).allows)
    if sock is not None:
        return await start_server(lambda r, w: connections.serve(r, w, "http"), sock=sock)
    host, port = parse_hostport(listen, ADMIN_PORT)
    return await start_server(lambda r, w: connections.serve(r, w, "http"), host, port)
