"""Build the chain from the config and run the listeners: the only place that owns sockets and signals."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.memory import demo_list_path
from fraudwall.blocklists.opening import files_to_seed, open_blocklist
from fraudwall.blocklists.store import resolve_db
from fraudwall.blocklists.seen import SeenDomains, SeenError, open_seen, seen_path
from fraudwall.blocklists.verdict import Blocklist
from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.observe.admin import start_admin
from fraudwall.resolver.dns.stages.cache import CacheStage
from fraudwall.resolver.dns.chain import Stage, link
from fraudwall.resolver.dns.decision import decision_stages, scorer_for
from fraudwall.resolver.dns.policy import Policies, unknown_lists
from fraudwall.resolver.dns.proxy import ProxyGate
from fraudwall.resolver.config import Config, upstream_servers
from fraudwall.resolver.dns.handler import Observer, QueryHandler
from fraudwall.resolver.dns.stages.inspection import InspectStage
from fraudwall.resolver.dns.stages.nod import NodStage
from fraudwall.resolver.server import interpreter
from fraudwall.resolver.server.interpreter import discard
from fraudwall.resolver.server.listeners import DNS_BACKLOG, ListenError, Listeners
from fraudwall.resolver.observe.metrics import (
    Collector,
    Counters,
    SnapshotFolder,
    blocklist_families,
    build_info_family,
)
from fraudwall.resolver.server.background import Background
from fraudwall.resolver.server.privileges import UMASK, become, check_can_become
from fraudwall.resolver.server.processes import WorkerProcesses
from fraudwall.resolver.warning.provenance import Provenance
from fraudwall.resolver.dns.quota import Quota
from fraudwall.resolver.dns.stages.ratelimit import RateLimitStage
from fraudwall.resolver.dns.replay import ReplayMemo
from fraudwall.resolver.observe.querylog import QueryLog, QueryLogRecorder, log_path
from fraudwall.resolver.server.supervisor import START_FAILED
from fraudwall.resolver.server.tcp import TcpConnections, TcpServer
from fraudwall.resolver.server.udp import UdpServer
from fraudwall.resolver.server.upstream import Forwarder, UpstreamStage, in_flight_bound
from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool
from fraudwall.resolver.warning.certificates import CAError
from fraudwall.resolver.warning.reports import store_path_of
from fraudwall.resolver.warning.server import start_servers as start_warning_servers
from fraudwall.resolver.xfr.server import bind as bind_xfr
from fraudwall.resolver.xfr.server import bind_error as xfr_bind_error

try:
    # Imported by the supervisor, before it becomes `[server] user`, who may not read the files it comes from.
    import uvloop
except ImportError:
    uvloop = None

log = logging.getLogger("fraudwall")

REFRESH_SECONDS = 1.0


class Resolver:
    """Everything one worker needs to answer queries, built from the config."""

    def __init__(self, config: Config, blocklist: Blocklist, upstreams: tuple[Upstream, ...],
                 observers: tuple[Observer, ...] = (), seen: SeenDomains | None = None) -> None:
        self.config = config
        self.blocklist = blocklist
        self.policies = policies = Policies(config)
        self.counters = Counters()
        # The upstreams' labels made once: formatting one costs a forwarded query's try ~0.4 µs.
        labels = {server: str(server) for server in upstreams}
        self.forwarder = Forwarder(UpstreamPool(upstreams, time.monotonic),
                                   config.upstream.timeout, config.upstream.attempts,
                                   on_try=lambda server, outcome, seconds: self.counters.observe_upstream(
                                       labels[server], outcome, seconds),
                                   outgoing_range=config.upstream.outgoing_range)
        self.cache = CacheStage(config.cache)
        self.scorer = scorer_for(config, policies)
        # A client outside the served networks gets nothing from us, not even a cached answer.
        access = AccessStage(config.access.allow, config.access.deny, config.access.action)
        stages: list[Stage] = [access]
        self.ratelimit = RateLimitStage(config.ratelimit, self.cache.clock) if config.ratelimit.qps else None
        if self.ratelimit is not None:
            # Right after access: a refused client takes no tokens, a limited one costs nothing more.
            stages.append(self.ratelimit)
        # The policy, local, allowlist, blocklist and scorer stages: what `fraudwall check` runs too.
        stages += decision_stages(config, blocklist, self.scorer, policies, seen)
        self.nod = next((stage for stage in stages if type(stage) is NodStage), None)
        stages += [
            self.cache,
            # Below the cache: replies are inspected once, when they come in, not on every hit.
            InspectStage(blocklist, policies.default, self.scorer, frozenset(config.allowlist.names)),
            UpstreamStage(self.forwarder,
                          Quota(in_flight_bound(config.upstream.max_in_flight, config.server.tcp_max_connections),
                                config.upstream.max_in_flight_per_client),
                          on_overload=lambda bound: self.counters.add("fraudwall_upstream_overload", 1, (bound,))),
        ]
        # Stages with nothing to do are left out: every link costs each query a call.
        self.chain: Stage = link(*stages)
        self.generation = blocklist.generation if isinstance(blocklist, StoreBlocklist) else 0
        if isinstance(blocklist, StoreBlocklist):
            for line in unknown_lists(policies.chosen, blocklist.lists):
                log.warning("%s", line)
        self.provenance = Provenance(blocklist, self.scorer, policies.default.scorer == "block")
        if config.warning.listen or config.warning.tls_listen:
            observers = (*observers, self.provenance.observe)
        replays = ReplayMemo(access.allows, limits=self.ratelimit.admits if self.ratelimit is not None else None,
                             policy_of=policies.select if policies else None)
        self.handler = QueryHandler(self.chain, observers=observers, replays=replays, clock=self.cache.clock)
        if config.admin.listen:
            # Counted only when /metrics is served: nobody could read them otherwise.
            self.handler.observers = (self.counters.observe_answer, *observers)
            self.handler.on_malformed = self.counters.observe_malformed

    def on_generation(self, generation: int) -> list[object]:
        """The one place that forgets what was decided against older lists: cached and replayed answers
        (inspected against the old CNAME targets and addresses), the blocks remembered for the warning
        page, and the blocklist's own verdicts and entries (a score follows from the name alone: it
        stays). `generation`: the store's change counter now in force.

        Returns the containers the old decisions were in: dropping them here, at once, would hold up
        the queries waiting behind (~40 ms for full caches); the worker empties them a slice at a time.
        """
        self.generation = generation
        old: list[object] = [self.cache.cache.clear(), *self.handler.replays.clear(), self.provenance.forget()]
        if isinstance(self.blocklist, StoreBlocklist):
            old += self.blocklist.forget()
        return old

    def sample_metrics(self) -> None:
        """Copy what the stages count themselves into the metrics, before a snapshot or a scrape."""
        cache = self.cache.cache
        self.counters.counters["fraudwall_cache_hits"][()] = cache.hits + self.handler.replays.cached_hits
        self.counters.counters["fraudwall_cache_misses"][()] = cache.misses
        self.counters.counters["fraudwall_cache_stale_answers"][()] = cache.stale_answers
        self.counters.set_gauge("fraudwall_cache_entries", len(cache))
        if self.ratelimit is not None:
            for action, count in self.ratelimit.limited.items():
                self.counters.counters["fraudwall_ratelimit_limited"][(action,)] = count
            self.counters.set_gauge("fraudwall_ratelimit_clients", self.ratelimit.tracked)
        if self.nod is not None:
            for action, count in self.nod.observed.items():
                self.counters.counters["fraudwall_newly_observed"][(action,)] = count

    def extra_metrics(self) -> Iterable[object]:
        """What only the serving worker reports: the build, and the lists (the same in every worker)."""
        yield build_info_family()
        if isinstance(self.blocklist, StoreBlocklist):
            yield from blocklist_families(self.blocklist)


class Worker:
    """One worker process: the resolver, its listeners and the jobs that run beside the queries."""

    def __init__(self, config: Config, upstreams: tuple[Upstream, ...], listeners: Listeners, index: int = 0,
                 snapshots: SnapshotFolder | None = None) -> None:
        self.config = config
        self.upstreams = upstreams
        self.listeners = listeners
        self.index = index
        self.snapshots = snapshots
        self.pid = os.getpid()   # the name of its metrics snapshot: a restarted worker has a new one
        self.resolver: Resolver | None = None
        self.udp: list[UdpServer] = []
        self.servers: list[asyncio.AbstractServer] = []
        self.tcp: TcpConnections | None = None
        self.querylog: QueryLog | None = None
        self.recorder: QueryLogRecorder | None = None
        # SQLite blocks: the query log and the metrics snapshots get a thread of their own, one job at a time.
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraudwall-log")
        # The next list snapshot is built in another, so a big load never holds up the log's writes.
        self.lists_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraudwall-lists")
        self.jobs: list[asyncio.Task] = []

    async def start(self) -> bool:
        """Open the lists and the log, serve on the listeners; False (and logged) when something cannot be had."""
        config = self.config
        try:
            blocklist = open_blocklist(config.blocklists, (config.sinkhole.ipv4, config.sinkhole.ipv6))
        except ValueError as error:
            log.error("%s", error)
            return False
        observers = []
        if config.querylog.enabled:
            path = log_path(config.querylog.path, config.blocklists.db)
            try:
                self.querylog = QueryLog(path, config.querylog.retention_days, config.querylog.max_rows,
                                         config.querylog.pseudonymise)
            except (OSError, sqlite3.Error) as error:
                log.error("cannot open the query log %s: %s", path, error)
                blocklist.close()
                return False
            self.recorder = QueryLogRecorder(config.querylog.log_all)
            observers.append(self.recorder.observe)
        seen = None
        if config.nod.enabled:
            try:
                seen = open_seen(seen_path(config.nod.path, config.blocklists.db), config.nod.size, config.nod.days)
            except SeenError as error:
                log.error("[nod] %s", error)
                blocklist.close()
                return False
        self.resolver = resolver = Resolver(config, blocklist, self.upstreams, tuple(observers), seen)
        proxy = ProxyGate(config.server.proxy_from, lambda reason, transport: resolver.counters.add(
            "fraudwall_proxy_refused", 1, (reason.value, transport.value)))
        self.tcp = TcpConnections(resolver.handler, config.server.tcp_idle_timeout,
                                  config.server.tcp_max_connections, config.server.tcp_max_connections_per_client,
                                  config.server.tcp_message_timeout,
                                  admits=resolver.handler.replays.admits, proxy=proxy)  # the access stage's test
        loop = asyncio.get_running_loop()
        # The sockets were bound by the supervisor: a UDP socket of this worker's own, a shared TCP listener.
        for address in config.server.listen:
            udp_sockets, tcp_socket = self.listeners.dns[address]
            udp = UdpServer(resolver.handler, udp_sockets[self.index % len(udp_sockets)], proxy)
            self.udp.append(udp)
            udp.start()
            self.servers.append(await loop.create_server(lambda: TcpServer(self.tcp), sock=tcp_socket,
                                                         backlog=DNS_BACKLOG))
        try:
            self.servers += await start_warning_servers(config.warning, resolver.provenance.explain,
                                                        store_path_of(config), resolver.counters,
                                                        sockets=self.listeners.warning, served=config.access.allow)
        except (ValueError, CAError, OSError) as error:
            log.error("warning page: %s", error)
            await self.stop(grace=0)
            return False
        if config.admin.listen and self.index == 0:
            others = self.snapshots.read_others if self.snapshots is not None else (lambda worker: [])
            collector = Collector(resolver.counters, lambda: others(self.pid), resolver.sample_metrics,
                                  resolver.extra_metrics)
            try:
                self.servers.append(await start_admin(config.admin.listen, collector, sock=self.listeners.admin,
                                                      allow=config.admin.allow))
            except OSError as error:
                log.error("cannot serve /metrics on %s: %s", config.admin.listen, error.strerror or error)
                await self.stop(grace=0)
                return False
        self.jobs.append(asyncio.ensure_future(self._every_second()))
        if isinstance(blocklist, StoreBlocklist):
            self.jobs.append(asyncio.ensure_future(self._follow_lists()))
        return True

    async def _every_second(self) -> None:
        loop = asyncio.get_running_loop()
        resolver = self.resolver
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            resolver.forwarder.close_idle(time.monotonic())
            # The replays counted this second reach the query log and the metrics before they are written.
            resolver.handler.report_replays()
            await self._flush_log(loop)
            if self.snapshots is not None:
                # Worker 0 too: when it dies, the supervisor keeps its counts from here.
                resolver.sample_metrics()
                snapshot = resolver.counters.snapshot()
                await loop.run_in_executor(self.background, self.snapshots.write, self.pid, snapshot)

    async def _flush_log(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.recorder is None or not self.recorder.pending:
            return
        batch = self.recorder.take()
        try:
            await loop.run_in_executor(self.background, self.querylog.write, batch)
        except sqlite3.Error as error:
            log.warning("query log: %d entries not written: %s", len(batch), error)

    async def _follow_lists(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await self.refresh_lists()

    async def refresh_lists(self, forced: bool = False) -> None:
        """Pick up the store's changes: the next snapshot is built on the lists thread, then swapped in
        here, between two queries, and `on_generation` forgets what was decided against the old one."""
        blocklist = self.resolver.blocklist
        try:
            update = await asyncio.get_running_loop().run_in_executor(self.lists_thread, blocklist.prepare)
        except Exception:  # noqa: BLE001 - a bad refresh must not stop the resolver
            log.exception("blocklist refresh failed; answering from what is loaded")
            return
        if update is not None:
            blocklist.install(update)
        if update is not None or forced:
            self._discard(self.resolver.on_generation(blocklist.generation))

    def _discard(self, containers: list) -> None:
        """Drop the old decisions a slice a turn, between the queries (see `interpreter`)."""
        if not discard(containers):
            asyncio.get_running_loop().call_soon(self._discard, containers)

    def reload(self) -> None:
        """SIGHUP to this worker itself: pick up the store's changes now and forget cached answers and scores.

        The supervisor's SIGHUP (`systemctl reload`) re-reads the config and replaces the workers instead.
        """
        if isinstance(self.resolver.blocklist, StoreBlocklist):
            self.jobs.append(asyncio.ensure_future(self.refresh_lists(forced=True)))
        else:
            self._discard(self.resolver.on_generation(self.resolver.generation))
        log.info("reloaded: lists refreshed, cached answers dropped")

    async def stop(self, grace: float) -> None:
        """Stop taking new work, let what is in flight finish and be sent, then close everything."""
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        for udp in self.udp:
            udp.stop_accepting()
        if self.resolver is not None:
            await self.resolver.handler.drain(grace)
            self.resolver.handler.report_replays()
        for udp in self.udp:
            udp.close()
        if self.tcp is not None:
            self.tcp.close_all()
        for job in self.jobs:
            job.cancel()
        loop = asyncio.get_running_loop()
        if self.snapshots is not None and self.resolver is not None:
            # The last counts, for the supervisor to keep once this worker is gone; on the background
            # thread, after a snapshot it may be writing still.
            self.resolver.sample_metrics()
            snapshot = self.resolver.counters.snapshot()
            try:
                await loop.run_in_executor(self.background, self.snapshots.write, self.pid, snapshot)
            except OSError as error:
                log.warning("metrics: last counts not written: %s", error)
        if self.querylog is not None:
            await self._flush_log(loop)
            await loop.run_in_executor(self.background, self.querylog.close)
        self.background.shutdown(wait=False, cancel_futures=True)
        # A snapshot being built still reads the store: it finishes before the connections close.
        await loop.run_in_executor(None, self.lists_thread.shutdown)
        if self.resolver is not None:
            self.resolver.forwarder.close()
            self.resolver.blocklist.close()
            if self.resolver.nod is not None:
                self.resolver.nod.seen.close()


async def run(config: Config, upstreams: tuple[Upstream, ...], listeners: Listeners, index: int = 0,
              snapshots: SnapshotFolder | None = None, ready: Callable[[], None] = lambda: None) -> int:
    """Serve until SIGTERM or SIGINT, then finish the queries in flight and return 0; 1 when it cannot start.

    `ready()` tells the supervisor that this worker serves.
    """
    worker = Worker(config, upstreams, listeners, index, snapshots)
    if not await worker.start():
        return START_FAILED
    interpreter.settle()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, worker.reload)
    ready()
    orphaned = asyncio.ensure_future(_stop_when_orphaned(stop))
    await stop.wait()
    orphaned.cancel()
    await worker.stop(config.server.shutdown_grace)
    return 0


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """A worker whose supervisor is gone stops: nobody would restart it, and it holds the ports."""
    supervisor = os.getppid()
    while os.getppid() == supervisor:
        await asyncio.sleep(REFRESH_SECONDS)
    log.error("the supervisor (pid %d) is gone: stopping", supervisor)
    stop.set()


def _announce(config: Config, upstreams: tuple[Upstream, ...]) -> None:
    from fraudwall.resolver.server.banner import banner

    for line in banner(config, upstreams):
        print(line, file=sys.stderr, flush=True)


def serve(config: Config, reread: Callable[[], Config] | None = None) -> int:
    """Bind the listen sockets, become `[server] user`, and run `[server] workers` worker processes on them.

    The supervisor (this process) starts a worker that dies again, with a back-off, and gives up (exit 1)
    when they keep dying (`supervisor.py`); on SIGHUP it re-reads the config with `reread` and replaces the
    workers one at a time. Even one worker runs in a process of its own: a crash costs a restart, not DNS.
    """
    os.umask(UMASK)
    settings = config.blocklists
    check_can_become(config.server.user, bool(
        config.xfr.listen or settings.parsed_feeds() or settings.follow
        or files_to_seed(resolve_db(settings.db), settings)))
    upstreams = upstream_servers(config.upstream, config.server.listen)
    try:
        listeners = Listeners.bind(config)
    except ListenError as error:
        log.error("%s", error)
        return 1
    xfr_sockets = None
    if config.xfr.listen:
        # Bound here, while this process may (a port below 1024 needs root): the transfer server,
        # started as `[server] user`, inherits them (background.py).
        try:
            xfr_sockets = (config.xfr.listen, *bind_xfr(config.xfr.listen))
        except OSError as error:
            print(f"fraudwall: error: {xfr_bind_error(config.xfr.listen, error)}", file=sys.stderr)
            listeners.close()
            return 2
    try:
        # The package-data machinery is loaded as root: where the Python install is not readable by
        # the service user (a pyenv under /root), locating the bundled demo list afterwards fails.
        demo_list_path()
        become(config.server.user)
        # The store and the query log are created once, here, as the user that runs the workers:
        # workers creating a new SQLite file at once trip over its locks while switching it to WAL.
        open_blocklist(config.blocklists, (config.sinkhole.ipv4, config.sinkhole.ipv6)).close()
        if config.querylog.enabled:
            QueryLog(log_path(config.querylog.path, config.blocklists.db)).close()
        snapshots = SnapshotFolder.create()
    except (ValueError, OSError, sqlite3.Error) as error:
        log.error("%s", error)
        listeners.close()
        for sock in (xfr_sockets or ())[1:]:
            sock.close()
        return 1
    # The feed schedule and the at-risk watcher: once per host, in this process, never in a worker.
    background = Background(config, snapshots, xfr_sockets)

    def reread_for_all() -> tuple[Config, tuple[Upstream, ...]] | None:
        reread_settings = reread_config(reread or (lambda: config), config)
        if reread_settings is not None:
            background.configure(reread_settings[0])
        return reread_settings

    processes = WorkerProcesses(
        config.server.workers, (config, upstreams),
        run_worker=lambda slot, settings, ready: _run_worker(*settings, listeners, slot, snapshots, ready),
        reread=reread_for_all, snapshots=snapshots, grace=config.server.shutdown_grace,
        announce=lambda: (_announce(config, upstreams), background.serving()), tick=background.tick,
        fork_guard=background.fork_guard)
    try:
        return processes.run()
    finally:
        background.close()
        listeners.close()
        shutil.rmtree(snapshots.path, ignore_errors=True)


# Keys that name what the supervisor bound or became at start: a reload cannot change them.
NEEDS_A_RESTART = (("server", "listen"), ("server", "workers"), ("server", "user"),
                   ("warning", "listen"), ("warning", "tls_listen"), ("admin", "listen"))


def reread_config(reread: Callable[[], Config], running: Config) -> tuple[Config, tuple[Upstream, ...]] | None:
    """SIGHUP: the config file again, with the keys of NEEDS_A_RESTART as they are; None (logged) when broken."""
    try:
        config = reread()
        for section, key in NEEDS_A_RESTART:
            value = getattr(getattr(running, section), key)
            if getattr(getattr(config, section), key) != value:
                log.warning("SIGHUP: [%s] %s changed: it takes effect when fraudwall is restarted", section, key)
                config = config.replace(section, **{key: value})
        upstreams = upstream_servers(config.upstream, config.server.listen)
    except Exception as error:  # noqa: BLE001 - whatever is wrong with the new config, the old one keeps serving
        log.error("SIGHUP: keeping the config in force: %s", error)
        return None
    return config, upstreams


def _run_worker(config: Config, upstreams: tuple[Upstream, ...], listeners: Listeners, index: int,
                snapshots: SnapshotFolder | None, ready: Callable[[], None]) -> int:
    logging.getLogger().setLevel(config.server.log_level.upper())   # a reloaded config may change it
    main = run(config, upstreams, listeners, index, snapshots, ready)
    return asyncio.run(main) if uvloop is None else uvloop.run(main)
