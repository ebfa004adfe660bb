#!/usr/bin/env python3
"""Blocklist QPS: fraudwall answering from a 1 M / 5 M / 25 M name store, next to itself with an empty
list, Unbound and dnsmasq loaded with the same list, in the same run.

    .venv/bin/python benchmarks/blocklist_qps.py                       # ~25 minutes; writes RESULTS.md
    .venv/bin/python benchmarks/blocklist_qps.py --sizes 1000000 --duration 3 --no-write   # quick look

Per size: the list (blocklist_scale.py's generated fraud-like names) is imported once into a fresh
fraudwall store (`fraudwall import FILE --list fraud --format domains`), and written as an Unbound
include (`local-zone: "NAME." always_nxdomain`) and a dnsmasq conf-file (`address=/NAME/0.0.0.0`).
Then fraudwall with an empty store, fraudwall with the list, Unbound and dnsmasq are started side by
side, each pinned to core 0 (dnsperf and the NSD upstream on core 1), and timed from start to their
first answer (Unbound and dnsmasq get a load deadline and an RSS cap and are killed beyond them).
They are measured with saturating `dnsperf -l DURATION -c 4 -q 100` runs over four workloads, one
server at a time, in rounds: within a round each workload's runs alternate between the servers, so
that a burst of load on this shared machine falls on all of them alike; each server's median run
counts (the upper middle one for an even number of rounds).

The whole run holds /tmp/fraudwall-bench.lock (taken here; an inherited lock from `flock(1)` counts).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import blocklist_scale
from resolver_qps import (
    CLIENT_CORE,
    RESULTS,
    ROOT,
    SERVER_CORE,
    ZONE,
    Run,
    cached_queries,
    dnsperf,
    fraudwall_argv,
    fraudwall_config,
    platform_line,
    require,
    unbound_config,
    zone_text,
)

from harness import bench_lock, vm_rss_kib
from results import write_section
from tests.e2e.peers import Process, free_port, start_nsd

SAMPLE_SEED = 7
WORKLOADS = {
    "allowed": "allowed, cached",
    "uncached": "allowed, not cached",
    "blocked": "blocked",
    "blocked-sub": "blocked subdomains",
}
SERVERS = ("fraudwall-empty", "fraudwall", "unbound", "dnsmasq")


@dataclass
class Result:
    size: int
    server: str
    status: str = "ok"                 # or why it has no figures
    ready_s: float | None = None       # start to first answer
    peak_load_kib: int = 0             # highest VmRSS seen while loading
    rss_kib: int = 0                   # VmRSS after the runs
    runs: dict[str, Run] = field(default_factory=dict)
    passes: dict[str, float] = field(default_factory=dict)
    prepare: str = ""                  # import time or list file size
    lost: int = 0                      # over every run
    rounds: dict[str, list[float]] = field(default_factory=dict)  # QPS of each round, by workload


# ---------------------------------------------------------------- inputs

def feed_for(count: int, work: Path, made: list[Path]) -> Path:
    """blocklist_scale's feed of `count` names: its kept copy when there is one, else generated here."""
    shared = blocklist_scale.OUT / f"domains-{count}.txt"
    if shared.exists():
        return shared
    path = work / f"domains-{count}.txt"
    blocklist_scale.generate(path, count)
    made.append(path)
    return path


def write_lists(feed: Path, count: int, work: Path, sample_size: int) -> tuple[Path, Path, list[str]]:
    """One pass over the feed: the Unbound include, the dnsmasq conf-file and a random sample of names."""
    rng = random.Random(SAMPLE_SEED)
    wanted = iter(sorted(rng.sample(range(count), sample_size)))
    next_index = next(wanted, None)
    unbound_list, dnsmasq_list = work / f"unbound-{count}.conf", work / f"dnsmasq-{count}.conf"
    sample: list[str] = []
    offset = 0
    with open(feed) as source, open(unbound_list, "w") as unbound, open(dnsmasq_list, "w") as dnsmasq:
        unbound.write("server:\n")
        while True:
            lines = source.readlines(1 << 22)
            if not lines:
                break
            names = [line.strip() for line in lines]
            unbound.write("".join(f'    local-zone: "{name}." always_nxdomain\n' for name in names))
            dnsmasq.write("".join(f"address=/{name}/0.0.0.0\n" for name in names))
            while next_index is not None and next_index < offset + len(names):
                sample.append(names[next_index - offset])
                next_index = next(wanted, None)
            offset += len(names)
    if offset != count:
        raise RuntimeError(f"{feed} has {offset} names, not {count}")
    rng.shuffle(sample)
    return unbound_list, dnsmasq_list, sample


