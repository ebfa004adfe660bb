"""fraudwall as an RPZ secondary: each `[blocklists] follow` list kept a copy of a zone on a primary.

A refresh (RFC 1034 4.3.5, RFC 1996) asks the primary for the zone's SOA over TCP; when its serial
moved past the one applied (RFC 1982), the changes come by IXFR (RFC 1995) and are applied to the
last copy, `follow/NAME.zone` beside the store (the whole zone by AXFR, RFC 5936, the first time,
when the list is not in the store, or when the primary cannot answer the IXFR); the new copy is
imported whole as the list NAME through
`import_list`, format rpz: the guards apply as to any import (a popular site is quarantined, a
change beyond `change_threshold` is held back), and the change is one generation swap that the
workers pick up as they pick up an import.

`Following` is the supervisor's schedule (resolver/server/background.py): a refresh is due at start,
at the zone's SOA refresh after a success (its retry after a failure), and at once when a worker
told of a NOTIFY from the primary leaves `follow/NAME.notify` (resolver/dns/stages/notify.py). Each
refresh runs in a child process at the lowest CPU priority, as a feed's import does: a transfer of
millions of names takes neither a worker's CPU nor the supervisor's loop. The child leaves the
outcome in `follow/NAME.json`, which `fraudwall lists` shows and /metrics counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from fraudwall.blocklists import store
from fraudwall.blocklists.settings import BlocklistSettings, Follow
from fraudwall.blocklists.settings import follow_folder as folder
from fraudwall.resolver.xfr import keys as xfr_keys
from fraudwall.resolver.xfr.client import (
    AxfrReader, Framing, IxfrReader, Signing, SoaTimers, TransferFailed, axfr_query, framed, ixfr_query, read_soa,
    soa_query,
)
from fraudwall.resolver.xfr.tsig import Key
from fraudwall.resolver.xfr.messages import newer
from fraudwall.blocklists.background import yield_cpu

log = logging.getLogger("fraudwall.xfr")

TIMEOUT = 10.0              # seconds a primary may take to connect or to send the next octets
POLL_SECONDS = 0.5          # how often the schedule looks for a NOTIFY's trigger
# Bounds on the SOA timers, whatever the primary says: never a busy loop, at least a refresh a day.
MIN_REFRESH, MAX_REFRESH = 2, 86_400
FIRST_RETRY = 60            # before a zone's SOA is known: its retry timer
SNAPSHOT_NAME = "follow"    # worker-follow.json in the metrics folder
METRIC = "fraudwall_xfr_secondary_transfers"
RESULTS = ("transferred", "current", "held", "failed")


class FollowState(NamedTuple):
    """A followed list's last refresh, as `fraudwall lists` shows it (`follow/NAME.json`)."""

    primary: str
    zone: str
    serial: int | None        # the serial applied to the store (None: none yet)
    refresh: int
    retry: int
    at: float                 # when the last refresh ended (time.time())
    result: str               # one of RESULTS
    detail: str               # a line saying what happened
    counts: dict[str, int]    # refreshes by result since the list was first followed
    # The serial of the last copy, follow/NAME.zone (an IXFR's base): ahead of `serial` when the
    # import of a newer version was held back.
    zone_serial: int | None = None
    # The last refresh that transferred: when, and what it said (a later "current" keeps it).
    transferred_at: float | None = None
    transfer: str = ""


def trigger_path(db: Path, name: str) -> Path:
    return folder(db) / f"{name}.notify"


def state_path(db: Path, name: str) -> Path:
    return folder(db) / f"{name}.json"


def read_state(db: Path, name: str) -> FollowState | None:
    try:
        data = json.loads(state_path(db, name).read_text())
        return FollowState(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_state(db: Path, name: str, state: FollowState) -> None:
    target = state_path(db, name)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state._asdict()))
    os.replace(temporary, target)


# ---------------------------------------------------------------- the socket shell

