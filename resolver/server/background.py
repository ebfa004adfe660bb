"""The work of a `serve` that is no query: the feed schedule and the at-risk watcher, run by the supervisor.

One of each per host, however many workers answer queries: N workers used to run N feed schedulers
(and fetch each feed N times). The feed schedule is a tick of the supervisor's own loop (it only reads
the catalogue and starts an import child). The at-risk watcher reads the query log and may wait on a
webhook, so it runs in a thread, as does the reading of the store into the page cache at start; the
supervisor forks a worker only while neither thread holds a lock (`fork_guard`: the watcher's, SQLite's),
so no worker starts life with a lock taken by a thread it does not have.
Its gauge reaches /metrics the way the workers' counts do: a snapshot in the metrics folder.
The zone transfer server (`[xfr] listen`, `resolver/xfr/`) is a process of its own, started here and
started again when it dies: a transfer of millions of names takes neither a worker's CPU nor this loop's.
The followed lists (`[blocklists] follow`, resolver/xfr/secondary.py) are a schedule of this loop too:
each refresh is a child process, as a feed's import is.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager

from fraudwall.blocklists.background import warm_page_cache
from fraudwall.blocklists.feeds import FeedScheduler
from fraudwall.blocklists.store import lookup_files, resolve_db
from fraudwall.resolver.config import Config
from fraudwall.resolver.observe.atrisk import AtRiskWatcher
from fraudwall.resolver.observe.metrics import Counters, SnapshotFolder
from fraudwall.resolver.observe.querylog import log_path
from fraudwall.resolver.xfr.secondary import SNAPSHOT_NAME as FOLLOW_SNAPSHOT
from fraudwall.resolver.xfr.secondary import Following

log = logging.getLogger("fraudwall")

SNAPSHOT_NAME = "background"   # worker-background.json in the metrics folder
XFR_RESTART_SECONDS = 5.0      # a transfer server that died is started again this long after


class Background:
    """The supervisor's background work for `config`; `tick()` from its loop, `close()` when it exits."""

    def __init__(self, config: Config, snapshots: SnapshotFolder,
                 xfr_sockets: tuple[str, socket.socket, socket.socket] | None = None) -> None:
        self.snapshots = snapshots
        # `[xfr] listen` and its (TCP, UDP) sockets, bound by `serve` before it became `[server] user`
        # (xfr.server.bind): the transfer server inherits them while the config keeps that address.
        self.xfr_sockets = xfr_sockets
        self.fork_guard: AbstractContextManager = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.feeds: FeedScheduler | None = None
        self.following: Following | None = None
        self._follow_snapshot: dict | None = None
        self._feed_settings: tuple | None = None
        self.watcher: AtRiskWatcher | None = None
        self.xfr: subprocess.Popen | None = None
        self._xfr_argument = ""
        self._xfr_due = 0.0
        self.configure(config)
        self._store = resolve_db(config.blocklists.db) if config.blocklists.store else None
        self._warming: threading.Thread | None = None

    def serving(self) -> None:
        """The first worker serves: now read the store's segments into the page cache (once). Not
        sooner: the worker's own start (modules, the filter) would queue behind gigabytes of reads."""
        if self._store is not None and self._warming is None:
            self._warming = threading.Thread(target=self._warm, args=(self._store,), name="fraudwall-warm",
                                             daemon=True)
            self._warming.start()

    def configure(self, config: Config) -> None:
        """Start with `config`, or take a reloaded one: imports under way go on, the schedule is new."""
        settings, sinkhole = config.blocklists, (config.sinkhole.ipv4, config.sinkhole.ipv6)
        if (settings, sinkhole) != self._feed_settings:
            self._feed_settings = (settings, sinkhole)
            if self.feeds is not None:
                self.feeds.close()
            self.feeds = None
            if settings.store and settings.parsed_feeds():
                self.feeds = FeedScheduler(resolve_db(settings.db), settings, sinkhole)
            if self.following is not None:
                self.following.close()
            self.following = None
            if settings.store and settings.follow:
                self.following = Following(resolve_db(settings.db), settings, sinkhole)
        with self.fork_guard:
            atrisk = config.atrisk
            self.check_seconds = atrisk.check_seconds
            self.watcher = None
            if config.querylog.enabled:
                self.watcher = AtRiskWatcher(str(log_path(config.querylog.path, settings.db)), atrisk.distinct_names,
                                             atrisk.window_hours * 3600, atrisk.after_warning, atrisk.webhook)
        argument = _xfr_argument(config, self.snapshots, self._inherited(config))
        if argument != self._xfr_argument:
            self._stop_xfr()
            self._xfr_argument, self._xfr_due = argument, 0.0
            self._start_xfr()
        if self.watcher is not None and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._watch, name="fraudwall-atrisk", daemon=True)
            self._thread.start()

    def tick(self) -> float | None:
        """Start the due feeds' imports, and the transfer server again if it died; seconds until the
        next tick (None: nothing to do until a signal)."""
        wait = self._tick_xfr()
        if self.following is not None:
            follow = self._tick_follow(self.following)
            wait = follow if wait is None else min(wait, follow)
        if self.feeds is None:
            return wait
        try:
            feeds = self.feeds.tick()
        except Exception:  # noqa: BLE001 - a failed tick must not stop the supervisor
            log.exception("feeds: the schedule failed; trying again later")
            feeds = 5.0
        return feeds if wait is None or (feeds is not None and feeds < wait) else wait

    def _tick_follow(self, following: Following) -> float:
        try:
            wait = following.tick()
            snapshot = following.snapshot()
            if snapshot != self._follow_snapshot:
                self.snapshots.write(FOLLOW_SNAPSHOT, snapshot)
                self._follow_snapshot = snapshot
        except Exception:  # noqa: BLE001 - a failed tick must not stop the supervisor
            log.exception("follow: the schedule failed; trying again later")
            return 5.0
        return wait

    def _inherited(self, config: Config) -> tuple[int, ...]:
        """The descriptors the transfer server inherits: those bound at start, while `[xfr] listen`
        is still their address (a SIGHUP that moves it has the transfer server bind the new one)."""
        if self.xfr_sockets is None or self.xfr_sockets[0] != config.xfr.listen:
            return ()
        return tuple(sock.fileno() for sock in self.xfr_sockets[1:])

    def _start_xfr(self) -> None:
        if not self._xfr_argument:
            return
        # A fresh interpreter, not a fork: it shares no lock and no thread with this process.
        self.xfr = subprocess.Popen([sys.executable, "-m", "fraudwall.resolver.xfr", self._xfr_argument],
                                    stdin=subprocess.DEVNULL, pass_fds=json.loads(self._xfr_argument)["fds"])

    def _tick_xfr(self) -> float | None:
        if self.xfr is None:
            if not self._xfr_argument:
                return None
            wait = self._xfr_due - time.monotonic()
            if wait > 0:
                return wait
            self._start_xfr()
            return None
        code = self.xfr.poll()
        if code is None:
            return None
        log.error("xfr: the zone transfer server exited with code %d; starting it again in %.0f s",
                  code, XFR_RESTART_SECONDS)
        self.xfr, self._xfr_due = None, time.monotonic() + XFR_RESTART_SECONDS
        return XFR_RESTART_SECONDS

    def _stop_xfr(self) -> None:
        if self.xfr is not None:
            self.xfr.terminate()
            try:
                self.xfr.wait(5)
            except subprocess.TimeoutExpired:
                self.xfr.kill()
                self.xfr.wait()
            self.xfr = None

    def _warm(self, db) -> None:
        """The store's segments read once into the page cache at start (blocklists/background.py)."""
        started = time.monotonic()
        with self.fork_guard:
            # The catalogue is read with SQLite, whose mutexes a forked worker would inherit held if this
            # thread had one: its first read of the store would then hang (a reload right after the start).
            files = lookup_files(db)
        read = warm_page_cache(files, self._stop)
        if read:
            log.info("read %d MB of the store's %d segment files into the page cache in %.1f s",
                     read >> 20, len(files), time.monotonic() - started)

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self.fork_guard:
                watcher = self.watcher
                if watcher is None:
                    return
                watcher.check()
                counters = Counters()
                counters.set_gauge("fraudwall_at_risk_clients", watcher.count)
                try:
                    self.snapshots.write(SNAPSHOT_NAME, {"gauges": counters.snapshot()["gauges"]})
                except OSError as error:
                    log.warning("metrics: the at-risk count not written: %s", error)
                wait = self.check_seconds
            self._stop.wait(wait)

    def close(self) -> None:
        self._stop.set()
        self._stop_xfr()
        if self.xfr_sockets is not None:
            for sock in self.xfr_sockets[1:]:
                sock.close()
        if self.feeds is not None:
            self.feeds.close()
        if self.following is not None:
            self.following.close()


def _xfr_argument(config: Config, snapshots: SnapshotFolder, fds: tuple[int, ...] = ()) -> str:
    """The transfer server's settings as its one argument; "" when `[xfr] listen` is not set. The
    key file's modification time is part of it: a SIGHUP after a key was changed (a rotation)
    starts the transfer server again, with the new keys."""
    xfr = config.xfr
    if not xfr.listen:
        return ""
    try:
        keys_version = os.stat(xfr.keys_file).st_mtime_ns if xfr.keys_file else 0
    except OSError:
        keys_version = 0   # gone since the config was read: the transfer server says so when it starts
    return json.dumps({"db": str(resolve_db(config.blocklists.db)), "listen": xfr.listen, "allow": xfr.allow,
                       "suffix": xfr.suffix, "notify": xfr.notify, "metrics": str(snapshots.path),
                       "keys_file": xfr.keys_file, "require_key": xfr.require_key, "keys_version": keys_version,
                       "fds": fds, "log_level": config.server.log_level})
