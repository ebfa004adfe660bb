"""The transfer server's sockets: TCP for SOA, AXFR and IXFR, UDP for SOA and the secondaries'
NOTIFY replies. Only moves bytes; `Primary` and `Notifier` decide. It runs in a process of its own,
started by the supervisor (`__main__.py`): a transfer of millions of names never takes a
query worker's CPU, nor the supervisor's. Its counts reach /metrics as a worker's do: a snapshot
in the metrics folder (worker-xfr.json), which a transfer server started again counts on from.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from pathlib import Path
from typing import NamedTuple

from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.observe.metrics import SnapshotFolder
from fraudwall.resolver.xfr import keys, messages, tsig, zones
from fraudwall.resolver.xfr.catalogue import StoreCatalogue
from fraudwall.resolver.xfr.notify import Notifier
from fraudwall.resolver.xfr.primary import Primary

log = logging.getLogger("fraudwall")

POLL_SECONDS = 0.5            # how often the catalogue's version is looked at (one PRAGMA)
IDLE_SECONDS = 30.0           # a connection with no new question this long is closed
WRITE_SECONDS = 60.0          # a secondary that reads nothing of a message this long is dropped
MAX_CONNECTIONS = 32          # transfers at once; more are closed at once (a secondary retries)
SNAPSHOT_NAME = "xfr"         # worker-xfr.json in the metrics folder
TRANSFERS, NOTIFIES = "fraudwall_xfr_transfers", "fraudwall_xfr_notifies"
NOTIFY_RESULTS = ("sent", "acknowledged", "failed")


class Settings(NamedTuple):
    db: str
    listen: str
    allow: tuple[str, ...]
    suffix: str
    notify: tuple[str, ...]
    metrics: str = ""         # the metrics snapshot folder ("": none)
    keys_file: str = ""       # TSIG keys (keys.py); "": none
    require_key: bool = False
    keys_version: int = 0     # the key file's mtime: only there to tell the supervisor it changed
    # (TCP, UDP) descriptors of `listen`, bound by the supervisor before it gave up root (a port
    # below 1024) and inherited; (): bind `listen` here.
    fds: tuple[int, ...] = ()


class TransferServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = StoreCatalogue(Path(settings.db))
        self.catalogue.changed()
        self.keys = keys.load(settings.keys_file) if settings.keys_file else {}
        self.primary = Primary(self.catalogue, settings.suffix, settings.allow, self.keys, settings.require_key)
        targets = [keys.with_key(text) for text in settings.notify]
        self.notifier = Notifier(tuple(_target(address) for address, _ in targets))
        # The key a NOTIFY target's messages are signed with (BIND's `also-notify { ADDR key NAME; }`).
        self.notify_keys = {_target(address): self.keys[name] for address, name in targets if name}
        self.connections = 0
        self.notify_sockets: dict[int, asyncio.DatagramTransport] = {}
        self.snapshots = SnapshotFolder(settings.metrics) if settings.metrics else None
        self._written: dict | None = None
        if self.snapshots is not None:
            _count_on(self.snapshots, self.primary, self.notifier)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        host, port = parse_hostport(self.settings.listen, 53)
        if self.settings.fds:
            tcp_socket, udp_socket = (socket.socket(fileno=fd) for fd in self.settings.fds)
            server = await asyncio.start_server(self._connection, sock=tcp_socket)
            udp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=udp_socket)
        else:
            server = await asyncio.start_server(self._connection, host, port, reuse_address=True)
            udp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), local_addr=(host, port))
        log.info("xfr: serving %d zones under %s. on %s (TCP and UDP)", len(self.primary.serials),
                 self.settings.suffix, self.settings.listen)
        for soa in (zones.Soa(zone, serial) for zone, serial in self.primary.serials.items()):
            self.notifier.changed(soa, time.monotonic())
        try:
            while not stop.is_set():
                self._poll()
                await self._send_notifies(host)
                self._write_snapshot()
                wake = self.notifier.wake_at()
                wait = POLL_SECONDS if wake is None else max(0.0, min(POLL_SECONDS, wake - time.monotonic()))
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            server.close()
            udp.close()
            for transport in self.notify_sockets.values():
                transport.close()
            self.catalogue.close()

    def _write_snapshot(self) -> None:
        if self.snapshots is None:
            return
        snapshot = counters(self.primary, self.notifier)
        if snapshot != self._written:
            try:
                self.snapshots.write(SNAPSHOT_NAME, snapshot)
                self._written = snapshot
            except OSError as error:
                log.warning("xfr: the metrics snapshot not written: %s", error.strerror or error)

    def _poll(self) -> None:
        try:
            if not self.catalogue.changed():
                return
            moved = self.primary.refresh()
        except Exception:  # noqa: BLE001 - a store being rewritten must not stop the zones being served
            log.exception("xfr: reading the store failed; trying again")
            return
        for soa in moved:
            log.info("xfr: zone %s. now has serial %d", soa.zone, soa.serial)
            self.notifier.changed(soa, time.monotonic())

    async def _send_notifies(self, host: str) -> None:
        for send in self.notifier.due(time.monotonic()):
            family = socket.AF_INET6 if ":" in send.target[0] else socket.AF_INET
            transport = self.notify_sockets.get(family)
            if transport is None:
                # From the listen address when it is of the target's family: a secondary's
                # allow-notify names the primary's address.
                source = host if (":" in host) == (family == socket.AF_INET6) else ("::" if family == socket.AF_INET6 else "0.0.0.0")
                transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda: _NotifyReplies(self.notifier), local_addr=(source, 0), family=family)
                self.notify_sockets[family] = transport
            message = messages.notify(send.ident, send.soa.zone, zones.soa_record(send.soa.serial))
            key = self.notify_keys.get(send.target)
            if key is not None:
                message = tsig.sign(message, key, int(time.time()))[0]
            transport.sendto(message, send.target)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = writer.get_extra_info("peername")[0]
        if self.connections >= MAX_CONNECTIONS:
            writer.close()
            return
        self.connections += 1
        try:
            while True:
                length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), IDLE_SECONDS), "big")
                data = await asyncio.wait_for(reader.readexactly(length), IDLE_SECONDS)
                for message in self.primary.respond(data, client, tcp=True):
                    writer.write(len(message).to_bytes(2, "big") + message)
                    await asyncio.wait_for(writer.drain(), WRITE_SECONDS)
                    # drain() returns at once while a fast secondary keeps up: without this a long
                    # transfer would hold the loop, and the other transfers and the NOTIFYs wait.
                    await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:  # noqa: BLE001 - one broken transfer must not stop the server
            log.exception("xfr: a transfer to %s failed", client)
        finally:
            self.connections -= 1
            writer.close()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, server: TransferServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        for message in self.server.primary.respond(data, addr[0], tcp=False):
            self.transport.sendto(message, addr)


class _NotifyReplies(asyncio.DatagramProtocol):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = messages.notify_reply(data)
        if reply is not None:
            self.notifier.answered((str(ipaddress.ip_address(addr[0])), addr[1]), reply[0])


def counters(primary: Primary, notifier: Notifier) -> dict:
    """The snapshot of TRANSFERS and NOTIFIES ([[labels], count] rows, as `Counters.snapshot`)."""
    notifies = dict(zip(NOTIFY_RESULTS, (notifier.sent, notifier.acknowledged, notifier.failed)))
    return {"counters": {
        TRANSFERS: [[list(labels), count] for labels, count in sorted(primary.counts.items())],
        NOTIFIES: [[[result], count] for result, count in notifies.items() if count]}}


def _count_on(snapshots: SnapshotFolder, primary: Primary, notifier: Notifier) -> None:
    """Start from the counts a transfer server of this `serve` left (it died, or SIGHUP moved it):
    a counter that went back would read as a reset to Prometheus."""
    path = snapshots.path / f"worker-{SNAPSHOT_NAME}.json"
    try:
        rows = json.loads(path.read_text())["counters"]
        for labels, count in rows.get(TRANSFERS, []):
            primary.counts[tuple(labels)] += int(count)
        before = {labels[0]: int(count) for labels, count in rows.get(NOTIFIES, [])}
    except (OSError, ValueError, KeyError, TypeError):
        return   # none yet (or unreadable): from zero
    notifier.sent += before.get("sent", 0)
    notifier.acknowledged += before.get("acknowledged", 0)
    notifier.failed += before.get("failed", 0)


def bind(listen: str) -> tuple[socket.socket, socket.socket]:
    """(TCP, UDP) sockets on `listen`, for a supervisor to bind while it may (a port below 1024
    needs root) and hand to the transfer server (`Settings.fds`); OSError when it is taken."""
    from fraudwall.resolver.server.listeners import tcp_socket, udp_socket

    host, port = parse_hostport(listen, 53)
    tcp = tcp_socket(host, port, MAX_CONNECTIONS)
    try:
        return tcp, udp_socket(host, port)
    except OSError:
        tcp.close()
        raise


def bind_error(listen: str, error: OSError) -> str:
    """The one line `serve` stops with when `listen` cannot be bound (exit 2)."""
    return (f"--xfr-listen {listen}: cannot serve zone transfers there: {error.strerror or error} "
            f"(choose another ADDR:PORT)")


def _target(text: str) -> tuple[str, int]:
    return parse_hostport(text, 53)