def _connect(address: tuple[str, int], timeout: float) -> socket.socket:
    try:
        return socket.create_connection(address, timeout=timeout)
    except OSError as error:
        raise TransferFailed(f"cannot connect to {address[0]} port {address[1]}: {error.strerror or error}") from None


def _messages(connection: socket.socket, request: bytes, signing: Signing):
    """The messages the primary sends back over this connection, as they come (their TSIG checked
    and taken off when `signing` has a key)."""
    connection.sendall(framed(signing.request(request)))
    for message in _received(connection):
        yield signing.reply(message)


def _received(connection: socket.socket):
    framing = Framing()
    while True:
        try:
            data = connection.recv(65536)
        except OSError as error:   # socket.timeout included
            raise TransferFailed(f"the primary stopped sending: {error.strerror or error or 'timed out'}") from None
        if not data:
            raise TransferFailed("the primary closed the connection before the end")
        yield from framing.feed(data)


def query_soa(address: tuple[str, int], zone: str, timeout: float = TIMEOUT, key: Key | None = None) -> SoaTimers:
    ident = random.SystemRandom().randrange(0x10000)
    signing = Signing(key)
    with _connect(address, timeout) as connection:
        for message in _messages(connection, soa_query(ident, zone), signing):
            soa = read_soa(message, ident, zone)
            signing.finished()
            return soa
    raise TransferFailed("no answer")   # pragma: no cover - _messages raises first


def transfer(address: tuple[str, int], zone: str, target: Path, timeout: float = TIMEOUT,
             serial: int | None = None, key: Key | None = None) -> tuple[SoaTimers, str]:
    """The zone into `target` as a zone file (replaced only once complete), and how it came: by IXFR
    from `serial` when given (`target` holds that version), else by AXFR; "IXFR", "AXFR" (also an
    IXFR answered with the whole zone) or "current" (nothing moved, `target` untouched)."""
    ident = random.SystemRandom().randrange(0x10000)
    if serial is None:
        reader: AxfrReader = AxfrReader(ident, zone)
        request = axfr_query(ident, zone)
    else:
        reader = IxfrReader(ident, zone, serial)
        request = ixfr_query(ident, zone, serial)
    temporary = target.with_suffix(".tmp")
    signing = Signing(key)
    with _connect(address, timeout) as connection, open(temporary, "w", encoding="ascii") as out:
        for message in _messages(connection, request, signing):
            lines = reader.feed(message)
            if lines:
                out.write("\n".join(lines) + "\n")
            if reader.done:
                break
        signing.finished()
        incremental = isinstance(reader, IxfrReader) and reader.incremental
        if incremental:
            with open(target, encoding="ascii") as old:
                for line in reader.apply(old):
                    out.write(line + "\n")
    assert reader.soa is not None
    if isinstance(reader, IxfrReader) and reader.current:
        temporary.unlink()
        return reader.soa, "current"
    os.replace(temporary, target)
    return reader.soa, "IXFR" if incremental else "AXFR"


# ---------------------------------------------------------------- one refresh

def _has_list(db: Path, name: str) -> bool:
    try:
        connection = store.connect_catalogue_readonly(db)
        try:
            return name in store.read_lists(connection)
        finally:
            connection.close()
    except (store.StoreError, sqlite3.Error):
        return False


def _key(follow: Follow) -> Key | None:
    """The TSIG key the list names, read from its file again at each refresh (a key changed on disk
    is taken without a restart); TransferFailed when it is gone."""
    if not follow.key:
        return None
    try:
        key = xfr_keys.load(follow.keys_file).get(follow.key)
    except xfr_keys.KeyFileError as error:
        raise TransferFailed(str(error)) from None
    if key is None:
        raise TransferFailed(f"no key {follow.key!r} in {follow.keys_file}")
    return key


