"""Seconds from `fraudwall serve` starting to its first correct blocked answer, on a big store, page cache cold.

    .venv/bin/python benchmarks/cold_start.py                      # 25 M names: ~2 min for the feed, ~2 min to import; writes RESULTS.md
    .venv/bin/python benchmarks/cold_start.py --names 200000 --rounds 1 --no-write   # quick look
    .venv/bin/python benchmarks/cold_start.py --names 1000000 --rounds 5
    .venv/bin/python benchmarks/cold_start.py --dir /tmp/h7 --rounds 3 --keep   # reuse the feed and store next time

The store is built once per --names in --dir with `benchmarks/import_command.py`'s random fraud-like
names and `fraudwall import` (the time it took is printed), and kept with --keep. Each round drops the
page cache (as root: `sync; echo 3 > /proc/sys/vm/drop_caches`; otherwise the round says "warm"),
starts `fraudwall serve` (one worker, shipped defaults otherwise, no NSD: the upstream is a closed
port, which a blocked name never needs) on a random loopback port, and sends an A query for a listed
name every 5 ms until the answer is the sinkhole's address. The figure includes the Python start, the
imports (from a bytecode cache under --dir, as an installed fraudwall has one), opening the store and
the first lookups. An uncounted start comes first, also from a cold cache (round 0: it writes that
bytecode cache and imports the config's demo list into a store that lacks it, as the first start after
an import does, once); a last round runs with the cache warm, for comparison. Every step is
bounded by --timeout. The table goes to the `cold-start` section of benchmarks/RESULTS.md (with the
command, the machine, its load and the store's filesystem), unless `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.rdatatype

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_command import ROOT, import_feed, write_feed  # noqa: E402
from section import Occasion, begin, filesystem, opening, publish  # noqa: E402

SINKHOLE = "0.0.0.0"


def build(directory: Path, names: int, timeout: float) -> tuple[Path, Path]:
    """(feed, store) for `names` names in `directory`, made when missing."""
    feed = directory / f"random-{names}.txt"
    db = directory / f"store-{names}" / "blocklists.db"
    if not db.exists():
        seconds = write_feed(feed, names)
        db.parent.mkdir(parents=True, exist_ok=True)
        result = import_feed(feed, db, timeout)
        print(f"store: {names} names, feed written in {seconds:.0f} s, imported in {result['wall']:.0f} s"
              f" ({result['user'] + result['system']:.0f} CPU-s, load {result['load_before']:.1f})", file=sys.stderr)
    return feed, db


def listed_names(feed: Path, count: int, seed: int) -> list[str]:
    """`count` names of the feed, from places spread over it (read before the cache is dropped)."""
    rng = random.Random(seed)
    size = feed.stat().st_size
    found = []
    with open(feed, "rb") as stream:
        while len(found) < count:
            stream.seek(rng.randrange(max(size - 200, 1)))
            stream.readline()
            line = stream.readline().strip().decode()
            if line:
                found.append(line)
    return found


def drop_caches() -> bool:
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    return True


def write_config(directory: Path, db: Path, port: int) -> Path:
    # The upstream is a closed loopback port: a blocked name never goes there.
    config = directory / f"cold-start-{port}.toml"
    config.write_text(f"""
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
[upstream]
servers = ["127.0.0.1:9"]
[blocklists]
db = "{db}"

[querylog]
path = "{directory / 'cold-start-querylog.db'}"
[admin]
listen = ""
[sinkhole]
ipv4 = "{SINKHOLE}"
""")
    return config


def first_blocked_answer(port: int, name: str, started: float, deadline: float) -> float | None:
    """Seconds from `started` to the first reply to an A query for `name` that holds the sinkhole address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.005)
        while time.monotonic() < deadline:
            query = dns.message.make_query(name, dns.rdatatype.A)
            client.sendto(query.to_wire(), ("127.0.0.1", port))
            try:
                while True:
                    data = client.recv(4096)
                    reply = dns.message.from_wire(data)
                    addresses = [item.address for rrset in reply.answer for item in rrset
                                 if rrset.rdtype == dns.rdatatype.A]
                    if SINKHOLE in addresses and reply.question[0].name.to_text().rstrip(".") == name:
                        return time.monotonic() - started
            except (TimeoutError, ConnectionRefusedError):
                pass   # not listening yet, or no answer within 5 ms: ask again
            except dns.exception.DNSException:
                pass
    return None


