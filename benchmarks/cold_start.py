"""`fraudwall serve` right after start on a big store, page cache cold: seconds to the first correct blocked
answer, then the QPS of listed names asked for the first time; against the same on a smaller store.

    .venv/bin/python benchmarks/cold_start.py --dir /tmp/fraudwall-import-bench --keep   # 25 M against 1 M (issue 14); writes RESULTS.md
    .venv/bin/python benchmarks/cold_start.py --names 300000 --compare-names 100000 --rounds 1 --qps-seconds 2 --no-write   # quick look
    .venv/bin/python benchmarks/cold_start.py --names 1000000 --compare-names 0 --rounds 5 --qps-seconds 0   # the first answer only
    .venv/bin/python benchmarks/cold_start.py --dir /tmp/h7 --rounds 3 --keep   # reuse the feeds and stores next time

Each store (--names, and --compare-names unless 0) is built once in --dir with
`benchmarks/import_command.py`'s random fraud-like names and `fraudwall import` (the time it took is
printed), and kept with --keep. Each round drops the page cache (as root: `sync; echo 3 >
/proc/sys/vm/drop_caches`; otherwise the round says "warm"), starts `fraudwall serve` (one worker,
shipped defaults otherwise, no NSD: the upstream is a closed port, which a blocked name never needs)
on a random loopback port, and sends an A query for a listed name every 5 ms until the answer is the
sinkhole's address. That figure includes the Python start, the imports (from a bytecode cache under
--dir, as an installed fraudwall has one), opening the store and the first lookups. Then, the server
pinned to core 0 from there on, `dnsperf -l S -c 4 -q 100` (S = --qps-seconds) on core 1 asks A
queries for listed names drawn from the feed with a fixed seed, each once in the run (enough
that none repeats in S seconds at 150 k QPS, when the store holds that many), so every query is a
first look-up in the store: QPS, lost queries and the server's CPU µs per answered query (its whole
process tree, /proc schedstat). An uncounted start comes first, also from a cold cache (round 0, no
QPS run: it writes that bytecode cache and imports the config's demo list into a store that lacks it,
as the first start after an import does, once); a last round runs with the cache warm, for
comparison. The stores take turns round by round. The figure issue 14 asks for is the ratio of the
median cold-round QPS of the big store to the small one's (target >= 0.5x at 25 M against 1 M).
Every step is bounded by --timeout, every dnsperf run by 120 s, and the rounds hold
/tmp/fraudwall-bench.lock so that no other benchmark runs beside them. The table goes to the
`cold-start` section of benchmarks/RESULTS.md (with the command, the machine, its load and the
stores' filesystem), unless `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.rdatatype

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import bench_lock, tree_schedstat, tree_threads  # noqa: E402
from import_command import ROOT, import_feed, write_feed  # noqa: E402
from resolver_qps import CLIENT_CORE, SERVER_CORE, dnsperf, require  # noqa: E402
from section import Occasion, begin, filesystem, opening, publish  # noqa: E402

SINKHOLE = "0.0.0.0"
# Names a QPS run may need: more than one dnsperf thread sends in a second (~130 k), so none repeats.
QPS_CEILING = 150_000
# Issue 14: the big store's cold QPS over the small one's.
TARGET = 0.5
DNSPERF_SECONDS = 100   # resolver_qps's runner gives dnsperf 120 s in all


@dataclass(frozen=True)
class Throughput:
    """One dnsperf run over a round's names, right after the first blocked answer."""

    qps: float
    lost: int
    cpu_us: float    # the server's CPU (every process and thread) per answered query
    rcodes: str      # as dnsperf says them: anything but NOERROR is a name that was not blocked
    passes: float    # times dnsperf went through the file: above 1, names were asked again


@dataclass(frozen=True)
class Round:
    index: int                  # 0: not counted
    cache: str                  # "cold" or "warm"
    seconds: float | None       # to the first blocked answer; None: none in time
    load: float
    throughput: Throughput | None = None   # None: no QPS run (round 0, --qps-seconds 0, no first answer)


