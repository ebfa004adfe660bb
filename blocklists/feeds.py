"""Feeds that `serve` keeps fresh: each due feed is imported by a child process.

One scheduler runs per `serve`, in its supervisor, however many workers answer queries: a
feed is fetched once per period. The import runs in a child process at the lowest CPU
priority, so that parsing a big feed never competes with the workers for the interpreter or
the CPU; the conditional request makes an unchanged feed cost one round trip.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fraudwall.blocklists import store
from fraudwall.blocklists.settings import BlocklistSettings, Feed
from fraudwall.blocklists.store import ListInfo
from fraudwall.blocklists.background import yield_cpu

log = logging.getLogger("fraudwall.blocklists")
POLL_SECONDS = 5.0


class FeedScheduler:
    """Starts the import of each feed whose period has passed since its last import or try."""

    def __init__(self, db: Path, settings: BlocklistSettings, sinkhole: tuple[str, ...] = ()) -> None:
        self._db = db
        self._settings = settings
        self._sinkhole = sinkhole
        self._feeds = settings.parsed_feeds()
        self._tried: dict[str, float] = {}
        self._running: dict[str, subprocess.Popen] = {}
        self._next_poll = 0.0

    def tick(self) -> float | None:
        """Start the due feeds' imports (the lists read from the store); seconds until the next tick,
        None when there are no feeds."""
        if not self._feeds:
            return None
        monotonic = time.monotonic()
        if monotonic >= self._next_poll:
            try:
                connection = store.connect_catalogue_readonly(self._db)
                try:
                    lists = store.read_lists(connection)
                finally:
                    connection.close()
            except (store.StoreError, sqlite3.Error) as error:
                log.warning("feeds: cannot read the store, trying again in %g s: %s", POLL_SECONDS, error)
                self._next_poll = monotonic + POLL_SECONDS
            else:
                self.poll(lists)
        return max(0.0, self._next_poll - time.monotonic())

    def poll(self, lists: dict[str, ListInfo], now: float | None = None) -> None:
        if not self._feeds:
            return
        monotonic = time.monotonic()
        if monotonic < self._next_poll:
            return
        self._next_poll = monotonic + POLL_SECONDS
        now = time.time() if now is None else now
        for name, process in list(self._running.items()):
            code = process.poll()
            if code is not None:
                del self._running[name]
                if code:
                    log.warning("feed %s: import exited with code %s", name, code)
        for feed in self._feeds:
            info = lists.get(feed.name)
            last = max(info.imported_at or 0.0 if info else 0.0, self._tried.get(feed.name, 0.0))
            if feed.name not in self._running and now - last >= feed.period:
                self._tried[feed.name] = now
                self._running[feed.name] = self._start(feed)

    def _start(self, feed: Feed) -> subprocess.Popen:
        settings = self._settings
        command = [sys.executable, "-m", "fraudwall.blocklists.feeds", str(self._db), feed.name, feed.url,
                   "--format", feed.format, "--threshold", str(settings.change_threshold),
                   "--platforms-file", settings.platforms_file, "--popular-file", settings.popular_file,
                   "--brands-file", settings.brands_file,
                   "--broadest-prefix", f"{settings.broadest_ipv4_prefix},{settings.broadest_ipv6_prefix}"]
        command += [f"--sinkhole={address}" for address in self._sinkhole if address]
        log.info("feed %s: importing %s", feed.name, feed.url)
        return subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def close(self) -> None:
        for process in self._running.values():
            if process.poll() is None:
                process.terminate()


def main(argv: list[str] | None = None) -> int:
    from fraudwall.blocklists.guards import load_guards
    from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list
    from fraudwall.blocklists.store import StoreError

    parser = argparse.ArgumentParser(prog="fraudwall-feed", description="import one feed into the store")
    parser.add_argument("db")
    parser.add_argument("list")
    parser.add_argument("url")
    parser.add_argument("--format", default="auto")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--platforms-file", default="")
    parser.add_argument("--popular-file", default="")
    parser.add_argument("--brands-file", default="")
    parser.add_argument("--broadest-prefix", default="16,32", help="IPV4,IPV6 prefix lengths")
    parser.add_argument("--sinkhole", action="append", default=[])
    args = parser.parse_args(argv)
    # Background work: the resolver's workers, not this import, get the CPU first.
    yield_cpu()
    try:
        ipv4, ipv6 = (int(length) for length in args.broadest_prefix.split(","))
        guards = load_guards(args.platforms_file, args.popular_file, args.brands_file,
                             broadest_prefix=(ipv4, ipv6), sinkhole=args.sinkhole)
        summary = import_list(Path(args.db), ImportRequest(args.list, (args.url,), format=args.format,
                                                           threshold=args.threshold), guards)
    except (ImportFailed, StoreError, ValueError) as error:
        print(f"fraudwall feed {args.list}: error: {error}", file=sys.stderr)
        return 2
    for line in summary.lines():
        print(f"fraudwall feed {args.list}: {line.strip()}", file=sys.stderr)
    if summary.held_back:
        print(f"fraudwall feed {args.list}: held back: {summary.held_back}", file=sys.stderr)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