def serve_environment(directory: Path) -> dict[str, str]:
    """The environment of `serve`: bytecode cached as an installed fraudwall has it (under --dir, not in the
    checkout), whatever the caller's PYTHONDONTWRITEBYTECODE says."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(directory / "pycache")
    return environment


def one_round(directory: Path, db: Path, name: str, cold: bool, timeout: float) -> tuple[str, float | None]:
    dropped = drop_caches() if cold else False
    port = random.randrange(20000, 60000)
    config = write_config(directory, db, port)
    command = [str(ROOT / ".venv" / "bin" / "fraudwall"), "serve", "--config", str(config)]
    started = time.monotonic()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                              env=serve_environment(directory))
    try:
        seconds = first_blocked_answer(port, name, started, started + timeout)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, errors = server.communicate()
        config.unlink()
    if seconds is None:
        print(f"no blocked answer for {name} within {timeout} s; serve said:\n{errors.decode()[-2000:]}",
              file=sys.stderr)
    return ("cold" if dropped else "warm"), seconds


NOT_COUNTED = "not counted: writes the bytecode cache, imports the demo list if the store lacks it"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=25_000_000, help="names in the store (default 25 M)")
    parser.add_argument("--dir", default="/tmp/fraudwall-cold-start", help="where the feed and store go")
    parser.add_argument("--rounds", type=int, default=3, help="cold starts (then one warm)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for each step")
    parser.add_argument("--keep", action="store_true", help="keep the feed and the store for the next run")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    occasion = begin("cold_start", argv)
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(directory).free < args.names * 150:
        print(f"not enough disk in {directory}: want {args.names * 150 / 1e9:.1f} GB", file=sys.stderr)
        return 1
    feed, db = build(directory, args.names, args.timeout)
    names = listed_names(feed, args.rounds + 2, seed=args.names)
    # Not counted: the first start after an import writes the bytecode cache and imports the config's
    # `files` (the demo list) into the store, which a server does once, not at each start.
    cache, seconds = one_round(directory, db, names.pop(), True, min(args.timeout, 120.0))
    rows = [(0, cache, seconds, os.getloadavg()[0])]
    for index, name in enumerate(names):
        cache, seconds = one_round(directory, db, name, index < args.rounds, min(args.timeout, 60.0))
        rows.append((index + 1, cache, seconds, os.getloadavg()[0]))
    print(f"store: {args.names} names ({db})")
    print(f"{'round':>5} {'cache':>5} {'first blocked answer s':>22} {'load':>5}")
    for index, cache, seconds, load in rows:
        print(f"{index:>5} {cache:>5} {'none' if seconds is None else f'{seconds:.2f}':>22} {load:>5.1f}"
              + (f"   {NOT_COUNTED}" if index == 0 else ""))
    where = filesystem(directory)
    if not args.keep:
        shutil.rmtree(directory / f"store-{args.names}", ignore_errors=True)
        feed.unlink(missing_ok=True)
    publish("cold-start", "Cold start: the first blocked answer (`benchmarks/cold_start.py`)",
            report(rows, args.names, where, occasion, os.getloadavg()[0]), args.no_write)
    return 0 if all(seconds is not None for _, _, seconds, _ in rows[1:]) else 1


def report(rows: list[tuple[int, str, float | None, float]], names: int, where: str, occasion: Occasion,
           end_load: float) -> str:
    """The `cold-start` section of RESULTS.md: the printed table, the median of the cold rounds, what limits it."""
    counted = [seconds for index, cache, seconds, _ in rows if index and cache == "cold" and seconds is not None]
    dropped = any(cache == "cold" for _, cache, _, _ in rows)
    lines = [
        *opening(occasion, [f"SQLite {sqlite3.sqlite_version}"], end_load),
        f"`fraudwall serve` on a store of {names:,} random fraud-like names (import_command.py's, imported with "
        f"`fraudwall import`) on {where}: one worker, the upstream a closed loopback port (a blocked name never "
        'goes there), `[admin] listen = ""` (no /metrics listener), the rest as shipped (scorer mode block, newly '
        "observed domains on, query log on). Seconds from spawning the command to the first reply holding the "
        "sinkhole address for an A query sent every 5 ms for a listed name (a new one each round). "
        + ("Each cold round drops the page cache first (`sync; echo 3 > /proc/sys/vm/drop_caches`); the last "
           "round keeps it warm." if dropped else
           "**The page cache was not dropped** (not run as root): every round is warm, and the figure is not a "
           "cold start's."),
        "",
        "| round | page cache | first blocked answer s | load after |",
        "|---:|---|---:|---:|",
        *(f"| {index} | {cache}{'' if index else f' ({NOT_COUNTED})'} | "
          f"{'none' if seconds is None else f'{seconds:.2f}'} | {load:.2f} |" for index, cache, seconds, load in rows),
        "",
        (f"Cold rounds counted: {len(counted)}, median {statistics.median(counted):.2f} s, worst {max(counted):.2f} s."
         if counted else "No cold round counted."),
        "What limits the figure: the Python start and fraudwall's imports (from a bytecode cache), then, with the "
        "page cache cold, the disk: the store's pages each first lookup needs are read from it, so a slower disk "
        "or a busy one moves the cold rounds and not the warm one.",
    ]
    if any(seconds is None for index, _, seconds, _ in rows if index):
        lines.append("**A round got no blocked answer in time.**")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
