#!/usr/bin/env python3
"""First-seen cost: CPU microseconds a query costs the resolver when its name is new, in-process.

    .venv/bin/python benchmarks/first_seen_cost.py                    # ~2 minutes; writes RESULTS.md
    .venv/bin/python benchmarks/first_seen_cost.py --count 5000 --repeat 1 --rows defaults
    .venv/bin/python benchmarks/first_seen_cost.py --upstream process --workloads unique,unique-sld
    .venv/bin/python benchmarks/first_seen_cost.py --profile /tmp/first.pstats --rows defaults

What it runs: the worker's own `Resolver` (server/worker.py), built from the bundled default config
as `serve` ships it (scorer mode block, newly observed domains on, the query log on, /metrics on, the
rate limit and the access stage as shipped), over a store in a temporary directory holding the demo list and `--listed` fraud-like
names (blocklist_scale.py's). Datagrams go into `QueryHandler.handle` as the UDP server hands them
over, from 127.0.0.1, with EDNS as browsers' stub resolvers send it; no sockets. The upstream is a
stand-in at the end of the chain in place of the upstream stage: it answers every question NXDOMAIN
with an SOA at once, and the reply is walked and addressed to the client as the upstream stage does
(`scan_reply`, `for_client`); the forwarder's own cost (sockets, futures) is forward_cost.py's to show,
or this script's with `--upstream process`: the worker's own upstream stage then forwards to a responder
process on 127.0.0.1 (a random port in 20000-60000; NXDOMAIN with an SOA at once), `--concurrency`
queries in flight, and the figure is the whole forwarded query's CPU in this process (the responder's
is its own). The collector and the GIL are tuned as a worker's (`interpreter.settle`), under uvloop
when it is installed, as `serve` runs. Every `--flush` queries the replays counted are reported to the
observers and the query log's batch is taken and written to a SQLite file in the temporary directory
(what the worker does once a second, the write on its log thread): that CPU is counted too.

Workloads, `--count` queries each after a warm-up of `--count / 10` that is not counted:
  unique      names never asked before, under one zone (`miss-<row>-<N>.bench.example.org`, as
              resolver_qps.py's mix), forwarded: NXDOMAIN
  unique-sld  names never asked before, each its own registrable domain (`<word><word><word>.<tld>`)
  subdomain   random new subdomains of `--parents` listed names: the sinkhole answer
  cached      one name asked again and again (answered from the cache, then replayed)
  blocked     one listed name asked again and again

Rows: the shipped defaults, then the scorer, newly observed domains (`[nod]`), the query log and
/metrics switched off one at a time, then all four: the difference to the first row is what that part
costs. The figure is this
process's CPU time (user + system, all threads, `time.process_time`) over the counted queries,
divided by them, the least of `--repeat` runs (each on a fresh resolver and names of its own);
every query's answer is checked (kind and rcode), so a fast wrong answer shows.

Bounded: every workload stops at `--seconds` of wall time and says how far it got. Prints its table
and writes it to the `first-seen` section of benchmarks/RESULTS.md (with the command, the machine and
its load), unless `--no-write`; nothing else outside its temporary directory. Does not take
/tmp/fraudwall-bench.lock (CPU time, not wall time, is the figure, and a shared machine changes it
less), unless `--lock`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blocklist_scale import SEED, fraud_names
from forward_cost import start_upstream as start_responder
from harness import bench_lock
from section import Occasion, begin, opening, publish

from fraudwall.blocklists.guards import load_guards
from fraudwall.blocklists.importer import ImportRequest, import_list
from fraudwall.blocklists.opening import open_blocklist
from fraudwall.blocklists.seen import open_seen, seen_path
from fraudwall.resolver.config import Config, load
from fraudwall.resolver.dns.answer import Answer, Reply
from fraudwall.resolver.dns.chain import ReplySource, Stage
from fraudwall.resolver.dns.codec import HEADER, RD, RR_FIXED, Query, encode_name, for_client, make_opt, scan_reply
from fraudwall.resolver.dns.codes import AnswerKind, QType, Transport
from fraudwall.resolver.dns.upstream_policy import Upstream
from fraudwall.resolver.observe.querylog import QueryLog, QueryLogRecorder
from fraudwall.resolver.server import interpreter
from fraudwall.resolver.server.upstream import UpstreamStage
from fraudwall.resolver.server.worker import Resolver
from fraudwall.scoring.builds import summary as build_summary

try:
    import uvloop   # as `serve` runs when it is installed
    run_loop, LOOP = uvloop.run, f"uvloop {uvloop.__version__}"
except ImportError:
    run_loop, LOOP = asyncio.run, "asyncio"

CLIENT = "127.0.0.1"
ZONE = "bench.example.org"
# Ordinary words, three to a new registrable domain: 40 ** 3 * 8 names to draw from, none of them a
# brand or a machine-made shape (a counter in the name reads as a hash-like run to the scorer).
WORDS = ("river", "cloud", "panel", "north", "maple", "stone", "pixel", "harbor", "garden", "copper",
         "delta", "violet", "summit", "orbit", "canyon", "meadow", "lumen", "tiger", "falcon", "amber",
         "bakery", "cedar", "willow", "lantern", "pebble", "quartz", "saddle", "thistle", "velvet", "walnut",
         "anchor", "bridge", "candle", "fossil", "glacier", "hollow", "island", "jasper", "kettle", "ladder")
TLDS = ("com", "net", "org", "io", "de", "cn", "info", "app")
# The answer each workload must get: (answer kind, rcode of the reply).
EXPECTED = {"unique": ("answered", 3), "unique-sld": ("answered", 3), "subdomain": ("blocked", 0),
            "cached": ("cached", 3), "blocked": ("blocked", 0)}
WORKLOADS = tuple(EXPECTED)
WORKLOAD_SAID = {
    "unique": "a new name under one zone each query, forwarded (NXDOMAIN)",
    "unique-sld": "a new registrable domain each query (three ordinary words), forwarded: the scorer and newly "
                  "observed domains see each for the first time",
    "subdomain": "a new label under a listed name (the sinkhole answer)",
    "cached": "one name again and again (from the cache)",
    "blocked": "one listed name again and again",
}
ROWS = {
    "defaults": {},
    "scorer off": {"scorer": {"mode": "off"}},
    "nod off": {"nod": {"enabled": False}},
    "query log off": {"querylog": {"enabled": False}},
    "metrics off": {"admin": {"listen": ""}},
    "all off": {"scorer": {"mode": "off"}, "nod": {"enabled": False}, "querylog": {"enabled": False},
                "admin": {"listen": ""}},
}
# What each row's parts are, for the RESULTS.md section.
PARTS = {
    "defaults": "the bundled config as shipped: scorer mode block, newly observed domains on (warn at 0.3), "
                "query log on, /metrics counted, rate limit and access as shipped",
    "scorer off": '`[scorer] mode = "off"`',
    "nod off": "`[nod] enabled = false`",
    "query log off": "`[querylog] enabled = false`",
    "metrics off": '`[admin] listen = ""` (nothing counted)',
    "all off": "the four above together",
}
# The stand-in upstream's SOA: owner the root, TTL and MINIMUM 300 (negative answers are cached).
SOA = (b"\x00" + RR_FIXED.pack(QType.SOA, 1, 300, 22) + b"\x00\x00"
       + (1).to_bytes(4, "big") + (3600).to_bytes(4, "big") + (900).to_bytes(4, "big")
       + (604800).to_bytes(4, "big") + (300).to_bytes(4, "big"))


class NxdomainUpstream(ReplySource):
    """In place of the upstream stage: NXDOMAIN with an SOA for every question, at once, no sockets."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def fetch(self, query: Query) -> Reply:
        self.calls += 1
        wire = HEADER.pack(query.id, 0x8183 | (query.flags & RD), 1, 0, 1, 0) + query.question.lower() + SOA
        scan = scan_reply(wire)
        return Reply(Answer(AnswerKind.RESOLVED, for_client(wire, query)), scan)