@dataclass(frozen=True)
class Series:
    """The rounds on one store."""

    names: int
    rounds: tuple[Round, ...]

    def cold_seconds(self) -> list[float]:
        return [r.seconds for r in self.rounds if r.index and r.cache == "cold" and r.seconds is not None]

    def cold_qps(self) -> list[float]:
        return [r.throughput.qps for r in self.rounds if r.index and r.cache == "cold" and r.throughput]


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


def line_count(feed: Path) -> int:
    with open(feed, "rb") as stream:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 24), b""))


def distinct_names(feed: Path, counts: list[int], seed: int, exclude: set[str]) -> list[list[str]]:
    """For each of `counts`, that many distinct names of the feed (fewer when it has fewer), none of
    `exclude`, from lines drawn with `seed`, in a random order; the lists are drawn apart, so they may share
    names. One pass over the feed: 25 M names never sit in memory."""
    lines = line_count(feed)
    rng = random.Random(seed)
    # A few more lines than asked for: a feed repeats a name now and then, and `exclude` may be among them.
    wanted: dict[int, list[int]] = {}
    for which, count in enumerate(counts):
        for number in rng.sample(range(lines), min(lines, count + count // 100 + len(exclude) + 10)):
            wanted.setdefault(number, []).append(which)
    found: list[dict[str, None]] = [{} for _ in counts]
    with open(feed, "rb") as stream:
        for number, line in enumerate(stream):
            if number in wanted:
                name = line.strip().decode()
                if name and name not in exclude:
                    for which in wanted[number]:
                        found[which][name] = None
    picked = []
    for names, count in zip(found, counts):
        ordered = list(names)
        rng.shuffle(ordered)
        picked.append(ordered[:count])
    return picked


def query_files(directory: Path, feed: Path, names: int, files: int, seconds: int, probes: list[str]) -> list[Path]:
    """`files` dnsperf files of A queries in `directory`, one per counted round, each of distinct names of the
    feed (no probe among them), `seconds` * QPS_CEILING of them when the store has that many: within a run,
    every query is a first look-up. Rounds draw apart; a cold round starts from a dropped cache anyway."""
    each = min(seconds * QPS_CEILING, names - len(probes))
    paths = []
    for number, drawn in enumerate(distinct_names(feed, [each] * files, seed=names + 1, exclude=set(probes))):
        path = directory / f"queries-{names}-{number + 1}.txt"
        path.write_text("".join(f"{name} A\n" for name in drawn))
        paths.append(path)
    return paths


def drop_caches() -> bool:
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    return True


def write_config(directory: Path, db: Path, port: int, querylog: Path) -> Path:
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
path = "{querylog}"
[admin]
listen = ""
[sinkhole]
ipv4 = "{SINKHOLE}"
""")
    return config


def querylog_path(directory: Path, names: int) -> Path:
    """Each store's own query log, so both go through the same rounds with the same history behind them."""
    return directory / f"cold-start-querylog-{names}.db"


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


def pin(pid: int, core: str) -> None:
    """Every thread of `pid`'s process tree onto `core`; what they start later inherits it. Done once the
    server answered, so the start itself runs as a user's does, and the QPS run as resolver_qps's: the
    server on one core, dnsperf on the other."""
    for thread in tree_threads(pid):
        try:
            os.sched_setaffinity(thread, {int(core)})
        except OSError:
            pass   # it ended meanwhile


def throughput(pid: int, port: int, queries: Path, seconds: int, log: Path) -> Throughput | None:
    """dnsperf over `queries` for `seconds` against the server `pid` on `port`; None when dnsperf failed."""
    pin(pid, SERVER_CORE)
    lines = len(queries.read_bytes().splitlines())   # also brings dnsperf's input, not the store, into memory
    cpu_before = tree_schedstat(pid)[0]
    try:
        run = dnsperf(port, queries, "-l", str(seconds), "-c", "4", "-q", "100", log=log, cores=CLIENT_CORE)
    except (RuntimeError, subprocess.TimeoutExpired) as failed:
        print(f"cold_start: dnsperf gave no figure: {str(failed).splitlines()[0]}", file=sys.stderr)
        return None
    cpu_us = (tree_schedstat(pid)[0] - cpu_before) * 1e6 / max(run.completed, 1)
    return Throughput(run.qps, run.lost, cpu_us, run.rcodes, run.sent / max(lines, 1))


def one_round(directory: Path, db: Path, names: int, index: int, probe: str, cold: bool, timeout: float,
              queries: Path | None, qps_seconds: int) -> Round:
    dropped = drop_caches() if cold else False
    port = random.randrange(20000, 60000)
    config = write_config(directory, db, port, querylog_path(directory, names))
    command = [str(ROOT / ".venv" / "bin" / "fraudwall"), "serve", "--config", str(config)]
    started = time.monotonic()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                              env=serve_environment(directory))
    measured = None
    try:
        seconds = first_blocked_answer(port, probe, started, started + timeout)
        if seconds is not None and queries is not None:
            measured = throughput(server.pid, port, queries, qps_seconds,
                                  directory / "dnsperf" / f"{names}-{index}.txt")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, errors = server.communicate()
        config.unlink()
    if seconds is None:
        print(f"no blocked answer for {probe} within {timeout} s; serve said:\n{errors.decode()[-2000:]}",
              file=sys.stderr)
    return Round(index, "cold" if dropped else "warm", seconds, os.getloadavg()[0], measured)


def serve_environment(directory: Path) -> dict[str, str]:
    """The environment of `serve`: bytecode cached as an installed fraudwall has it (under --dir, not in the
    checkout), whatever the caller's PYTHONDONTWRITEBYTECODE says."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(directory / "pycache")
    return environment


NOT_COUNTED = "not counted: writes the bytecode cache, imports the demo list if the store lacks it"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=25_000_000, help="names in the store (default 25 M)")
    parser.add_argument("--compare-names", type=int, default=1_000_000,
                        help="names in the store to compare with (default 1 M; 0: none)")
    parser.add_argument("--dir", default="/tmp/fraudwall-cold-start", help="where the feeds and stores go")
    parser.add_argument("--rounds", type=int, default=3, help="cold starts (then one warm)")
    parser.add_argument("--qps-seconds", type=int, default=5,
                        help=f"seconds of dnsperf after each counted round's first answer (default 5; 0: none; "
                             f"at most {DNSPERF_SECONDS})")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for each step")
    parser.add_argument("--keep", action="store_true", help="keep the feeds and the stores for the next run")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 0 <= args.qps_seconds <= DNSPERF_SECONDS:
        parser.error(f"--qps-seconds: 0 to {DNSPERF_SECONDS}, not {args.qps_seconds}")
    if args.rounds < 1 or args.names < 1 or args.compare_names < 0:
        parser.error("--rounds and --names: at least 1; --compare-names: 0 or more")
    if args.compare_names == args.names:
        parser.error(f"--compare-names: a store other than --names' {args.names}, or 0")
    if args.qps_seconds and (os.cpu_count() or 1) < 2:
        parser.error("--qps-seconds needs 2 cores (the server on one, dnsperf on the other); 0 runs without")
    if args.qps_seconds:
        require("dnsperf")
    sizes = [args.names] + ([args.compare_names] if args.compare_names else [])
    occasion = begin("cold_start", argv)
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(directory).free < sum(sizes) * 150:
        print(f"not enough disk in {directory}: want {sum(sizes) * 150 / 1e9:.1f} GB", file=sys.stderr)
        return 1
    (directory / "dnsperf").mkdir(exist_ok=True)
    stores, probes, queries = {}, {}, {}
    for names in sizes:
        feed, db = build(directory, names, args.timeout)
        stores[names] = (feed, db)
        # Read before any cache is dropped: the feed is the benchmark's, not the server's.
        probes[names] = listed_names(feed, args.rounds + 2, seed=names)
        queries[names] = (query_files(directory, feed, names, args.rounds + 1, args.qps_seconds, probes[names])
                          if args.qps_seconds else [])
    rounds: dict[int, list[Round]] = {names: [] for names in sizes}
    try:
        with bench_lock("cold_start"):
            # Round 0 of each store, not counted: the first start after an import writes the bytecode cache
            # and imports the config's `files` (the demo list) into the store, which a server does once.
            # Then the stores take turns, so a drift of the machine falls on both alike.
            for index in range(args.rounds + 2):
                for names in sizes:
                    _, db = stores[names]
                    queries_file = queries[names][index - 1] if index and queries[names] else None
                    timeout = min(args.timeout, 120.0 if index == 0 else 60.0)
                    rounds[names].append(one_round(directory, db, names, index, probes[names][index],
                                                   index <= args.rounds, timeout, queries_file, args.qps_seconds))
    finally:
        for path in [file for files in queries.values() for file in files]:
            path.unlink(missing_ok=True)
        for names in sizes:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{querylog_path(directory, names)}{suffix}").unlink(missing_ok=True)
    series = [Series(names, tuple(rounds[names])) for names in sizes]
    print(printed(series))
    where = filesystem(directory)
    if not args.keep:
        for names in sizes:
            shutil.rmtree(directory / f"store-{names}", ignore_errors=True)
            stores[names][0].unlink(missing_ok=True)
        shutil.rmtree(directory / "dnsperf", ignore_errors=True)
    publish("cold-start", "Cold start: the first blocked answer and the QPS right after (`benchmarks/cold_start.py`)",
            report(series, args.qps_seconds, where, occasion, os.getloadavg()[0]), args.no_write)
    answered = all(r.seconds is not None for one in series for r in one.rounds[1:])
    measured = not args.qps_seconds or all(r.throughput for one in series for r in one.rounds[1:])
    return 0 if answered and measured else 1


def cell(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def printed(series: list[Series]) -> str:
    """The table on the terminal: a line a round, the stores in turn."""
    lines = [f"{'names':>10} {'round':>5} {'cache':>5} {'first answer s':>14} {'QPS':>9} {'lost':>7} "
             f"{'CPU µs/q':>8} {'load':>5}  rcodes"]
    for one in series:
        for r in one.rounds:
            t = r.throughput
            lines.append(f"{one.names:>10} {r.index:>5} {r.cache:>5} {cell(r.seconds, '.2f'):>14} "
                         f"{cell(t and t.qps, ',.0f'):>9} {cell(t and t.lost, 'd'):>7} "
                         f"{cell(t and t.cpu_us, '.1f'):>8} {r.load:>5.1f}  {t.rcodes if t else ''}"
                         + (f"   {NOT_COUNTED}" if r.index == 0 else ""))
    verdict = target_line(series)
    return "\n".join(lines + ([verdict] if verdict else []))


def target_line(series: list[Series]) -> str:
    """Issue 14's figure: the big store's median cold QPS over the small store's, against the target."""
    if len(series) < 2:
        return ""
    big, small = series[0], series[1]
    if not big.cold_qps() or not small.cold_qps():
        return (f"No cold QPS on both stores: no ratio {big.names:,} / {small.names:,} names against issue 14's "
                f">= {TARGET}x.")
    ours, theirs = statistics.median(big.cold_qps()), statistics.median(small.cold_qps())
    ratio = ours / theirs
    return (f"Cold QPS, {big.names:,} names / {small.names:,} names: {ratio:.2f}x ({ours:,.0f} / {theirs:,.0f} QPS, "
            f"medians of the cold rounds); issue 14's target (25 M against 1 M) >= {TARGET}x: "
            f"{'met' if ratio >= TARGET else 'NOT met'}.")


def not_blocked(rcodes: str) -> bool:
    """dnsperf's response codes hold something besides NOERROR: a name was forwarded to the closed upstream."""
    return bool(set(re.findall(r"([A-Z]+) \d+", rcodes)) - {"NOERROR"})


def report(series: list[Series], qps_seconds: int, where: str, occasion: Occasion, end_load: float) -> str:
    """The `cold-start` section of RESULTS.md: the printed table, the medians of the cold rounds, the ratio
    issue 14 asks for, what limits them."""
    rounds = [r for one in series for r in one.rounds]
    dropped = any(r.cache == "cold" for r in rounds)
    sizes = " and ".join(f"{one.names:,}" for one in series)
    lines = [
        *opening(occasion, [f"SQLite {sqlite3.sqlite_version}"], end_load),
        f"`fraudwall serve` on stores of {sizes} random fraud-like names (import_command.py's, imported with "
        f"`fraudwall import`) on {where}: one worker, the upstream a closed loopback port (a blocked name never "
        'goes there), `[admin] listen = ""` (no /metrics listener), the rest as shipped (scorer mode block, newly '
        "observed domains on, query log on, one log per store). First answer: seconds from spawning the command "
        "to the first reply holding the sinkhole address for an A query sent every 5 ms for a listed name (a new "
        "one each round). "
        + (f"QPS: right after that answer, the server pinned to core {SERVER_CORE}, `dnsperf -l {qps_seconds} -c 4 "
           f"-q 100` on core {CLIENT_CORE} over A queries for listed names drawn from the feed with a fixed seed, "
           "each asked once in the run, so every query is a first look-up in the store; lost queries; "
           "CPU: the server's CPU time (every process and thread, /proc schedstat) over the run per answered "
           "query. " if qps_seconds else "No QPS runs (`--qps-seconds 0`). ")
        + ("Each cold round drops the page cache first (`sync; echo 3 > /proc/sys/vm/drop_caches`); the last "
           "round keeps it warm. The stores take turns round by round." if dropped else
           "**The page cache was not dropped** (not run as root): every round is warm, and the figure is not a "
           "cold start's."),
        "",
        "| names | round | page cache | first blocked answer s | QPS | lost | CPU µs/query | load after |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for one in series:
        for r in one.rounds:
            t = r.throughput
            lines.append(f"| {one.names:,} | {r.index} | {r.cache}{'' if r.index else f' ({NOT_COUNTED})'} | "
                         f"{cell(r.seconds, '.2f')} | {cell(t and t.qps, ',.0f')} | {cell(t and t.lost, ',d')} | "
                         f"{cell(t and t.cpu_us, '.1f')} | {r.load:.2f} |")
    lines.append("")
    for one in series:
        seconds, qps = one.cold_seconds(), one.cold_qps()
        said = (f"{one.names:,} names: cold rounds counted {len(seconds)}, first answer median "
                f"{statistics.median(seconds):.2f} s, worst {max(seconds):.2f} s" if seconds else
                f"{one.names:,} names: no cold round counted")
        if qps:
            said += f"; cold QPS median {statistics.median(qps):,.0f}, lowest {min(qps):,.0f}"
        lines.append(said + ".")
    verdict = target_line(series)
    if verdict:
        lines.append(verdict)
    lines.append(
        "What limits the figures: the Python start and fraudwall's imports (from a bytecode cache), then, with the "
        "page cache cold, the disk: the store's pages each first look-up needs are read from it, so a slower disk "
        "or a busy one moves the cold rounds and not the warm one; the more names, the more pages a run of first "
        "look-ups touches. dnsperf's one thread sends at most ~130 k QPS here: a QPS near that is the client's.")
    if any(r.seconds is None for r in rounds if r.index):
        lines.append("**A round got no blocked answer in time.**")
    if qps_seconds and any(r.throughput is None for r in rounds if r.index):
        lines.append("**A round got no QPS figure** (no first answer, or dnsperf failed).")
    if any(r.throughput and r.throughput.passes > 1 for r in rounds):
        lines.append("**A round's names ran out before dnsperf stopped** (a store too small for the rate): it "
                     "asked them again, so not every query was a first look-up.")
    if any(r.throughput and not_blocked(r.throughput.rcodes) for r in rounds):
        lines.append("**Some answers were not NOERROR**: a listed name was not blocked (the closed upstream "
                     "answers nothing).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