def refresh(db: Path, follow: Follow, settings: BlocklistSettings, guards, timeout: float = TIMEOUT,
            clock=time.time) -> FollowState:
    """Bring the list up to the primary's zone, if it moved; the new state (written by the caller)."""
    from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list

    before = read_state(db, follow.name)
    if before is not None and (before.primary, before.zone) != (follow.primary, follow.zone):
        before = before._replace(serial=None)   # another primary's serials say nothing of this one's
    counts = dict(before.counts) if before else {}
    refresh_s, retry_s = (before.refresh, before.retry) if before else (FIRST_RETRY, FIRST_RETRY)
    serial = before.serial if before else None
    zone_file = folder(db) / f"{follow.name}.zone"
    have = before.zone_serial if before is not None and serial is not None and zone_file.exists() else None

    last_transfer = (before.transferred_at, before.transfer) if before else (None, "")

    def ended(result: str, detail: str, applied: int | None, soa: SoaTimers | None = None) -> FollowState:
        counts[result] = counts.get(result, 0) + 1
        timers = (soa.refresh, soa.retry) if soa else (refresh_s, retry_s)
        now = clock()
        transferred = (now, detail) if result == "transferred" else last_transfer
        return FollowState(follow.primary, follow.zone, applied, *timers, now, result, detail, counts, have,
                           *transferred)

    try:
        key = _key(follow)
        soa = query_soa(follow.address, follow.zone, timeout, key)
        if serial is not None and not newer(soa.serial, serial) and _has_list(db, follow.name):
            return ended("current", f"serial {soa.serial} is the one applied", serial, soa)
        folder(db).mkdir(parents=True, exist_ok=True)
        kind = ""
        if have is not None and have != soa.serial:
            try:
                soa, kind = transfer(follow.address, follow.zone, zone_file, timeout, have, key)
            except TransferFailed as error:
                # A primary without IXFR, or with a journal that lost our version: the whole zone.
                log.info("follow %s: IXFR from %d failed (%s); asking for the whole zone", follow.name, have, error)
        if have is not None and kind in ("", "current") and have == soa.serial:
            kind = "the copy at hand"    # transferred before, its import held back: tried again
        elif kind in ("", "current"):
            soa, kind = transfer(follow.address, follow.zone, zone_file, timeout, key=key)
        have = soa.serial
        summary = import_list(db, ImportRequest(follow.name, (str(zone_file),), format="rpz",
                                                threshold=settings.change_threshold,
                                                workers=settings.import_workers), guards)
    except TransferFailed as error:
        return ended("failed", str(error), serial)
    except (ImportFailed, store.StoreError, OSError, ValueError, sqlite3.Error) as error:
        return ended("failed", f"the import failed: {error}", serial)
    if summary.held_back:
        return ended("held", f"serial {soa.serial} held back: {summary.held_back}", serial, soa)
    return ended("transferred", f"serial {soa.serial} by {kind}; {next(summary.lines()).strip()}", soa.serial, soa)


# ---------------------------------------------------------------- the supervisor's schedule

def counters(db: Path, follows: tuple[Follow, ...]) -> list[list]:
    """The snapshot rows of `METRIC` ([[list, result], count]) from the lists' states."""
    rows = []
    for follow in follows:
        state = read_state(db, follow.name)
        for result, count in (state.counts.items() if state else ()):
            rows.append([[follow.name, result], count])
    return rows