def query_wire(name: str, ident: int, qtype: int = QType.A) -> bytes:
    """A query as a stub resolver sends it: RD, EDNS 1232, no DO."""
    return (HEADER.pack(ident, RD, 1, 0, 0, 1) + encode_name(name) + qtype.to_bytes(2, "big") + b"\x00\x01"
            + make_opt(False))


def label(rng: random.Random, length: int = 10) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))


def names_for(workload: str, count: int, tag: str, parents: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    if workload == "unique":
        return [f"miss-{tag}-{index}.{ZONE}" for index in range(count)]
    if workload == "unique-sld":
        words = len(WORDS)
        drawn = rng.sample(range(words ** 3 * len(TLDS)), count)
        return [f"{WORDS[n % words]}{WORDS[n // words % words]}{WORDS[n // words ** 2 % words]}."
                f"{TLDS[n // words ** 3]}" for n in drawn]
    if workload == "subdomain":
        return [f"{label(rng)}.{rng.choice(parents)}" for _ in range(count)]
    if workload == "cached":
        return [f"www.{ZONE}"] * count
    return [parents[0]] * count


def configured(base: Config, changes: dict) -> Config:
    for section, keys in changes.items():
        base = base.replace(section, **keys)
    return base


@dataclasses.dataclass
class Bench:
    """One row's resolver, with the worker's observers and the log writer, and the stand-in upstream
    (None: the worker's own upstream stage, forwarding to the responder process)."""

    resolver: Resolver
    recorder: QueryLogRecorder | None
    querylog: QueryLog | None
    upstream: NxdomainUpstream | None

    def close(self) -> None:
        if self.querylog is not None:
            self.querylog.close()
        if self.resolver.nod is not None:
            self.resolver.nod.seen.close()
        self.resolver.forwarder.close()
        self.resolver.blocklist.close()


def build(config: Config, work: Path, row_index: int, port: int | None = None) -> Bench:
    """What `Worker.start` builds; without `port`, with the stand-in upstream in place of the upstream stage."""
    blocklist = open_blocklist(config.blocklists, (config.sinkhole.ipv4, config.sinkhole.ipv6))
    recorder = querylog = None
    observers = []
    if config.querylog.enabled:
        querylog = QueryLog(work / f"querylog-{row_index}.db", config.querylog.retention_days,
                            config.querylog.max_rows, config.querylog.pseudonymise)
        recorder = QueryLogRecorder(config.querylog.log_all)
        observers.append(recorder.observe)
    # The memory of domains asked for, beside the store, as the worker opens it: shared by the runs, like
    # a server's file that has seen earlier traffic.
    seen = open_seen(seen_path(config.nod.path, config.blocklists.db), config.nod.size, config.nod.days) \
        if config.nod.enabled else None
    resolver = Resolver(config, blocklist, (Upstream("127.0.0.1", port or 9),), tuple(observers), seen)
    upstream = None
    if port is None:
        upstream = NxdomainUpstream()
        stage: Stage = resolver.chain
        while stage.next is not None and not isinstance(stage.next, UpstreamStage):
            stage = stage.next
        if stage.next is None:
            raise SystemExit("first_seen_cost: no upstream stage in the chain")
        stage.next = upstream
    # What `run` does once the worker has started: the collector and the GIL as a worker has them.
    interpreter.settle()
    return Bench(resolver, recorder, querylog, upstream)


async def run_queries(bench: Bench, wires: list[bytes], flush: int, deadline: float,
                      check: Callable[[bytes], None], concurrency: int) -> int:
    """Hand each datagram to the handler as the UDP server does, at most `concurrency` unanswered (only a
    forwarded query waits); the log batch is written every `flush` queries."""
    handler = bench.resolver.handler
    handle, udp = handler.handle, Transport.UDP
    recorder, querylog = bench.recorder, bench.querylog
    answered = 0
    issued = 0
    wake = asyncio.Event()

    def send(wire: bytes) -> None:
        nonlocal answered
        answered += 1
        check(wire)
        wake.set()

    async def wait_until(unanswered: int) -> bool:
        while issued - answered > unanswered:
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                return False
        return True

    for start in range(0, len(wires), flush):
        if time.monotonic() > deadline:
            break
        for wire in wires[start:start + flush]:
            if issued - answered >= concurrency and not await wait_until(concurrency - 1):
                break
            handle(wire, CLIENT, udp, send)
            issued += 1
        handler.report_replays()   # as the worker does every second, before it writes the log
        if recorder is not None and recorder.pending:
            querylog.write(recorder.take())
    await wait_until(0)
    handler.report_replays()
    if bench.upstream is not None and handler.pending:
        raise SystemExit("first_seen_cost: a query waited for something; the stand-in upstream answers at once")
    return answered


def checker(expected_rcode: int, seen: list[int]) -> Callable[[bytes], None]:
    def check(wire: bytes) -> None:
        seen[0] += 1
        if wire[3] & 0xF != expected_rcode:
            seen[1] += 1
    return check


async def measure(config: Config, work: Path, row_index: int, workload: str, count: int, parents: list[str],
                  flush: int, seconds: float, profile: cProfile.Profile | None, port: int | None,
                  concurrency: int) -> tuple[int, float, int]:
    """(queries counted, CPU seconds, wrong answers) for one workload on a fresh resolver."""
    bench = build(config, work, row_index, port)
    try:
        kind_name, rcode = EXPECTED[workload]
        warm = max(count // 10, 100)
        names = names_for(workload, warm + count, f"r{row_index}", parents, seed=row_index * 100 + len(workload))
        rng = random.Random(row_index)
        wires = [query_wire(name, rng.getrandbits(16)) for name in names]
        seen = [0, 0]
        deadline = time.monotonic() + seconds
        await run_queries(bench, wires[:warm], flush, deadline, checker(rcode, seen), concurrency)
        seen = [0, 0]
        kinds: dict[str, int] = {}

        def tally(query, answer, spent, count=1):
            kinds[answer.kind.value] = kinds.get(answer.kind.value, 0) + count

        handler = bench.resolver.handler
        handler.observers = (*handler.observers, tally)
        if profile is not None:
            profile.enable()
        cpu = time.process_time()
        done = await run_queries(bench, wires[warm:], flush, deadline, checker(rcode, seen), concurrency)
        cpu = time.process_time() - cpu
        if profile is not None:
            profile.disable()
        wrong = seen[1] + sum(number for kind, number in kinds.items() if kind != kind_name)
        if workload.startswith("unique") and bench.upstream is not None and bench.upstream.calls < done:
            wrong += done - bench.upstream.calls   # each unique name must reach the upstream
        return done, cpu, wrong
    finally:
        bench.close()


def make_store(work: Path, listed: int) -> tuple[Path, list[str]]:
    names = list(fraud_names(listed, SEED))
    feed = work / "fraud.txt"
    feed.write_text("\n".join(names) + "\n")
    db = work / "blocklists.db"
    import_list(db, ImportRequest("fraud", (str(feed),), format="domains", workers=1), load_guards())
    return db, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="queries counted per workload (default 20000)")
    parser.add_argument("--listed", type=int, default=100_000, help="listed names in the store (default 100000)")
    parser.add_argument("--parents", type=int, default=1_000,
                        help="listed names the subdomain workload picks from (default 1000)")
    parser.add_argument("--flush", type=int, default=10_000,
                        help="queries between two query-log writes (default 10000: a second at 10 k QPS)")
    parser.add_argument("--seconds", type=float, default=30.0, help="wall-time bound per run (default 30)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per cell, each on a fresh resolver and new names; the least CPU counts (default 3)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"rows to run, comma-separated ({', '.join(ROWS)})")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="workloads to run, comma-separated")
    parser.add_argument("--upstream", choices=("stand-in", "process"), default="stand-in",
                        help="stand-in: NXDOMAIN at once in-process, the query path alone (default); process: the "
                             "worker's own forwarder to forward_cost.py's NXDOMAIN responder on 127.0.0.1, so a "
                             "forwarded query's figure includes its sockets and futures")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="forwarded queries in flight with --upstream process (default 64)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the counted queries of every run into FILE")
    parser.add_argument("--lock", action="store_true", help="take /tmp/fraudwall-bench.lock first")
    parser.add_argument("--no-write", action="store_true",
                        help="print the table, leave RESULTS.md alone (so does --profile: its figures are cProfile's)")
    args = parser.parse_args(argv)
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    workloads = [workload.strip() for workload in args.workloads.split(",") if workload.strip()]
    for row in rows:
        if row not in ROWS:
            parser.error(f"--rows: no row {row!r} (rows: {', '.join(ROWS)})")
    for workload in workloads:
        if workload not in WORKLOADS:
            parser.error(f"--workloads: no workload {workload!r} (workloads: {', '.join(WORKLOADS)})")
    profile = cProfile.Profile() if args.profile else None
    lock = bench_lock("first_seen_cost.py") if args.lock else contextlib.nullcontext()
    results: dict[str, dict[str, tuple[int, float, int]]] = {}
    responder, port = start_responder(SOA) if args.upstream == "process" else (None, None)
    with lock, tempfile.TemporaryDirectory(prefix="fraudwall-first-seen-") as directory, \
            contextlib.ExitStack() as stop:
        if responder is not None:
            stop.callback(responder.wait)
            stop.callback(responder.kill)
        occasion = begin("first_seen_cost", argv)
        work = Path(directory)
        begun = time.perf_counter()
        db, listed = make_store(work, args.listed)
        print(f"first_seen_cost: store of {args.listed:,} listed names (and the demo list) made in "
              f"{time.perf_counter() - begun:.1f} s", flush=True)
        parents = random.Random(SEED).sample(listed, min(args.parents, len(listed)))
        base = load().replace("blocklists", db=str(db))
        for row_index, row in enumerate(rows):
            config = configured(base, ROWS[row])
            results[row] = {}
            for workload in workloads:
                runs = [run_loop(measure(config, work, row_index * args.repeat + run, workload, args.count,
                                         parents, args.flush, args.seconds, profile, port, args.concurrency))
                        for run in range(args.repeat)]
                # The least CPU per query of the runs: what other processes on the machine add only ever adds.
                result = min(runs, key=lambda run: run[1] / max(run[0], 1))
                result = (result[0], result[1], max(run[2] for run in runs))
                results[row][workload] = result
                done, cpu, wrong = result
                print(f"  {row:14} {workload:11} {cpu / max(done, 1) * 1e6:7.1f} CPU µs/query "
                      f"({done:,} queries{', %d WRONG' % wrong if wrong else ''})", flush=True)
        end_load = os.getloadavg()[0]
    if profile is not None:
        profile.dump_stats(args.profile)
    print()
    print(table(results, workloads))
    print(f"\n{measured(args, port is None)}\ncommand: {occasion.command}")
    publish("first-seen", "First-seen cost (`benchmarks/first_seen_cost.py`)",
            report(results, workloads, args, port is None, occasion, end_load), args.no_write or bool(args.profile))
    return 1 if any(wrong for row in results.values() for _, _, wrong in row.values()) else 0


def measured(args: argparse.Namespace, stand_in: bool) -> str:
    """What the figures are, in one sentence (printed under the table and in the section)."""
    upstream = ("an in-process NXDOMAIN stand-in" if stand_in
                else f"the forwarder to an NXDOMAIN responder process, {args.concurrency} in flight")
    return (f"CPU µs per query (user + system, time.process_time), {args.count:,} queries per cell after a warm-up, "
            f"least of {args.repeat} runs; {args.listed:,} listed names, subdomains of {args.parents:,} of them; "
            f"upstream: {upstream}; {LOOP}; the query path {build_summary()} (`make native`, resolver/README.md).")


def report(results: dict[str, dict[str, tuple[int, float, int]]], workloads: list[str], args: argparse.Namespace,
           stand_in: bool, occasion: Occasion, end_load: float) -> str:
    """The `first-seen` section of RESULTS.md: the machine, the command, the table and what limits it."""
    wrong = sum(cell[2] for cells in results.values() for cell in cells.values())
    lines = [
        *opening(occasion, [LOOP, f"SQLite {sqlite3.sqlite_version}"], end_load),
        measured(args, stand_in) + " Every answer is checked (kind and rcode); a cell that stopped at `--seconds` "
        "or got wrong answers shows how many queries it counted and how many were wrong.",
        "",
        table(results, workloads),
        "",
        "Rows (the difference to the first row is what that part costs): "
        + "; ".join(f"**{row}**: {PARTS[row]}" for row in results) + ".",
        "Workloads: " + "; ".join(f"**{workload}**: {WORKLOAD_SAID[workload]}" for workload in workloads) + ".",
        "What limits the figure: the query path's Python on one core of this CPU, in one process and thread. "
        "Datagrams go into `QueryHandler.handle` without sockets, so a server's UDP receive and send come on top "
        "(resolver_qps.py's CPU µs/query counts them); "
        + ("the upstream is a stand-in that answers at once, so a forwarded query's own sockets and futures are "
           "forward_cost.py's figure; " if stand_in else
           "the responder's CPU is its own process's, not counted, and it shares the machine's cores; ")
        + f"the query log's batch is written every {args.flush:,} queries and counted. CPU time moves less than "
        "wall time with other load, but a shared core's caches and clock still move it: the least of the runs "
        "counts." + (f" **{wrong} wrong answers.**" if wrong else ""),
    ]
    return "\n".join(lines) + "\n"


def table(results: dict[str, dict[str, tuple[int, float, int]]], workloads: list[str]) -> str:
    lines = ["| parts | " + " | ".join(workloads) + " |", "|---|" + "---:|" * len(workloads)]
    for row, cells in results.items():
        figures = []
        for workload in workloads:
            done, cpu, wrong = cells[workload]
            figure = f"{cpu / max(done, 1) * 1e6:.1f}"
            if done < next(iter(cells.values()))[0] or wrong:
                figure += f" ({done:,}{', %d wrong' % wrong if wrong else ''})"
            figures.append(figure)
        lines.append(f"| {row} | " + " | ".join(figures) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
