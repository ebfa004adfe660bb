#!/usr/bin/env python3
"""Resolver throughput and latency: fraudwall against Unbound, same upstream, same queries, same core.

    .venv/bin/python benchmarks/resolver_qps.py            # full run, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/resolver_qps.py --profile out.pstats   # fraudwall under cProfile, cached only

One NSD serves a generated zone on 127.0.0.1 (pinned to core 1, with dnsperf). Unbound (a forwarder
with one thread) and then `fraudwall serve` (one worker) run pinned to core 0, each through five
workloads (cached, blocked, unique, unique-sub, mix). Per workload and server:

* a throughput run: `dnsperf -l DURATION -c 4 -q 100` (at most 100 queries outstanding, so a
  server is measured at saturation without overflowing its socket buffer): QPS and lost queries;
* a latency run at a fixed rate: `dnsperf -l LATENCY_DURATION -Q LATENCY_QPS -v`; p50/p99 come from
  dnsperf's per-query lines (dnsperf 2.10 itself prints only the average and stddev);
* the server's VmRSS from /proc after both runs.

The whole run holds /tmp/fraudwall-bench.lock, so it never overlaps another benchmark.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pstats
import random
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import bench_lock, tree_schedstat, vm_rss_kib, work_directory  # noqa: E402 - after the path is set
from blocklist_scale import fraud_names  # noqa: E402
from results import write_section  # noqa: E402
from tests.e2e.peers import Process, free_port, start_nsd  # noqa: E402
from fraudwall.scoring.builds import summary as build_summary  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SERVER_CORE, CLIENT_CORE = "0", "1"

ZONE = "bench.example.org"
BLOCKED_PARENT = "blocked.example.net"
CACHED_NAMES = 1000
BLOCKED_NAMES = 100
SINKHOLE_V4, SINKHOLE_V6 = "0.0.0.0", "::"


# ---------------------------------------------------------------- inputs

def zone_text() -> str:
    lines = [f"$ORIGIN {ZONE}.", "$TTL 86400",
             "@ 86400 IN SOA ns1 hostmaster 1 3600 900 604800 3600", "@ IN NS ns1", "ns1 IN A 127.0.0.1"]
    lines += [f"n{index:04d} IN A 198.51.{100 + index // 250}.{index % 250 + 1}" for index in range(CACHED_NAMES)]
    return "\n".join(lines) + "\n"


def root_zone_text() -> str:
    """The same names served from the root zone: NSD then answers every name (NXDOMAIN outside the
    zone's names) as a recursive upstream would, instead of REFUSED, which fraudwall would retry."""
    head = ["$ORIGIN .", "$TTL 86400", f". SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 900 604800 3600",
            f". NS ns1.{ZONE}."]
    return "\n".join(head + [line for line in zone_text().splitlines() if not line.startswith(("$TTL", "@"))]) + "\n"


def cached_queries() -> list[str]:
    return [f"n{index:04d}.{ZONE} A" for index in range(CACHED_NAMES)]


def blocked_names() -> list[str]:
    return [f"fraud-{index:03d}.{BLOCKED_PARENT}" for index in range(BLOCKED_NAMES)]


def blocked_queries() -> list[str]:
    """The listed names and subdomains of them, A and AAAA: 1000 lines."""
    lines = []
    for index, name in enumerate(blocked_names()):
        for prefix in ("", "www.", "login.secure.", "m.", "pay."):
            lines.append(f"{prefix}{name} {'AAAA' if index % 4 == 0 else 'A'}")
            lines.append(f"{prefix}{name} A")
    return lines


def unique_queries(count: int, tag: str) -> list[str]:
    """Names the zone lacks, each asked once: every one is forwarded (NXDOMAIN from NSD)."""
    return [f"u{tag}-{index}.{ZONE} A" for index in range(count)]


def unique_subdomain_queries(count: int, tag: str) -> list[str]:
    """A new random-looking label under a listed name each time, as a phishing kit or a flood makes them."""
    names = blocked_names()
    return [f"s{tag}{index:x}.{names[index % len(names)]} A" for index in range(count)]


def mix_queries(count: int, seed: int, miss_tag: str) -> list[str]:
    """80 % cached names, 10 % blocked, 10 % names NSD does not have (each unique: a real miss, NXDOMAIN)."""
    rng = random.Random(seed)
    cached, blocked = cached_queries(), blocked_queries()
    lines = []
    for index in range(count):
        draw = rng.random()
        if draw < 0.8:
            lines.append(rng.choice(cached))
        elif draw < 0.9:
            lines.append(rng.choice(blocked))
        else:
            lines.append(f"miss-{miss_tag}-{index}.{ZONE} A")
    return lines


# ---------------------------------------------------------------- servers

def unbound_config(directory: Path, port: int, upstream_port: int, listed: list[str], threads: int = 1) -> Path:
    local = []
    for name in listed:
        # `redirect` answers the name and every name below it with the local data, as fraudwall's subtree match.
        local += [f'    local-zone: "{name}." redirect',
                  f'    local-data: "{name}. 60 IN A {SINKHOLE_V4}"',
                  f'    local-data: "{name}. 60 IN AAAA {SINKHOLE_V6}"']
    config = directory / "unbound.conf"
    config.write_text(f"""\
server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    num-threads: {threads}
    so-reuseport: {"yes" if threads > 1 else "no"}
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{directory}"
    pidfile: "{directory}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
{chr(10).join(local)}
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream_port}
""")
    return config


WORKLOADS = ("cached", "blocked", "unique", "unique-sub", "mix")
# Issue 14: fraudwall's QPS over Unbound's, per workload.
TARGETS = {"cached": 0.8, "blocked": 0.8, "unique": 0.6, "unique-sub": 0.5, "mix": 0.6}

# fraudwall's own UDP server answering every query at once (benchmarks/udp_floor.py): the most a Python
# server can do here, whatever its handler does; its rcodes are NOERROR with no data, whatever is asked.
# `-plain` moves one datagram a system call, as on a system without recvmmsg/sendmmsg: what batching gives.
FLOOR = "udp-floor"
FLOORS = {FLOOR: (), f"{FLOOR}-plain": ("--plain",)}

# fraudwall as shipped, and with one part switched off, to measure what that part costs.
FRAUDWALL_VARIANTS = {
    "fraudwall": "",
    "fraudwall-scorer-off": '[scorer]\nmode = "off"\n',
    "fraudwall-metrics-off": "",  # [admin] listen = "": nothing serves /metrics, nothing is counted
}


def fraudwall_config(path: Path, port: int, upstream_port: int, db: Path, files: list[Path], admin: str = "",
                     extra: str = "", workers: int = 1) -> Path:
    """A one-worker config on 127.0.0.1:`port` forwarding to the NSD, with its own store `db` (`files`
    imported into it); `admin` is the /metrics address ("" counts nothing); `extra` more sections."""
    path.write_text(f"""\
[admin]
listen = "{admin}"

[server]
listen = ["127.0.0.1:{port}"]
workers = {workers}
log_level = "warning"

[access]
allow = ["127.0.0.0/8"]

[upstream]
servers = ["127.0.0.1:{upstream_port}"]
timeout = 1.5

[cache]
size = 100000

[sinkhole]
ipv4 = "{SINKHOLE_V4}"
ipv6 = "{SINKHOLE_V6}"
ttl = 60

[blocklists]
db = "{db}"
files = [{", ".join(f'"{file}"' for file in files)}]
{extra}""")
    return path


# ---------------------------------------------------------------- dnsperf

@dataclass
class Run:
    command: list[str]
    sent: int = 0
    completed: int = 0
    lost: int = 0
    qps: float = 0.0
    average_ms: float = 0.0
    rcodes: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    cpu_us: float = 0.0   # the server's CPU (all its processes and threads) per completed query

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def dnsperf(port: int, datafile: Path, *options: str, log: Path, cores: str = CLIENT_CORE) -> Run:
    command = ["taskset", "-c", cores, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(datafile),
               *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{result.stderr}")
    run = Run(command)

    def number(label: str) -> float:
        match = re.search(rf"{label}:\s+([0-9.]+)", result.stdout)
        return float(match.group(1)) if match else 0.0

    run.sent = int(number("Queries sent"))
    run.completed = int(number("Queries completed"))
    run.lost = int(number("Queries lost"))
    run.qps = number("Queries per second")
    run.average_ms = number(r"Average Latency \(s\)") * 1000
    codes = re.search(r"Response codes:\s+(.*)", result.stdout)
    run.rcodes = codes.group(1).strip() if codes else ""
    run.latencies_ms = [float(line.rsplit(" ", 1)[1]) * 1000 for line in result.stdout.splitlines()
                        if line.startswith("> ") and not line.startswith("> T")]
    return run


@dataclass
class Measurement:
    server: str
    workload: str
    throughput: Run
    latency: Run
    rss_kib: int
    passes: float  # how many times the throughput run went through its query file


def measure(processes: dict[str, Process], workloads: dict[str, tuple[list[Path], Path]],
            args: argparse.Namespace, out: Path, warm: Path) -> list[Measurement]:
    """Every server through every workload, the servers taking turns run by run, so that a drift of
    the shared machine (a neighbour's burst, a warming cache) falls on all of them alike."""
    for server, process in processes.items():
        # One pass over the cached names so that the cached workload (and the mix's 80 %) are hits.
        # With workers, each client port reaches one of them (SO_REUSEPORT): more ports, more passes.
        dnsperf(process.port, warm, "-n", str(2 * args.workers - 1), "-c", str(4 ** args.workers), "-q", "50",
                log=out / f"{server}-warm.txt", cores=args.client_cores)
    results = []
    for workload, (throughput_files, latency_file) in workloads.items():
        runs: dict[str, list[Run]] = {server: [] for server in processes}
        for attempt, throughput_file in enumerate(throughput_files):
            for server, process in processes.items():
                cpu_before = tree_schedstat(process.pid)[0]
                # At most 100 outstanding, whatever the workers: dnsperf is one client address, and fraudwall
                # refuses more than [upstream] max_in_flight_per_client (100) of one client's queries waiting
                # upstream in a worker (SERVFAIL, "too many queries in flight"); SO_REUSEPORT need not split
                # dnsperf's sockets evenly, so 100 a worker was 150 in one of two, and 2.6 % SERVFAIL.
                run = dnsperf(process.port, throughput_file, "-l", str(args.duration), "-c", "4",
                              "-q", "100", "-t", "2", "-Q", str(args.max_qps),
                              "-T", str(args.workers), log=out / f"{server}-{workload}-throughput-{attempt}.txt",
                              cores=args.client_cores)
                run.cpu_us = (tree_schedstat(process.pid)[0] - cpu_before) * 1e6 / max(run.completed, 1)
                runs[server].append(run)
        for server, process in processes.items():
            # The best of the runs: a neighbour's burst only ever lowers a figure.
            throughput = max(runs[server], key=lambda run: run.qps)
            latency = dnsperf(process.port, latency_file, "-l", str(args.latency_duration), "-Q",
                              str(args.latency_qps), "-c", "4", "-t", "2", "-v",
                              log=out / f"{server}-{workload}-latency.txt", cores=args.client_cores)
            lines = sum(1 for _ in open(throughput_files[0]))
            results.append(Measurement(server, workload, throughput, latency, vm_rss_kib(process.pid),
                                       throughput.sent / lines))
            print(f"  {server:9} {workload:8} {throughput.qps:9.0f} QPS  lost {throughput.lost}/{latency.lost}  "
                  f"p50 {latency.percentile(0.5):.3f} ms  p99 {latency.percentile(0.99):.3f} ms  "
                  f"CPU {throughput.cpu_us:.1f} µs/query  [{throughput.rcodes}]", flush=True)
    return results


# ---------------------------------------------------------------- report

def table(results: list[Measurement], args: argparse.Namespace, command: str, started: str) -> str:
    by_key = {(m.server, m.workload): m for m in results}
    lines = [
        f"Measured {started} on {os.cpu_count()} cores ({platform_line()}); fraudwall's query path "
        f"{build_summary()} (`make native`, resolver/README.md).",
        "",
        f"Command: `{command}`",
        "",
        (f"Server under test pinned to core {SERVER_CORE}; dnsperf and NSD (the upstream) to core {CLIENT_CORE}. "
         if args.workers == 1 else
         f"**{args.workers} workers** (Unbound: num-threads {args.workers}, so-reuseport), dnsperf with "
         f"{args.workers} threads and at most 100 queries outstanding in all (one client address: fraudwall "
         "refuses more than 100 of one client's queries waiting upstream in a worker); server, dnsperf and NSD share cores "
         f"{args.server_cores}, so on a machine of {os.cpu_count()} cores the client and the upstream take "
         "their CPU from the servers: the figures say how the servers share a busy machine, not what "
         f"{args.workers} free cores give. ")
        + f"QPS and lost: the best of {args.repeat} runs of `dnsperf -l {args.duration} -c 4 -q 100` "
        "(saturation, at most 100 outstanding), the servers taking turns run by run. "
        f"p50/p99: a separate run at a fixed {args.latency_qps} QPS for {args.latency_duration} s "
        f"(`dnsperf -Q {args.latency_qps} -v`), percentiles of its per-query latencies. "
        "RSS: the server's VmRSS after both runs of the workload. Ratio: fraudwall QPS / Unbound QPS. "
        "CPU: the server's CPU time (every process and thread, /proc schedstat) over the best throughput run, "
        "per completed query: what a query costs it, whoever else shares the machine. "
        "`fraudwall` is the shipped default (scorer blocking, metrics counted, query log on); "
        "`-scorer-off` sets `[scorer] mode = \"off\"`, `-metrics-off` sets `[admin] listen = \"\"` (nothing counted); "
        f"`{FLOOR}` is fraudwall's UDP server with a handler that answers every datagram at once (no parse, no "
        "chain, no observers; `benchmarks/udp_floor.py`): the most any Python server gets from this machine's "
        f"system calls and event loop, its ratio in parentheses; `{FLOOR}-plain` is the same with one "
        "`recvfrom`/`sendto` a datagram instead of batches (`recvmmsg`/`sendmmsg`), as on a system without them.",
        "",
        "| workload | server | QPS | ratio | CPU µs/query | lost (QPS run / latency run) | p50 ms | p99 ms | RSS MiB |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for workload in WORKLOADS:
        unbound = by_key.get(("unbound", workload))
        for server in ("unbound", *FRAUDWALL_VARIANTS, *FLOORS):
            m = by_key.get((server, workload))
            if m is None:
                continue
            ratio = f"{m.throughput.qps / unbound.throughput.qps:.2f}x" if unbound and server != "unbound" else ""
            if server in FLOORS:
                ratio = f"({ratio})" if ratio else ""
            lines.append(f"| {workload} | {server} | {m.throughput.qps:,.0f} | {ratio} | {m.throughput.cpu_us:.1f} | "
                         f"{m.throughput.lost} / {m.latency.lost} | {m.latency.percentile(0.5):.3f} | "
                         f"{m.latency.percentile(0.99):.3f} | {m.rss_kib / 1024:.1f} |")
    lines += ["", "Workloads: **cached**: 1000 distinct names of the NSD zone, warmed with one pass first; "
              f"**blocked**: {BLOCKED_NAMES} listed names and their subdomains, A and AAAA, asked again and again; "
              "**unique**: names the zone lacks, each asked once (forwarded, NXDOMAIN from NSD); **unique-sub**: "
              "a new label under a listed name each time; **mix**: 80 % cached, 10 % blocked, 10 % unique names "
              f"the zone lacks. Both servers hold the same {args.listed:,}-name list (the blocked names and "
              "fraud-like fillers; fraudwall: a list file in `[blocklists] files`; Unbound: `local-zone: redirect` "
              f"+ `local-data` {SINKHOLE_V4} / {SINKHOLE_V6})."]
    mix = [m for m in results if m.workload == "mix"]
    if mix:
        passes = ", ".join(f"{m.server} {m.passes:.2f}" for m in mix)
        lines.append(f"The mix file's misses are real misses only on the first pass through it; passes made: {passes}.")
    target = []
    for workload, bound in TARGETS.items():
        fraudwall, unbound = by_key.get(("fraudwall", workload)), by_key.get(("unbound", workload))
        if fraudwall and unbound:
            ratio = fraudwall.throughput.qps / unbound.throughput.qps
            target.append(f"{workload} >= {bound}x: {'met' if ratio >= bound else 'NOT met'} ({ratio:.2f}x)")
    if target and args.workers == 1:
        lines.append("Issue 14's targets, the shipped defaults against Unbound, one worker and one thread: "
                     + "; ".join(target) + ".")
    costs = []
    for variant, part in (("fraudwall-scorer-off", "the scorer"), ("fraudwall-metrics-off", "the metrics")):
        for workload in ("cached", "blocked"):
            full, without = by_key.get(("fraudwall", workload)), by_key.get((variant, workload))
            if full and without:
                costs.append(f"{part} on {workload} names: fraudwall runs at "
                             f"{full.throughput.qps / without.throughput.qps:.2f}x the QPS it has without it")
    if costs:
        lines.append("What each part costs (targets: within 10 %, i.e. >= 0.90x): " + "; ".join(costs) + ".")
    return "\n".join(lines) + "\n"


def platform_line() -> str:
    versions = []
    for command in (["unbound", "-V"], ["nsd", "-v"], ["dnsperf", "-h"]):
        try:
            output = subprocess.run(command, capture_output=True, text=True, timeout=5)
            text = output.stdout + output.stderr
            match = re.search(r"Version ([0-9.]+)|NSD version ([0-9.]+)", text)
            if match:
                versions.append(f"{command[0]} {match.group(1) or match.group(2)}")
        except OSError:
            pass
    return ", ".join([f"Python {sys.version.split()[0]}", *versions])


# ---------------------------------------------------------------- main

def require(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if path is None:
        sys.exit(f"resolver_qps: {binary} is not installed (apt-get install {binary})")
    return path


def fraudwall_argv(config: Path, port: int, profile: str | None) -> list[str]:
    python = sys.executable
    base = ["serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
    if profile:
        return [python, "-m", "cProfile", "-o", profile, "-m", "fraudwall.resolver.cli", *base]
    return [str(Path(python).with_name("fraudwall")), *base]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per throughput run (default 6)")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs per workload; the best counts (default 3)")
    parser.add_argument("--max-qps", type=int, default=200_000, help="dnsperf -Q cap on throughput runs")
    parser.add_argument("--latency-qps", type=int, default=2000, help="the fixed rate of the latency runs")
    parser.add_argument("--latency-duration", type=int, default=5, help="seconds per latency run (default 5)")
    parser.add_argument("--servers", default="unbound,fraudwall,fraudwall-scorer-off,fraudwall-metrics-off",
                        help="comma-separated, in order: unbound, fraudwall variants "
                             f"({', '.join(FRAUDWALL_VARIANTS)}), {FLOOR} (fraudwall's UDP server alone) and "
                             f"{FLOOR}-plain (the same, one system call a datagram)")
    parser.add_argument("--workloads", default="cached,blocked,unique,unique-sub,mix", help="comma-separated")
    parser.add_argument("--listed", type=int, default=100_000,
                        help="names in the list both servers hold (the blocked workloads' and fraud-like fillers)")
    parser.add_argument("--workers", type=int, default=1,
                        help="fraudwall workers and Unbound threads (default 1; 2 shares the cores with dnsperf and NSD)")
    parser.add_argument("--profile", metavar="PSTATS",
                        help="run only fraudwall under cProfile (cached workload), save PSTATS, print the top 15")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    parser.add_argument("--keep", metavar="DIR", help="keep the dnsperf outputs and configs in DIR")
    args = parser.parse_args(argv)
    unknown = set(args.servers.split(",")) - {"unbound", *FLOORS, *FRAUDWALL_VARIANTS}
    if unknown:
        parser.error(f"--servers: no server {', '.join(sorted(unknown))}")
    if args.workers < 1:
        parser.error("--workers: at least 1")
    if args.workers == 1:
        args.server_cores, args.client_cores = SERVER_CORE, CLIENT_CORE
    else:
        args.server_cores = args.client_cores = f"0-{(os.cpu_count() or 1) - 1}"
    if args.profile:
        args.servers, args.workloads, args.no_write = "fraudwall", "cached", True
    for binary in ("nsd", "unbound", "dnsperf", "taskset"):
        require(binary)
    command = shlex.join(
        [".venv/bin/python", "benchmarks/resolver_qps.py", *(argv if argv is not None else sys.argv[1:])])

    with bench_lock("resolver_qps"):
        started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        with work_directory(args.keep, "resolver-qps-") as work:
            results = run_all(args, work)

    if args.profile:
        print(f"\nfraudwall under cProfile, cached workload; top 15 by self time ({args.profile}):")
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(15)
        return 0
    text = table(results, args, command, started)
    print("\n" + text)
    if not args.no_write:
        if args.workers == 1:
            write_section("resolver", "Resolver QPS (`benchmarks/resolver_qps.py`)", text)
        else:
            write_section(f"resolver-{args.workers}-workers",
                          f"Resolver QPS with {args.workers} workers (`benchmarks/resolver_qps.py --workers {args.workers}`)", text)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def run_all(args: argparse.Namespace, work: Path) -> list[Measurement]:
    out = work / "out"
    out.mkdir(exist_ok=True)
    files = {"cached": cached_queries(), "blocked": blocked_queries()}
    inputs: dict[str, tuple[list[Path], Path]] = {}
    for name, lines in files.items():
        path = work / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        inputs[name] = ([path] * args.repeat, path)
    # Each throughput run of the mix gets misses of its own, enough that a server at 100 000 QPS meets each once.
    mix_runs = []
    for attempt in range(args.repeat):
        path = work / f"mix-throughput-{attempt}.txt"
        path.write_text("\n".join(mix_queries(args.duration * 100_000, 10 + attempt, f"t{attempt}")) + "\n")
        mix_runs.append(path)
    mix_latency = work / "mix-latency.txt"
    mix_latency.write_text("\n".join(mix_queries(args.latency_duration * args.latency_qps + 1000, 2, "l")) + "\n")
    inputs["mix"] = (mix_runs, mix_latency)
    # Names asked for the first time: each throughput run and the latency run get names of their own,
    # enough that a server at 100 000 (forwarded) or 200 000 (blocked) QPS never meets one twice.
    for workload, make, per_second in (("unique", unique_queries, 100_000),
                                       ("unique-sub", unique_subdomain_queries, 200_000)):
        runs = []
        for attempt in range(args.repeat):
            path = work / f"{workload}-throughput-{attempt}.txt"
            path.write_text("\n".join(make(args.duration * per_second, f"t{attempt}")) + "\n")
            runs.append(path)
        latency = work / f"{workload}-latency.txt"
        latency.write_text("\n".join(make(args.latency_duration * args.latency_qps + 1000, "l")) + "\n")
        inputs[workload] = (runs, latency)
    workloads = {name: inputs[name] for name in args.workloads.split(",")}
    # The names the workloads block, then fraud-like names up to --listed, in both servers' lists alike.
    listed = blocked_names() + list(fraud_names(max(args.listed - BLOCKED_NAMES, 0), seed=7))
    blocklist = work / "blocklist.txt"
    blocklist.write_text("\n".join(listed) + "\n")

    pin = ("taskset", "-c", args.server_cores)
    nsd = start_nsd(require("nsd"), work / "nsd", zone_text(), ZONE, ipv6=False,
                    prefix=("taskset", "-c", args.client_cores))
    processes: dict[str, Process] = {}
    try:
        for server in args.servers.split(","):
            port = free_port()
            directory = work / server
            directory.mkdir(exist_ok=True)
            if server == "unbound":
                config = unbound_config(directory, port, nsd.port, listed, args.workers)
                argv = [*pin, require("unbound"), "-d", "-c", str(config)]
            elif server in FLOORS:
                argv = [*pin, sys.executable, str(ROOT / "benchmarks" / "udp_floor.py"), str(port), *FLOORS[server]]
            else:
                admin = "" if server == "fraudwall-metrics-off" else f"127.0.0.1:{free_port()}"
                config = fraudwall_config(directory / f"{server}.toml", port, nsd.port, directory / "blocklists.db",
                                          [blocklist], admin, FRAUDWALL_VARIANTS[server], args.workers)
                argv = [*pin, *fraudwall_argv(config, port, args.profile)]
            processes[server] = Process(server, argv, port, directory, blocked_names()[0]).start()
            print(f"{server} pid {processes[server].pid} on 127.0.0.1:{port} (cores {args.server_cores})", flush=True)
        return measure(processes, workloads, args, out, inputs["cached"][0][0])
    finally:
        for server, process in processes.items():
            code = process.terminate(timeout=15)
            if code != 0:
                print(f"{server} exited with {code}:\n{process.log()}", file=sys.stderr)
        nsd.stop()

if __name__ == "__main__":
    sys.exit(main())
