#!/usr/bin/env python3
"""Forwarding cost: CPU microseconds one forwarded query costs the resolver process, in-process.

    .venv/bin/python benchmarks/forward_cost.py                        # 20,000 unique names, 64 at a time; writes RESULTS.md
    .venv/bin/python benchmarks/forward_cost.py --count 2000 --no-write   # quick look
    .venv/bin/python benchmarks/forward_cost.py --count 5000 --no-uvloop --outgoing-range 0

What it runs: the upstream stage as the worker builds it (`UpstreamStage` over a `Forwarder`, shipped
[upstream] defaults) resolving `--count` names never asked before (`q<N>.forward-cost.example`, so no
two share an exchange), `--concurrency` of them in flight, under uvloop as `serve` runs when it is
installed. The upstream is another process on 127.0.0.1 (a random port in 20000-60000): a plain
socket loop that answers every query NXDOMAIN at once, with an OPT record at the end as a real
upstream answers fraudwall's EDNS queries (so the forwarder strips it, as it must); its CPU is not
this process's. The figure is this process's CPU time (user + system, `time.process_time`) over the
run divided by the queries: the send and read of each try, its bookkeeping (ID, socket, deadline),
the future the stage waits on, the scan of the reply and the render cost together. A warm-up of
`--concurrency` queries comes first and is not counted.

Two rows: the shipped `[upstream] outgoing_range` (a pool of UDP sockets), then 0, a fresh socket per
try as forwarding did before the pool: side by side, run after run, on the same machine. With
`--outgoing-range N` only that one.

Bounded: at most `--seconds` (60) of wall time a row; a row stops there and says how far it got.
Takes /tmp/fraudwall-bench.lock, so it never overlaps another benchmark. Prints its figures and
writes them to the `forward-cost` section of benchmarks/RESULTS.md (with the command, the machine
and its load), unless `--no-write`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time

from harness import bench_lock
from section import Occasion, begin, opening, publish

from fraudwall.resolver.dns.codec import read_query
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.config import UpstreamSettings
from fraudwall.resolver.dns.quota import Quota
from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool
from fraudwall.resolver.server.upstream import Forwarder, UpstreamStage

# The upstream: NXDOMAIN for every question, as fast as a plain Python socket loop can (~100 k/s); with
# a second argument, that record (hex) as the answer's authority (an SOA, so NXDOMAIN is cached); with a
# third, "edns", an OPT record at the end of a reply to a query with one, as a real upstream sends.
RESPONDER = r"""
import socket, sys
authority = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else b""
opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00" if sys.argv[3:] == ["edns"] else b""
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, client = sock.recvfrom(4096)
    end = data.index(0, 12) + 5                       # the question: its name and type and class
    flags = 0x8083 | (data[2] << 8 & 0x0100)          # QR, RA, NXDOMAIN, the query's RD
    additional = opt if len(data) > end else b""
    counts = (b"\x00\x01\x00\x00" + (b"\x00\x01" if authority else b"\x00\x00")
              + (b"\x00\x01" if additional else b"\x00\x00"))
    sock.sendto(data[:2] + flags.to_bytes(2, "big") + counts + data[12:end] + authority + additional, client)
