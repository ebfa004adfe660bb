"""Build the chain from the config and run the listeners: the only place that owns sockets and signals."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

from fraudwall.blocklists.opening import open_blocklist
from fraudwall.blocklists.verdict import Blocklist
from fraudwall.resolver.access import AccessStage
from fraudwall.resolver.allowlist import AllowlistStage
from fraudwall.resolver.blocklist import BlocklistStage
from fraudwall.resolver.cache import CacheStage
from fraudwall.resolver.chain import Stage, link
from fraudwall.resolver.config import Config, ConfigError, UpstreamSettings, parse_hostport
from fraudwall.resolver.handler import QueryHandler
from fraudwall.resolver.inspection import InspectStage
from fraudwall.resolver.metrics import Counters
from fraudwall.resolver.scorer import ScorerStage
from fraudwall.resolver.sinkhole import Sinkhole
from fraudwall.resolver.tcp_server import TcpConnections, TcpServer
from fraudwall.resolver.udp_server import UdpServer
from fraudwall.resolver.upstream import Forwarder, UpstreamStage
from fraudwall.resolver.upstream_pool import Upstream, UpstreamPool
from fraudwall.scoring.scorer import Scorer

log = logging.getLogger("fraudwall")

REFRESH_SECONDS = 1.0


def read_resolv_conf(path: str) -> tuple[Upstream, ...]:
    """The `nameserver` lines of a resolv.conf, as dnsmasq reads them."""
    servers = []
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, start=1):
                words = line.split("#", 1)[0].split(";", 1)[0].split()
                if len(words) >= 2 and words[0] == "nameserver":
                    try:
                        host, port = parse_hostport(words[1].split("%", 1)[0], 53)
                    except ValueError as error:
                        raise ConfigError(f"{path}:{number}: nameserver {error}") from None
                    servers.append(Upstream(host, port))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}; set [upstream] servers") from None
    if not servers:
        raise ConfigError(f"{path}: no nameserver lines; set [upstream] servers or --upstream")
    return tuple(servers)


def upstream_servers(settings: UpstreamSettings, listen: tuple[str, ...]) -> tuple[Upstream, ...]:
    servers: list[Upstream] = []
    for entry in settings.servers:
        if entry == "resolv.conf":
            servers.extend(read_resolv_conf(settings.resolv_conf))
        else:
            servers.append(Upstream(*parse_hostport(entry, 53)))
    own = {parse_hostport(address, 53) for address in listen}
    for server in servers:
        if (server.host, server.port) in own:
            raise ConfigError(f"upstream {server} is fraudwall's own listen address: queries would loop")
    return tuple(dict.fromkeys(servers))


class Resolver:
    """Everything one worker needs to answer queries, built from the config."""

    def __init__(self, config: Config, blocklist: Blocklist, upstreams: tuple[Upstream, ...]) -> None:
        self.config = config
        self.blocklist = blocklist
        sinkhole = Sinkhole(config.sinkhole)
        self.counters = Counters()
        self.forwarder = Forwarder(UpstreamPool(upstreams, time.monotonic),
                                   config.upstream.timeout, config.upstream.attempts,
                                   on_try=lambda server, outcome, seconds: self.counters.observe_upstream(
                                       str(server), outcome, seconds))
        self.cache = CacheStage(config.cache)
        self.scorer = Scorer(config.scorer) if config.scorer.mode != "off" else None
        # A client outside the served networks gets nothing from us, not even a cached answer.
        stages: list[Stage] = [AccessStage(config.access.allow)]
        if config.allowlist.names:
            # The admin's own allowlist wins over every list and the scorer.
            stages.append(AllowlistStage(config.allowlist.names))
        # Before the cache: a name blocked live is blocked at once, even with an answer cached.
        stages.append(BlocklistStage(blocklist, sinkhole))
        if self.scorer is not None:
            # After the lists: they are exact and cheaper; an allow entry there also skips scoring.
            stages.append(ScorerStage(self.scorer, sinkhole, blocks=config.scorer.mode == "block"))
        stages += [
            self.cache,
            # Below the cache: replies are inspected once, when they come in, not on every hit.
            InspectStage(blocklist, sinkhole),
            UpstreamStage(self.forwarder),
        ]
        # Stages with nothing to do are left out: every link costs each query a call.
        self.chain: Stage = link(*stages)
        self.handler = QueryHandler(self.chain, observers=(self.counters.observe_answer,),
                                    on_malformed=self.counters.observe_malformed)

    def sample_metrics(self) -> None:
        """Copy what the stages count themselves into the metrics, before a snapshot or a scrape."""
        cache = self.cache.cache
        self.counters.counters["fraudwall_cache_hits"][()] = cache.hits
        self.counters.counters["fraudwall_cache_misses"][()] = cache.misses
        self.counters.set_gauge("fraudwall_cache_entries", len(cache))


async def run(config: Config, upstreams: tuple[Upstream, ...], announce: bool = True) -> int:
    """Serve until SIGTERM or SIGINT, then finish the queries in flight and return 0."""
    loop = asyncio.get_running_loop()
    try:
        blocklist = open_blocklist(config.blocklists)
    except ValueError as error:
        log.error("%s", error)
        return 1
    resolver = Resolver(config, blocklist, upstreams)
    tcp = TcpConnections(resolver.handler, config.server.tcp_idle_timeout, config.server.tcp_max_connections)
    servers = []
    udp_transports = []
    try:
        for address in config.server.listen:
            host, port = parse_hostport(address, 53)
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: UdpServer(resolver.handler), local_addr=(host, port), reuse_port=True)
            udp_transports.append((transport, protocol))
            servers.append(await loop.create_server(lambda: TcpServer(tcp), host, port, reuse_port=True,
                                                    backlog=1024))
    except OSError as error:
        log.error("cannot listen on %s: %s", address, error.strerror or error)
        for transport, _ in udp_transports:
            transport.close()
        for server in servers:
            server.close()
        return 1

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if announce:
        _announce(config, upstreams, blocklist)

    async def housekeeping() -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                blocklist.refresh()
            except Exception:  # noqa: BLE001 - a bad refresh must not stop the resolver
                log.exception("blocklist refresh failed; answering from what is loaded")
            resolver.forwarder.close_idle(time.monotonic())

    keeper = asyncio.ensure_future(housekeeping())
    await stop.wait()
    # Stop taking new work first, then let what is in flight finish and be sent, then close.
    for server in servers:
        server.close()
    for _, protocol in udp_transports:
        protocol.accepting = False
    await resolver.handler.drain(config.server.shutdown_grace)
    for transport, _ in udp_transports:
        transport.close()
    tcp.close_all()
    keeper.cancel()
    resolver.forwarder.close()
    blocklist.close()
    return 0


def _announce(config: Config, upstreams: tuple[Upstream, ...], blocklist: Blocklist) -> None:
    host, port = parse_hostport(config.server.listen[0], 53)
    names = ", ".join(config.server.listen)
    print(f"fraudwall {os.getpid()}: listening on {names} (UDP and TCP); "
          f"upstreams {', '.join(map(str, upstreams))}; config {config.source}", file=sys.stderr, flush=True)
    print(f"try: dig @{host} -p {port} example.com   (a blocked demo name: "
          f"dig @{host} -p {port} icbc-tuikuan.example.com)", file=sys.stderr, flush=True)


def serve(config: Config) -> int:
    """Run `config.server.workers` worker processes sharing the listen ports (SO_REUSEPORT)."""
    upstreams = upstream_servers(config.upstream, config.server.listen)
    workers = config.server.workers
    if workers == 1:
        return _run_worker(config, upstreams, announce=True)
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:
            code = _run_worker(config, upstreams, announce=index == 0)
            os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        worst = max(worst, os.waitstatus_to_exitcode(status) if status else 0)
    return worst


def _run_worker(config: Config, upstreams: tuple[Upstream, ...], announce: bool) -> int:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(config, upstreams, announce))
    return uvloop.run(run(config, upstreams, announce))