class Following:
    """Starts each followed list's refresh when due: at start, at its SOA refresh (retry after a
    failure), and when a NOTIFY's trigger file appears. One child per list at a time."""

    def __init__(self, db: Path, settings: BlocklistSettings, sinkhole: tuple[str, ...] = (),
                 clock=time.monotonic) -> None:
        self.db = db
        self.settings = settings
        self.sinkhole = sinkhole
        self.clock = clock
        self.follows = settings.follow
        self.due = {follow.name: 0.0 for follow in self.follows}
        self.started: dict[str, float] = {}
        self.running: dict[str, subprocess.Popen] = {}
        try:
            folder(db).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            # The refreshes say it again, in `lists`; the workers' NOTIFY triggers have nowhere to go.
            log.error("follow: %s: %s", folder(db), error.strerror or error)

    def tick(self) -> float:
        """Seconds until the next look (short: a NOTIFY's trigger may come any time)."""
        now = self.clock()
        for follow in self.follows:
            name = follow.name
            process = self.running.get(name)
            if process is not None:
                if process.poll() is None:
                    continue
                del self.running[name]
                self.due[name] = now + self._wait(name, process.poll())
            trigger = trigger_path(self.db, name)
            if trigger.exists():
                with contextlib.suppress(OSError):
                    trigger.unlink()
                # A flood of NOTIFYs (or of forged ones from the primary's address) starts a refresh
                # every MIN_REFRESH seconds at most.
                self.due[name] = min(self.due[name], max(now, self.started.get(name, 0.0) + MIN_REFRESH))
            if self.due[name] <= now:
                self.due[name] = now + FIRST_RETRY
                self.started[name] = now
                self.running[name] = self._start(follow)
        wake = min((due for name, due in self.due.items() if name not in self.running), default=now + POLL_SECONDS)
        return max(0.0, min(POLL_SECONDS, wake - now))

    def _wait(self, name: str, code: int | None) -> float:
        state = read_state(self.db, name)
        if state is None:
            return FIRST_RETRY
        # Exit code 0: the state is this refresh's and it succeeded; 1: it failed or was held
        # back; anything else: it died before it could say (its state is an older one).
        seconds = state.refresh if code == 0 and state.result in ("transferred", "current") else state.retry
        return float(min(MAX_REFRESH, max(MIN_REFRESH, seconds)))

    def _start(self, follow: Follow) -> subprocess.Popen:
        settings = self.settings
        argument = json.dumps({"db": str(self.db), "follow": [follow.name, follow.zone, follow.primary, follow.key, follow.keys_file],
                               "threshold": settings.change_threshold, "workers": settings.import_workers,
                               "guards": [settings.platforms_file, settings.popular_file, settings.brands_file,
                                          settings.broadest_ipv4_prefix, settings.broadest_ipv6_prefix],
                               "sinkhole": list(self.sinkhole)})
        # A fresh interpreter, not a fork: it shares no lock and no thread with the supervisor.
        return subprocess.Popen([sys.executable, "-m", "fraudwall.resolver.xfr.secondary", argument],
                                stdin=subprocess.DEVNULL)

    def snapshot(self) -> dict:
        return {"counters": {METRIC: counters(self.db, self.follows)}}

    def close(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()


def main(argv: list[str] | None = None) -> int:
    from fraudwall.blocklists.guards import load_guards

    parser = argparse.ArgumentParser(prog="fraudwall-follow", description="refresh one followed list")
    parser.add_argument("settings", help="JSON, as the supervisor writes it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Background work: the resolver's workers, not this transfer, get the CPU first.
    yield_cpu()
    given = json.loads(args.settings)
    db = Path(given["db"])
    follow = Follow(*given["follow"])
    platforms, popular, brands, ipv4, ipv6 = given["guards"]
    settings = BlocklistSettings(change_threshold=given["threshold"], import_workers=given["workers"])
    try:
        guards = load_guards(platforms, popular, brands, broadest_prefix=(ipv4, ipv6), sinkhole=given["sinkhole"])
    except (OSError, ValueError) as error:
        print(f"fraudwall follow {follow.name}: error: {error}", file=sys.stderr)
        return 2
    state = refresh(db, follow, settings, guards)
    write_state(db, follow.name, state)
    if state.result != "current":
        level = logging.WARNING if state.result in ("failed", "held") else logging.INFO
        log.log(level, "follow %s: %s from %s: %s", follow.name, follow.zone, follow.primary, state.detail)
    return 0 if state.result in ("transferred", "current") else 1


if __name__ == "__main__":
    sys.exit(main())