"""


def query_wire(index: int, ident: int) -> bytes:
    labels = [f"q{index}".encode(), b"forward-cost", b"example"]
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return ident.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01"


def start_upstream(authority: bytes = b"", edns: bool = False) -> tuple[subprocess.Popen, int]:
    """The responder process on a free loopback port; `authority`: the record it adds to each answer;
    `edns`: an OPT record at the end of each reply to a query with EDNS."""
    options = [authority.hex(), "edns"] if edns else [authority.hex()] if authority else []
    for _ in range(20):
        port = random.randint(20000, 60000)
        process = subprocess.Popen([sys.executable, "-c", RESPONDER, str(port), *options],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if process.stdout.readline().strip() == "ready":
            return process, port
        process.wait()
    raise SystemExit("no free port for the NXDOMAIN upstream")


async def run(port: int, count: int, concurrency: int, outgoing_range: int,
              deadline: float) -> tuple[int, int, float, float]:
    """(queries answered, queries failed, CPU seconds, wall seconds) over the counted part."""
    defaults = UpstreamSettings()
    forwarder = Forwarder(UpstreamPool((Upstream("127.0.0.1", port),), time.monotonic),
                          defaults.timeout, defaults.attempts, outgoing_range=outgoing_range)
    stage = UpstreamStage(forwarder, Quota(defaults.max_in_flight, defaults.max_in_flight_per_client))
    queries = [read_query(query_wire(index, index & 0xFFFF), "127.0.0.1")
               for index in range(count + concurrency)]
    answered = failed = 0

    async def client(start: int, stop: int) -> None:
        nonlocal answered, failed
        for index in range(start, stop, concurrency):
            if time.monotonic() > deadline:
                return
            answer = await stage.resolve(queries[index])
            if answer.kind is AnswerKind.RESOLVED:
                answered += 1
            else:
                failed += 1

    # Warm-up: the first sockets, code paths and caches; not counted.
    await asyncio.gather(*(client(offset, concurrency) for offset in range(concurrency)))
    answered = failed = 0
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(concurrency + offset, concurrency + count) for offset in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    forwarder.close()
    return answered, failed, cpu, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="queries counted (default 20000)")
    parser.add_argument("--concurrency", type=int, default=64, help="queries in flight (default 64)")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-time bound a row (default 60)")
    parser.add_argument("--outgoing-range", type=int,
                        help="[upstream] outgoing_range: UDP sockets kept open; only this row (default: the "
                             f"shipped {UpstreamSettings.outgoing_range}, then 0: a fresh socket per try, as "
                             "before the pool)")
    parser.add_argument("--no-uvloop", action="store_true", help="the standard asyncio loop")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    ranges = ([args.outgoing_range] if args.outgoing_range is not None
              else [UpstreamSettings.outgoing_range, 0])
    if args.no_uvloop:
        loop_name, run_loop = "asyncio", asyncio.run
    else:
        import uvloop
        loop_name, run_loop = f"uvloop {uvloop.__version__}", uvloop.run
    rows = []
    with bench_lock("forward_cost.py"):
        occasion = begin("forward_cost", argv)
        process, port = start_upstream(edns=True)
        try:
            for outgoing_range in ranges:
                deadline = time.monotonic() + args.seconds
                result = run_loop(run(port, args.count, args.concurrency, outgoing_range, deadline))
                rows.append((outgoing_range, *result))
                said(loop_name, outgoing_range, args, *result)
        finally:
            process.kill()
            process.wait()
        end_load = os.getloadavg()[0]
    publish("forward-cost", "Forwarding cost (`benchmarks/forward_cost.py`)",
            report(rows, args, loop_name, occasion, end_load), args.no_write)
    return 0 if all(answered + failed and not failed for _, answered, failed, _, _ in rows) else 1


def said(loop_name: str, outgoing_range: int, args: argparse.Namespace, answered: int, failed: int, cpu: float,
         wall: float) -> None:
    """One row's figures, printed as the run goes."""
    done = answered + failed
    print(f"forward_cost: {loop_name}, outgoing_range {outgoing_range}, {done:,} unique names forwarded "
          f"({failed} failed), {args.concurrency} in flight")
    if done < args.count:
        print(f"forward_cost: stopped at the {args.seconds:g} s bound after {done:,} of {args.count:,}")
    if done:
        print(f"forward_cost: {cpu / done * 1e6:.1f} CPU µs per forwarded query "
              f"({done / wall:,.0f} queries/s wall, {cpu:.2f} CPU-s in {wall:.2f} s)")


def report(rows: list[tuple[int, int, int, float, float]], args: argparse.Namespace, loop_name: str,
           occasion: Occasion, end_load: float) -> str:
    """The `forward-cost` section of RESULTS.md."""
    shipped = UpstreamSettings.outgoing_range
    lines = [
        *opening(occasion, [loop_name], end_load),
        f"The upstream stage as the worker builds it (`UpstreamStage` over a `Forwarder`, `[upstream]` as shipped "
        f"but for the row's `outgoing_range`) forwarding {args.count:,} names never asked before, "
        f"{args.concurrency} in flight, after an uncounted warm-up of {args.concurrency}, to an NXDOMAIN "
        "responder process on 127.0.0.1 (an OPT record at the end of each reply, as a real upstream sends). CPU µs per query: this process's CPU time (user + system, "
        "`time.process_time`) over the counted queries, divided by them.",
        "",
        "| parts | outgoing_range | forwarded | failed | CPU µs/query | queries/s wall | CPU s | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for outgoing_range, answered, failed, cpu, wall in rows:
        done = answered + failed
        parts = ("shipped defaults (a pool of sockets)" if outgoing_range == shipped else
                 "a fresh socket per try" if outgoing_range == 0 else f"`outgoing_range = {outgoing_range}`")
        short = f" (stopped at {args.seconds:g} s)" if done < args.count else ""
        figure = f"{cpu / done * 1e6:.1f}" if done else "-"
        lines.append(f"| {parts} | {outgoing_range} | {done:,}{short} | {failed} | {figure} | "
                     f"{done / wall if wall else 0:,.0f} | {cpu:.2f} | {wall:.2f} |")
    lines += ["", "What limits the figure: the forwarder's Python on one core of this CPU (a socket send and "
              "receive per try, the future the stage waits on, the reply's scan). The responder is a plain Python socket "
              "loop (about 100 k answers/s) in another process on the same cores; its CPU is not counted, but "
              "while it runs it can hold the core this process would use, so queries/s wall is the machine's and "
              "CPU µs/query the figure to compare."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
