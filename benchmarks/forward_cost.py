#!/usr/bin/env python3
"""Forwarding cost: CPU microseconds one forwarded query costs the resolver process, in-process.

    .venv/bin/python benchmarks/forward_cost.py                        # 20,000 unique names, 64 at a time
    .venv/bin/python benchmarks/forward_cost.py --count 5000 --no-uvloop

What it runs: the upstream stage as the worker builds it (`UpstreamStage` over a `Forwarder`, shipped
[upstream] defaults) resolving `--count` names never asked before (`q<N>.forward-cost.example`, so no
two share an exchange), `--concurrency` of them in flight, under uvloop as `serve` runs when it is
installed. The upstream is another process on 127.0.0.1 (a random port in 20000-60000): a plain
socket loop that answers every query NXDOMAIN at once, so its CPU is not this process's. The figure
is this process's CPU time (user + system, `time.process_time`) over the run divided by the queries:
what a socket per try, the future and timer per try, the scan of the reply and the render cost
together. A warm-up of `--concurrency` queries comes first and is not counted.

`--outgoing-range 0` gives every try a fresh socket, as forwarding did before the pool: the two
figures side by side, run after run, compare the pool with a socket per try on the same machine.

Bounded: at most `--seconds` (60) of wall time; the run stops there and says how far it got. Takes
/tmp/fraudwall-bench.lock, so it never overlaps another benchmark. Writes nothing but its output.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time

from harness import bench_lock

from fraudwall.resolver.dns.codec import read_query
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.config import UpstreamSettings
from fraudwall.resolver.dns.quota import Quota
from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool
from fraudwall.resolver.server.upstream import Forwarder, UpstreamStage

# The upstream: NXDOMAIN for every question, as fast as a plain Python socket loop can (~100 k/s); with
# a second argument, that record (hex) as the answer's authority (an SOA, so NXDOMAIN is cached).
RESPONDER = r"""
import socket, sys
authority = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else b""
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, client = sock.recvfrom(4096)
    end = data.index(0, 12) + 5                       # the question: its name and type and class
    flags = 0x8083 | (data[2] << 8 & 0x0100)          # QR, RA, NXDOMAIN, the query's RD
    counts = b"\x00\x01\x00\x00" + (b"\x00\x01" if authority else b"\x00\x00") + b"\x00\x00"
    sock.sendto(data[:2] + flags.to_bytes(2, "big") + counts + data[12:end] + authority, client)
"""


def query_wire(index: int, ident: int) -> bytes:
    labels = [f"q{index}".encode(), b"forward-cost", b"example"]
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return ident.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01"


def start_upstream(authority: bytes = b"") -> tuple[subprocess.Popen, int]:
    """The responder process on a free loopback port; `authority`: the record it adds to each answer."""
    for _ in range(20):
        port = random.randint(20000, 60000)
        process = subprocess.Popen([sys.executable, "-c", RESPONDER, str(port), *([authority.hex()] if authority else [])],
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="queries counted (default 20000)")
    parser.add_argument("--concurrency", type=int, default=64, help="queries in flight (default 64)")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-time bound (default 60)")
    parser.add_argument("--outgoing-range", type=int, default=UpstreamSettings.outgoing_range,
                        help="[upstream] outgoing_range: UDP sockets kept open (default as shipped; "
                             "0: a fresh socket per try, as before the pool)")
    parser.add_argument("--no-uvloop", action="store_true", help="the standard asyncio loop")
    args = parser.parse_args()
    with bench_lock("forward_cost.py"):
        process, port = start_upstream()
        try:
            deadline = time.monotonic() + args.seconds
            if args.no_uvloop:
                loop_name = "asyncio"
                result = asyncio.run(run(port, args.count, args.concurrency, args.outgoing_range, deadline))
            else:
                import uvloop
                loop_name = f"uvloop {uvloop.__version__}"
                result = uvloop.run(run(port, args.count, args.concurrency, args.outgoing_range, deadline))
        finally:
            process.kill()
            process.wait()
    answered, failed, cpu, wall = result
    done = answered + failed
    print(f"forward_cost: {loop_name}, outgoing_range {args.outgoing_range}, {done:,} unique names forwarded "
          f"({failed} failed), {args.concurrency} in flight")
    if done < args.count:
        print(f"forward_cost: stopped at the {args.seconds:g} s bound after {done:,} of {args.count:,}")
    if done:
        print(f"forward_cost: {cpu / done * 1e6:.1f} CPU µs per forwarded query "
              f"({done / wall:,.0f} queries/s wall, {cpu:.2f} CPU-s in {wall:.2f} s)")
    return 0 if done and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