def write_queries(path: Path, lines: list[str] | range, line) -> Path:
    with open(path, "w") as stream:
        stream.write("".join(f"{line(item)} A\n" for item in lines))
    return path


# ---------------------------------------------------------------- servers

def probe(port: int, wire: bytes) -> bool:
    """One query over a connected socket: refused at once while nothing listens, no 0.2 s wait."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.05)
        try:
            sock.connect(("127.0.0.1", port))
            sock.send(wire)
            return len(sock.recv(4096)) > 0
        except OSError:
            return False


def launch(name: str, argv: list[str], port: int, directory: Path, deadline: float, cap_kib: int,
           result: Result) -> Process | None:
    """Start a server, wait for its first answer; None (and result.status says why) if it exits, runs past
    `deadline` seconds or grows above `cap_kib` before answering."""
    directory.mkdir(parents=True, exist_ok=True)
    process = Process(name, argv, port, directory, ZONE)
    wire = dns.message.make_query(ZONE, "SOA").to_wire()
    started = time.monotonic()
    earlier: list[tuple[float, int]] = []  # (seconds, RSS) seen, to tell whether it still grows
    with open(process.log_path, "ab") as log:
        process.process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=directory,
                                           start_new_session=True)
    while True:
        elapsed = time.monotonic() - started
        if process.process.poll() is not None:
            result.status = f"exited with {process.process.returncode} after {elapsed:.0f} s: {process.log()[-300:]}"
            return None
        try:
            rss = vm_rss_kib(process.pid)
        except OSError:
            rss = 0
        result.peak_load_kib = max(result.peak_load_kib, rss)
        earlier.append((elapsed, rss))
        if rss > cap_kib:
            process.stop()
            result.status = (f"killed while loading: RSS above {cap_kib / 1024 ** 2:.0f} GiB after {elapsed:.0f} s, "
                             "not answering yet")
            return None
        if elapsed > deadline:
            process.stop()
            before = next((kib for seconds, kib in reversed(earlier) if seconds <= elapsed - 5), 0)
            trend = f"{(rss - before) / 1024 / 5:,.0f} MiB/s more over the last 5 s" if rss > before else "not growing"
            result.status = f"did not load within {deadline:.0f} s (RSS then {rss / 1024 ** 2:.1f} GiB, {trend})"
            return None
        if probe(port, wire):
            result.ready_s = elapsed
            return process
        time.sleep(0.02)


def server_argv(server: str, directory: Path, port: int, nsd_port: int, db: Path, lists: dict[str, Path]) -> list[str]:
    pin = ["taskset", "-c", SERVER_CORE]
    if server.startswith("fraudwall"):
        directory.mkdir(parents=True, exist_ok=True)
        config = fraudwall_config(directory / "fraudwall.toml", port, nsd_port, db, [],
                                  extra='[scorer]\nmode = "off"\n')
        return [*pin, *fraudwall_argv(config, port, None), "--admin", ""]
    if server == "unbound":
        directory.mkdir(parents=True, exist_ok=True)
        config = unbound_config(directory, port, nsd_port, [])  # resolver_qps's forwarder; the list is included
        with open(config, "a") as stream:
            stream.write(f'include: "{lists["unbound"]}"\n')
        return [*pin, require("unbound"), "-d", "-c", str(config)]
    directory.mkdir(parents=True, exist_ok=True)
    return [*pin, require("dnsmasq"), "-k", "--no-resolv", "--no-hosts", f"--server=127.0.0.1#{nsd_port}",
            f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--cache-size=10000",
            f"--pid-file={directory / 'dnsmasq.pid'}", "--log-facility=-", f"--conf-file={lists['dnsmasq']}"]


def run_workload(result: Result, process: Process, workload: str, path: Path, args: argparse.Namespace, out: Path,
                 label: str) -> Run:
    run = dnsperf(process.port, path, "-l", str(args.duration), "-c", "4", "-q", "100", "-t", "2",
                  "-Q", str(args.max_qps), log=out / f"{result.server}-{result.size}-{label}.txt")
    if run.completed == 0:
        run.rcodes = "no answers"
    result.lost += run.lost
    with open(path) as stream:
        lines = sum(1 for _ in stream)
    result.passes[workload] = max(result.passes.get(workload, 0), run.sent / lines)
    print(f"    {result.server:16} {label:12} {run.qps:9,.0f} QPS  lost {run.lost}  passes {run.sent / lines:.2f}  "
          f"[{run.rcodes}]", flush=True)
    return run


def measure(group: list[tuple[Result, Process]], workloads: dict[str, list[Path]], args: argparse.Namespace,
            out: Path) -> None:
    """The servers of a group are all up (an idle one costs nothing but its memory); every workload's runs
    alternate between them, `args.rounds` rounds, and each server's median counts: the servers meet the
    same moments of machine load, so their ratios hold on a shared, noisy machine.

    `workloads` maps a workload to one query file per round (the unique-name workloads need fresh names
    each round, or a later round would be answered from the cache)."""
    for result, process in group:
        dnsperf(process.port, workloads["allowed"][0], "-n", "1", "-c", "4", "-q", "50",
                log=out / f"{result.server}-{result.size}-warm.txt")
    runs: dict[tuple[str, str], list[Run]] = {}
    for round_number in range(args.rounds):
        for workload in WORKLOADS:
            for result, process in group:
                if result.server == "fraudwall-empty" and workload in ("blocked", "blocked-sub"):
                    continue  # nothing is listed there
                path = workloads[workload][round_number % len(workloads[workload])]
                runs.setdefault((result.server, workload), []).append(
                    run_workload(result, process, workload, path, args, out, f"{workload}-{round_number + 1}"))
    for result, process in group:
        for workload in WORKLOADS:
            done = runs.get((result.server, workload))
            if done:
                ordered = sorted(done, key=lambda run: run.qps)
                result.runs[workload] = ordered[len(ordered) // 2]
                result.rounds[workload] = [run.qps for run in done]
        result.rss_kib = vm_rss_kib(process.pid)


def stop(process: Process) -> None:
    try:
        process.terminate(timeout=30)
    except subprocess.TimeoutExpired:
        pass  # terminate() killed it


# ---------------------------------------------------------------- the run

def run_all(args: argparse.Namespace, work: Path, started: float) -> tuple[list[Result], dict[int, dict]]:
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    warm = write_queries(work / "allowed.txt", cached_queries(), lambda line: line.rsplit(" ", 1)[0])
    unique = args.duration * 100_000  # a server at 100 000 QPS meets each name once
    uncached = [write_queries(work / f"uncached-{round_number}.txt", range(unique),
                              lambda index, r=round_number: f"nc{r}-{index}.{ZONE}")
                for round_number in range(args.rounds)]
    results: list[Result] = []
    sizes: dict[int, dict] = {}
    cap_kib = int(args.peer_cap_gb * 1024 ** 2)
    nsd = start_nsd(require("nsd"), work / "nsd", zone_text(), ZONE, ipv6=False, prefix=("taskset", "-c", CLIENT_CORE))
    try:
        for count in [int(size) for size in args.sizes.split(",")]:
            size_dir = work / f"size-{count}"
            size_dir.mkdir()
            feed = feed_for(count, work, made)
            print(f"{count:,} names: writing the Unbound and dnsmasq lists ...", flush=True)
            unbound_list, dnsmasq_list, sample = write_lists(feed, count, size_dir, args.sample)
            blocked = write_queries(size_dir / "blocked.txt", sample, str)
            blocked_sub = [write_queries(size_dir / f"blocked-sub-{round_number}.txt", range(2 * unique),
                                         lambda index, r=round_number, names=sample:
                                         f"u{r}-{index}.{names[index % len(names)]}")
                           for round_number in range(args.rounds)]
            db = size_dir / "store" / "blocklists.db"
            db.parent.mkdir()
            command = [str(Path(sys.executable).with_name("fraudwall")), "import", str(feed), "--list", "fraud",
                       "--db", str(db), "--format", "domains"]
            print(f"  {shlex.join(command)}", flush=True)
            begun = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.import_timeout,
                                  check=False)
            import_s = time.monotonic() - begun
            (out / f"import-{count}.txt").write_text(done.stdout + done.stderr)
            if done.returncode != 0:
                raise RuntimeError(f"import failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            print(f"  imported in {import_s:.1f} s", flush=True)
            sizes[count] = {"import_s": import_s, "unbound_mb": unbound_list.stat().st_size / 1e6,
                            "dnsmasq_mb": dnsmasq_list.stat().st_size / 1e6}
            lists = {"unbound": unbound_list, "dnsmasq": dnsmasq_list}
            workloads = {"allowed": [warm], "uncached": uncached, "blocked": [blocked], "blocked-sub": blocked_sub}
            # All servers up side by side: each workload's runs alternate between them (see measure).
            group: list[tuple[Result, Process]] = []
            try:
                for server in args.servers.split(","):
                    result = Result(count, server)
                    results.append(result)
                    result.prepare = {"fraudwall-empty": "empty store", "fraudwall": f"import {import_s:.0f} s",
                                      "unbound": f"{sizes[count]['unbound_mb']:,.0f} MB include",
                                      "dnsmasq": f"{sizes[count]['dnsmasq_mb']:,.0f} MB conf-file"}.get(server, "")
                    left = args.budget - (time.monotonic() - started)
                    if left < 120:
                        result.status = f"skipped: the run's {args.budget:.0f} s budget was nearly spent"
                        print(f"  {server}: {result.status}", flush=True)
                        continue
                    port = free_port()
                    directory = size_dir / server
                    store = size_dir / "empty" / "blocklists.db" if server == "fraudwall-empty" else db
                    store.parent.mkdir(parents=True, exist_ok=True)
                    argv = server_argv(server, directory, port, nsd.port, store, lists)
                    deadline = min(args.peer_deadline if server in ("unbound", "dnsmasq") else 60, left - 90)
                    print(f"  {server}: starting on 127.0.0.1:{port} (core {SERVER_CORE}) ...", flush=True)
                    process = launch(server, argv, port, directory, deadline, cap_kib, result)
                    if process is None:
                        print(f"  {server}: {result.status}", flush=True)
                        continue
                    print(f"  {server}: answering after {result.ready_s:.2f} s, RSS "
                          f"{vm_rss_kib(process.pid) / 1024:,.0f} MiB (peak while loading "
                          f"{result.peak_load_kib / 1024:,.0f} MiB)", flush=True)
                    group.append((result, process))
                if group:
                    measure(group, workloads, args, out)
            finally:
                for _, process in group:
                    stop(process)
            shutil.rmtree(size_dir, ignore_errors=True)  # the store and the lists: GBs at 25 M
    finally:
        nsd.stop()
        for path in made:
            path.unlink(missing_ok=True)
    return results, sizes


# ---------------------------------------------------------------- report

def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}" if kib else ""


def table(results: list[Result], sizes: dict[int, dict], args: argparse.Namespace, command: str, when: str,
          load: str) -> str:
    lines = [
        (f"Measured {when} on {os.cpu_count()} cores ({platform_line()}, dnsmasq {dnsmasq_version()}); "
         f"load average {load}."),
        "",
        f"Command: `{command}`",
        "",
        (f"The servers of a size are up side by side, all pinned to core {SERVER_CORE}, and queried one at a time; "
         f"dnsperf and NSD (the upstream, serving `{ZONE}`) on core {CLIENT_CORE}. QPS: `dnsperf -l {args.duration} "
         f"-c 4 -q 100` (saturation, at most 100 outstanding), A queries; each server's median run of {args.rounds} rounds (the upper middle one for an even count), "
         "each workload's runs alternating between the servers within a round, so that all of them meet the "
         "same moments of machine load. Ready: from starting the process to its first answer (for Unbound and "
         "dnsmasq: loading the list). RSS: VmRSS after the runs; peak: the highest VmRSS seen while loading. "
         "Lost: queries without an answer over all runs of the row."),
        "",
        ("| names | server | list | ready s | peak RSS while loading MiB | RSS after MiB | "
         + " | ".join(f"{label} QPS" for label in WORKLOADS.values()) + " | lost |"),
        "|---:|---|---|---:|---:|---:|" + "---:|" * len(WORKLOADS) + "---:|",
    ]
    for r in results:
        size = f"{r.size / 1e6:g} M"
        if r.status != "ok":
            lines.append(f"| {size} | {r.server} | {r.prepare} | {r.status} |" + " |" * (len(WORKLOADS) + 3))
            continue
        cells = []
        for workload in WORKLOADS:
            run = r.runs.get(workload)
            cells.append(f"{run.qps:,.0f}" if run else "-")
        lines.append(f"| {size} | {r.server} | {r.prepare} | {r.ready_s:.2f} | {mib(r.peak_load_kib)} | "
                     f"{mib(r.rss_kib)} | " + " | ".join(cells) + f" | {r.lost} |")
    lines += [
        "",
        ("Servers: **fraudwall-empty**: `fraudwall serve --config C --listen 127.0.0.1:P --admin \"\"` on a fresh "
         "store holding no list (`[blocklists] files = []`); **fraudwall**: the same on the store the list was "
         "imported into (`fraudwall import FEED --list fraud --db STORE --format domains`, the import time is "
         "in the list column). Both: one worker, `[scorer] mode = \"off\"` (this compares lists only), metrics "
         "off, answer cache 100 000, verdict cache at its default (65 536 names), query log on (the default). "
         "**unbound**: one thread, forwarder to the same NSD, the list as an included file of "
         "`local-zone: \"NAME.\" always_nxdomain` lines (NXDOMAIN for the name and everything below it; "
         "fraudwall answers 0.0.0.0 instead, a reply of about the same size). **dnsmasq**: `dnsmasq -k "
         "--no-resolv --no-hosts --server=127.0.0.1#NSD --cache-size=10000 --conf-file=F` with "
         "`address=/NAME/0.0.0.0` lines (the name and everything below it; `--addn-hosts` would load faster "
         "but matches exact names only). Unbound and dnsmasq get "
         f"{args.peer_deadline:.0f} s to answer and are killed above {args.peer_cap_gb:g} GiB of RSS."),
        "",
        (f"Workloads: **allowed, cached**: the 1000 names of the zone, after one warm-up pass (so answered "
         f"from the cache, or by fraudwall from its kept replies to the same bytes, which a list change clears); "
         f"**allowed, not cached**: unique names `ncR-N.{ZONE}` ({args.duration * 100_000:,} a round, new ones "
         f"each round; NXDOMAIN from NSD, forwarded every time); **blocked**: a random sample of "
         f"{args.sample:,} listed names (seed {SAMPLE_SEED}), repeated: after the first pass fraudwall answers "
         "them from its kept replies; **blocked subdomains**: unique `uR-N.LISTED` names over the same sample "
         f"({args.duration * 200_000:,} a round), so every query is read, checked through the Bloom filter "
         "(and SQLite for the listed parent, whose entries are then remembered) and logged."),
    ]
    rounds = [f"{r.server} {r.size / 1e6:g} M {WORKLOADS[workload]} " + " / ".join(f"{qps:,.0f}" for qps in qps_list)
              for r in results for workload, qps_list in r.rounds.items() if len(qps_list) > 1]
    if rounds:
        lines.append("Each round: " + "; ".join(rounds) + ".")
    # Only these repeats matter: Unbound and dnsmasq answer listed names from their lists, never a cache.
    repeats = [f"{r.server} {r.size / 1e6:g} M {workload} {r.passes[workload]:.2f}" for r in results
               for workload in ("uncached", "blocked-sub") if r.passes.get(workload, 0) > 1
               and (workload == "uncached" or r.server == "fraudwall")]
    if repeats:
        lines.append("Unique-name files went round more than once (later passes were cache hits): "
                     + ", ".join(repeats) + ".")
    odd = [f"{r.server} {r.size / 1e6:g} M {workload}: {run.rcodes}" for r in results
           for workload, run in r.runs.items() if not expected_rcodes(r.server, workload, run.rcodes)]
    if odd:
        lines.append("Unexpected response codes: " + "; ".join(odd) + ".")
    lines += ["", "Targets:", ""]
    by_key = {(r.size, r.server): r for r in results if r.status == "ok"}
    for count in sizes:
        empty, fraudwall, unbound = (by_key.get((count, server)) for server in ("fraudwall-empty", "fraudwall", "unbound"))
        parts = []
        if fraudwall and empty:
            for workload in ("allowed", "uncached"):
                ratio = fraudwall.runs[workload].qps / empty.runs[workload].qps
                label = WORKLOADS[workload]
                verdict = ("met" if ratio >= 0.9 else "NOT met") if workload == "allowed" else "for information"
                parts.append(f"{label} {ratio:.2f}x the empty list's ({verdict})")
        if fraudwall and unbound:
            for workload in ("blocked", "blocked-sub"):
                ratio = fraudwall.runs[workload].qps / unbound.runs[workload].qps
                verdict = ("met" if ratio >= 0.6 else "NOT met") if workload == "blocked" else "for information"
                parts.append(f"{WORKLOADS[workload]} {ratio:.2f}x Unbound's ({verdict})")
        elif fraudwall:
            parts.append("blocked against Unbound: no Unbound figure at this size")
        lines.append(f"- {count / 1e6:g} M: " + ("; ".join(parts) if parts else "no figures") + ".")
    lines += ["", "(allowed, cached: within 10 % of the empty list, i.e. >= 0.90x; blocked: >= 0.6x Unbound's.)"]
    return "\n".join(lines) + "\n"


def expected_rcodes(server: str, workload: str, rcodes: str) -> bool:
    if workload in ("allowed",):
        return rcodes.startswith("NOERROR") and "," not in rcodes
    if workload == "uncached" or server == "unbound":
        return rcodes.startswith("NXDOMAIN") and "," not in rcodes
    return rcodes.startswith("NOERROR") and "," not in rcodes


def dnsmasq_version() -> str:
    try:
        output = subprocess.run([require("dnsmasq"), "--version"], capture_output=True, text=True, timeout=5,
                                check=False).stdout
        return output.split()[2]
    except (OSError, IndexError):
        return "?"


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000,25000000", help="names in the list, comma-separated")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated, in order ({', '.join(SERVERS)})")
    parser.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run (default 5)")
    parser.add_argument("--max-qps", type=int, default=200_000, help="dnsperf -Q cap")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every workload, alternated between the "
                                                                 "servers; the median counts (default 3)")
    parser.add_argument("--sample", type=int, default=10_000, help="listed names in the blocked workloads")
    parser.add_argument("--peer-deadline", type=float, default=180.0, help="seconds Unbound/dnsmasq get to load")
    parser.add_argument("--peer-cap-gb", type=float, default=12.0, help="GiB of RSS above which a peer is killed")
    parser.add_argument("--import-timeout", type=float, default=600.0, help="seconds for one fraudwall import")
    parser.add_argument("--budget", type=float, default=1740.0, help="seconds for the whole run (servers left "
                                                                       "when it is nearly spent are skipped)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the dnsperf outputs there")
    args = parser.parse_args(argv)
    for binary in ("nsd", "unbound", "dnsmasq", "dnsperf", "taskset"):
        require(binary)
    command = shlex.join([".venv/bin/python", "benchmarks/blocklist_qps.py",
                          *(argv if argv is not None else sys.argv[1:])])
    started = time.monotonic()
    with bench_lock("blocklist_qps"):
        started = time.monotonic()  # the budget counts from holding the lock
        when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        before = os.getloadavg()[0]
        work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="blocklist-qps-"))
        work.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(work).free
        largest = max(int(size) for size in args.sizes.split(","))
        if free < largest * 200:  # store ~45 B, two list files ~50 B, query files: a name each
            sys.exit(f"blocklist_qps: {free / 1e9:.1f} GB free in {work}, want {largest * 200 / 1e9:.1f}")
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM too
        try:
            results, sizes = run_all(args, work, started)
        finally:
            signal.signal(signal.SIGTERM, previous)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        load = f"{before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    text = table(results, sizes, args, command, when, load)
    print("\n" + text)
    print(f"took {time.monotonic() - started:.0f} s")
    if not args.no_write:
        write_section('blocklist-qps', 'Blocklist QPS (`benchmarks/blocklist_qps.py`)', text)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
