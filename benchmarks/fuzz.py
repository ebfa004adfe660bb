#!/usr/bin/env python3
"""Fuzz: a million malformed and mutated DNS messages over UDP and TCP at a live `fraudwall serve`,
while another client checks that valid queries keep being answered.

    .venv/bin/python benchmarks/fuzz.py                  # 1 M datagrams, 100 k TCP messages; writes RESULTS.md
    .venv/bin/python benchmarks/fuzz.py --packets 50000 --tcp-messages 5000 --no-write   # quick look

The server runs with the bundled config (resolver/default.toml) and only its addresses changed by
flags: `--listen`, `--upstream` (an NSD on loopback, tests/e2e/peers.py, serving the root zone
with resolver_qps.py's names in it), `--db` (a fresh store in a temporary directory) and `--admin` (a free port, read for the
counters at the end). The messages come from tests/resolver/mutations.py, the same mutations the
codec's property tests draw: a corpus of valid queries (several types, EDNS with options, a long
name, a compression pointer) with one to four bit flips, truncations, extensions, duplicated spans,
label lengths and pointers set to awkward values, changed header counts and broken OPT records;
a share of pure random bytes of random lengths, and a share of datagrams sent twice. Over TCP the
same messages go in streams of length-prefixed messages with empty ones (a zero prefix) here and
there; some connections end with a prefix that lies long (the server must close them after its
deadline for a whole message), one that lies short (random framing to the end) or half a prefix.

The UDP sender waits whenever the server's socket holds more than QUEUE_HIGH bytes (read from
/proc/net/udp): the datagrams are then read by the server, not dropped by the kernel, and the rate
is the server's. Meanwhile a second process, on another loopback address (another client, as on a
real network), sends valid queries at a steady rate (a name in the zone, a blocked demo name and a
name the zone does not have, in turn), and checks each answer. The server's RSS, summed over its
processes, is sampled before, during and after. The whole run holds /tmp/fraudwall-bench.lock.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import random
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from harness import process_tree, run_and_write, scrape, total, tree_rss_kib, tree_schedstat  # noqa: E402
from resolver_qps import ZONE, build_summary, platform_line, require, root_zone_text  # noqa: E402

from tests.e2e.peers import Process, fraudwall_binary, free_port, start_nsd  # noqa: E402
from tests.resolver.mutations import mutate, query_corpus, random_mutation  # noqa: E402

FUZZER = "127.0.0.1"          # inside [access] allow and [ratelimit] exempt, so every message reaches the parser
CHECKER = "127.0.0.2"         # the valid-query client: another client, as on a real network
TCP_SOURCES = tuple(f"127.0.1.{index}" for index in range(1, 9))  # spread under the per-client connection cap
UDP_SOCKETS = 4
BATCH = 64                    # datagrams between two looks at the server's socket queue
QUEUE_HIGH = 128 << 10        # bytes waiting in the server's UDP socket (~100 datagrams) above which the sender waits ...
QUEUE_LOW = 32 << 10          # ... until they are down to this: the server never idles, the queue adds little delay
RANDOM_SHARE = 0.15           # messages of pure random bytes
RESEND_SHARE = 0.05           # messages sent again (a recent one, byte for byte)
STEPS = (1, 1, 1, 2, 2, 3, 4)  # mutations applied to a corpus message
EMPTY_SHARE = 0.02            # TCP: messages preceded by an empty one (a zero length prefix)
LONG_ENDING, SHORT_ENDING, HALF_ENDING = 0.10, 0.10, 0.05   # TCP: connections ending with such a prefix
LINGER = 15.0                 # seconds a connection may stay open after its last byte before we give up on it
CHECK_TIMEOUT = 5.0           # a valid query unanswered this long is lost
BLOCKED_DEMO = "icbc-tuikuan.example.com"


# ---------------------------------------------------------------- messages

def corpus() -> tuple[bytes, ...]:
    return query_corpus((f"n0001.{ZONE}", f"n0500.{ZONE}", BLOCKED_DEMO, "login.paypal-verify.example.net",
                         f"missing.{ZONE}", "www.example.org"))


class Fuzzer:
    """Malformed and mutated messages, one a call, from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.corpus = corpus()
        self.recent: collections.deque[bytes] = collections.deque(maxlen=64)
        self.counts = collections.Counter()

    def message(self) -> bytes:
        rng = self.rng
        draw = rng.random()
        if draw < RANDOM_SHARE:
            size = rng.choice((rng.randrange(12), rng.randrange(12, 100), rng.randrange(100, 1500)))
            wire = rng.randbytes(size)
            self.counts["random"] += 1
        elif draw < RANDOM_SHARE + RESEND_SHARE and self.recent:
            self.counts["resent"] += 1
            return rng.choice(self.recent)
        else:
            wire = rng.choice(self.corpus)
            for _ in range(rng.choice(STEPS)):
                wire = mutate(wire, *random_mutation(rng))
            self.counts["mutated"] += 1
        self.recent.append(wire)
        return wire

    def stream(self, messages: int) -> tuple[bytes, bool]:
        """`messages` length-prefixed messages for one TCP connection, and whether it ends in a long lie.

        Empty messages (a zero prefix) may come anywhere; a prefix that lies short (what follows is
        read as the next prefix: random framing to the end), a prefix that lies long, or half a prefix
        only at the end, so that the messages before it are read as sent."""
        rng = self.rng
        parts = []
        for _ in range(messages):
            if rng.random() < EMPTY_SHARE:
                parts.append(b"\x00\x00")
            message = self.message()
            parts.append(len(message).to_bytes(2, "big") + message)
        ending = rng.random()
        message = self.message()
        if ending < LONG_ENDING:
            # More than ever comes: only the server's deadline for a whole message ends the connection.
            parts.append(min(0xFFFF, len(message) + rng.randint(1, 0xFFFF)).to_bytes(2, "big") + message)
        elif ending < LONG_ENDING + SHORT_ENDING and message:
            parts.append(rng.randrange(len(message)).to_bytes(2, "big") + message)
        elif ending < LONG_ENDING + SHORT_ENDING + HALF_ENDING:
            parts.append(b"\x01")
        return b"".join(parts), ending < LONG_ENDING


# ---------------------------------------------------------------- the valid-query checker

def expectation(index: int) -> tuple[str, int, str | None]:
    """The `index`th valid query, in turn: a zone name, a blocked demo name, a name missing from the zone
    (a new one each time: forwarded, never from the cache); with its rcode and the address to find."""
    zone_index = index % 1000
    if index % 3 == 0:
        return f"n{zone_index:04d}.{ZONE}", dns.rcode.NOERROR, f"198.51.{100 + zone_index // 250}.{zone_index % 250 + 1}"
    if index % 3 == 1:
        return BLOCKED_DEMO, dns.rcode.NOERROR, "0.0.0.0"
    return f"valid-miss-{index}.{ZONE}", dns.rcode.NXDOMAIN, None


def answer_is_right(wire: bytes, name: str, rcode: int, address: str | None) -> bool:
    try:
        message = dns.message.from_wire(wire)
    except Exception:  # noqa: BLE001 - any unreadable reply is a wrong one
        return False
    if message.rcode() != rcode or str(message.question[0].name).rstrip(".") != name:
        return False
    if address is None:
        return True
    return any(rrset.rdtype == dns.rdatatype.A and address in {rdata.address for rdata in rrset}
               for rrset in message.answer)


def check_answers(port: int, qps: float, stop, results) -> None:
    """Runs in its own process: valid queries at `qps` until `stop` is set; sends back, for each,
    (sent at, seconds to its answer or -1 when lost, 1 when the answer was right)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((CHECKER, 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    pending: dict[int, tuple[float, tuple]] = {}
    records: list[tuple[float, float, int]] = []
    interval = 1.0 / qps
    next_send = time.monotonic()
    sent = 0
    stopping = 0.0
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    while True:
        now = time.monotonic()
        if not stopping and stop.is_set():
            stopping = now
        if stopping and (not pending or now - stopping > CHECK_TIMEOUT):
            break
        if not stopping and now >= next_send:
            expected = expectation(sent)
            ident = sent & 0xFFFF
            query = dns.message.make_query(expected[0], "A")
            query.id = ident
            pending[ident] = (now, expected)
            try:
                sock.send(query.to_wire())
            except OSError:
                pass  # counted lost below
            sent += 1
            next_send = max(next_send + interval, now - 1.0)  # steady, but no burst after a stall
        timeout = 0.01 if stopping else max(0.0, min(next_send - time.monotonic(), 0.01))
        if selector.select(timeout):
            while True:
                try:
                    wire = sock.recv(4096)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                arrived = time.monotonic()
                entry = pending.pop(int.from_bytes(wire[:2], "big"), None) if len(wire) >= 2 else None
                if entry is not None:
                    sent_at, (name, rcode, address) = entry
                    records.append((sent_at, arrived - sent_at, int(answer_is_right(wire, name, rcode, address))))
        now = time.monotonic()
        for ident, (sent_at, _) in list(pending.items()):
            if now - sent_at > CHECK_TIMEOUT:
                del pending[ident]
                records.append((sent_at, -1.0, 0))
    for sent_at, _ in pending.values():
        records.append((sent_at, -1.0, 0))
    results.send(records)


# ---------------------------------------------------------------- the server's socket

def udp_queue(port: int) -> tuple[int, int]:
    """(bytes waiting, datagrams dropped) of the UDP sockets bound to 127.0.0.1:`port`, from /proc/net/udp."""
    local = f"0100007F:{port:04X}"
    waiting = drops = 0
    with open("/proc/net/udp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[1] == local:
                waiting += int(fields[4].split(":")[1], 16)
                drops += int(fields[-1])
    return waiting, drops


# ---------------------------------------------------------------- the phases

@dataclass
class Figures:
    udp_sent: int = 0
    udp_seconds: float = 0.0
    udp_waited: float = 0.0          # seconds the sender waited for the server's socket to drain
    udp_errors: int = 0
    udp_cpu: tuple[float, float] = (0.0, 0.0)   # the server's share of the UDP phase on a CPU, waiting for one
    kernel_drops: int = 0
    tcp_messages: int = 0
    tcp_connections: int = 0
    tcp_seconds: float = 0.0
    tcp_refused: int = 0             # connections the server closed or reset before taking all we sent
    tcp_long_lies: int = 0
    tcp_long_lie_closed_s: list[float] = field(default_factory=list)   # how long the server waited on each
    tcp_lingered: int = 0            # connections still open LINGER s after our last byte (we closed them)
    rss: list[tuple[str, float, int]] = field(default_factory=list)   # (moment, seconds into the run, KiB)
    phases: list[tuple[str, float, float]] = field(default_factory=list)


def sample_rss(figures: Figures, label: str, pid: int, started: float) -> None:
    kib = tree_rss_kib(pid)
    figures.rss.append((label, time.monotonic() - started, kib))
    print(f"  RSS {label}: {kib / 1024:.1f} MiB", flush=True)


def udp_phase(port: int, fuzzer: Fuzzer, packets: int, deadline: float, figures: Figures, pid: int,
              started: float) -> None:
    sockets = []
    for _ in range(UDP_SOCKETS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((FUZZER, 0))
        sockets.append(sock)
    target = ("127.0.0.1", port)
    _, drops_before = udp_queue(port)
    cpu_before = tree_schedstat(pid)
    marks = {packets * tenth // 10: f"UDP {tenth * 10} %" for tenth in range(1, 10)}
    begun = time.monotonic()
    sent = 0
    try:
        while sent < packets and time.monotonic() < deadline:
            for index in range(min(BATCH, packets - sent)):
                try:
                    sockets[index % UDP_SOCKETS].sendto(fuzzer.message(), target)
                except OSError:
                    figures.udp_errors += 1
                sent += 1
            if udp_queue(port)[0] > QUEUE_HIGH:
                waiting_since = time.monotonic()
                while udp_queue(port)[0] > QUEUE_LOW and time.monotonic() < deadline:
                    time.sleep(0.001)
                figures.udp_waited += time.monotonic() - waiting_since
            for mark in [mark for mark in marks if sent >= mark]:
                sample_rss(figures, marks.pop(mark), pid, started)
                print(f"  {sent:,} datagrams, {sent / (time.monotonic() - begun):,.0f}/s", flush=True)
    finally:
        for sock in sockets:
            sock.close()
    figures.udp_sent = sent
    figures.udp_seconds = time.monotonic() - begun
    figures.udp_cpu = tuple((after - before) / figures.udp_seconds
                            for before, after in zip(cpu_before, tree_schedstat(pid)))
    figures.kernel_drops += udp_queue(port)[1] - drops_before


@dataclass
class Connection:
    sock: socket.socket
    stream: bytes
    holds: bool            # ends with a long lie: we keep it open, the server must close it
    opened: float
    offset: int = 0
    written_at: float = 0.0


def tcp_phase(port: int, fuzzer: Fuzzer, messages: int, per_connection: int, concurrency: int, deadline: float,
              figures: Figures) -> None:
    selector = selectors.DefaultSelector()
    open_connections: dict[socket.socket, Connection] = {}
    begun = time.monotonic()
    built = 0

    def finish(connection: Connection, now: float, by_server: bool) -> None:
        selector.unregister(connection.sock)
        connection.sock.close()
        del open_connections[connection.sock]
        if by_server and connection.offset < len(connection.stream):
            figures.tcp_refused += 1
        elif by_server and connection.holds:
            figures.tcp_long_lie_closed_s.append(now - connection.written_at)
        elif not by_server:
            figures.tcp_lingered += 1

    while (built < messages or open_connections) and time.monotonic() < deadline:
        while built < messages and len(open_connections) < concurrency:
            count = min(per_connection, messages - built)
            stream, holds = fuzzer.stream(count)
            built += count
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((TCP_SOURCES[figures.tcp_connections % len(TCP_SOURCES)], 0))
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            figures.tcp_connections += 1
            figures.tcp_long_lies += holds
            connection = open_connections[sock] = Connection(sock, stream, holds, time.monotonic())
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, connection)
        now = time.monotonic()
        for key, mask in selector.select(timeout=0.05):
            connection = key.data
            if mask & selectors.EVENT_READ:
                try:
                    if not connection.sock.recv(65536):
                        finish(connection, now, by_server=True)
                        continue
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    finish(connection, now, by_server=True)
                    continue
            if mask & selectors.EVENT_WRITE and connection.offset < len(connection.stream):
                try:
                    connection.offset += connection.sock.send(connection.stream[connection.offset:connection.offset + 65536])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    finish(connection, now, by_server=True)
                    continue
                if connection.offset == len(connection.stream):
                    connection.written_at = now
                    if not connection.holds:
                        connection.sock.shutdown(socket.SHUT_WR)
                    selector.modify(connection.sock, selectors.EVENT_READ, connection)
        for connection in list(open_connections.values()):
            if connection.written_at and now - connection.written_at > LINGER:
                finish(connection, now, by_server=False)
    for connection in list(open_connections.values()):
        finish(connection, time.monotonic(), by_server=False)
    figures.tcp_messages = built
    figures.tcp_seconds = time.monotonic() - begun


# ---------------------------------------------------------------- the run

def settled_counters(admin: str) -> dict:
    """/metrics once two reads a second apart agree (the workers hand their counts on every second)."""
    previous = None
    for _ in range(15):
        samples = scrape(admin)
        if samples == previous:
            return samples
        previous = samples
        time.sleep(1.0)
    return previous or {}


def run(args: argparse.Namespace, work: Path) -> dict:
    nsd = start_nsd(require("nsd"), work / "nsd", root_zone_text(), ".", ipv6=False)
    server = None
    checker = None
    try:
        port, admin = free_port(), f"127.0.0.1:{free_port()}"
        directory = work / "fraudwall"
        directory.mkdir()
        argv = [fraudwall_binary(), "serve", "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{nsd.port}",
                "--db", str(directory / "blocklists.db"), "--admin", admin]
        server = Process("fraudwall", argv, port, directory, ZONE).start()
        pid = server.pid
        print(f"fraudwall pid {pid} on 127.0.0.1:{port}, NSD on {nsd.port}", flush=True)
        members_before = sorted(process_tree(pid))
        figures = Figures()
        started = time.monotonic()
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        receiving, sending = context.Pipe(duplex=False)
        checker = context.Process(target=check_answers, args=(port, args.check_qps, stop, sending), daemon=True)
        checker.start()
        fuzzer = Fuzzer(args.seed)
        deadline = started + args.seconds

        def phase(name: str, action) -> None:
            begun = time.monotonic()
            action()
            figures.phases.append((name, begun, time.monotonic()))

        phase("before", lambda: time.sleep(args.quiet))
        sample_rss(figures, "start (before fuzzing)", pid, started)
        udp_deadline = started + args.seconds * 0.8
        print(f"UDP: {args.packets:,} datagrams ...", flush=True)
        phase("UDP fuzz", lambda: udp_phase(port, fuzzer, args.packets, udp_deadline, figures, pid, started))
        sample_rss(figures, "UDP done", pid, started)
        print(f"TCP: {args.tcp_messages:,} messages ...", flush=True)
        phase("TCP fuzz", lambda: tcp_phase(port, fuzzer, args.tcp_messages, args.per_connection, args.connections,
                                            deadline, figures))
        sample_rss(figures, "TCP done", pid, started)
        phase("after", lambda: time.sleep(args.quiet))
        stop.set()
        records = receiving.recv()
        checker.join(10)
        sample_rss(figures, "end", pid, started)
        alive = server.process.poll() is None
        members_after = sorted(process_tree(pid)) if alive else []
        counters = settled_counters(admin) if alive else {}
        exit_code = server.terminate(timeout=30) if alive else server.process.returncode
        log = server.log()
        return {"figures": figures, "records": records, "counters": counters, "alive": alive,
                "same_processes": members_before == members_after, "members": len(members_before),
                "exit_code": exit_code, "log": log, "fuzzer": fuzzer.counts}
    finally:
        if checker is not None and checker.is_alive():
            checker.kill()
        if server is not None:
            server.stop()
        nsd.stop()


# ---------------------------------------------------------------- report

def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def checker_rows(records: list, phases: list) -> list[str]:
    rows = []
    for name, begun, ended in phases:
        inside = [record for record in records if begun <= record[0] < ended]
        answered = [latency * 1000 for _, latency, _ in inside if latency >= 0]
        right = sum(ok for _, _, ok in inside)
        rows.append(f"| {name} | {ended - begun:.0f} | {len(inside):,} | {len(answered):,} | {right:,} | "
                    f"{len(inside) - len(answered):,} | {percentile(answered, 0.5):.1f} | "
                    f"{percentile(answered, 0.99):.1f} | {max(answered, default=0):.1f} |")
    return rows


def report(outcome: dict, args: argparse.Namespace, command: str, when: str, load: str) -> tuple[str, bool]:
    figures: Figures = outcome["figures"]
    counters = outcome["counters"]
    records = outcome["records"]
    log = outcome["log"]
    tracebacks = log.count("Traceback")
    errors = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    restarts = total(counters, "fraudwall_worker_restarts_total")
    read = {transport: total(counters, "fraudwall_queries_total", transport=transport) for transport in ("udp", "tcp")}
    unreadable = {transport: total(counters, "fraudwall_queries_total", transport=transport, qtype="none")
                  for transport in ("udp", "tcp")}
    checked = {name: [r for r in records if begun <= r[0] < ended] for name, begun, ended in figures.phases}
    during = checked.get("UDP fuzz", []) + checked.get("TCP fuzz", [])
    after = checked.get("after", [])
    start_kib = figures.rss[0][2]
    middle_kib = next(kib for label, _, kib in figures.rss if label == "UDP 50 %") if any(
        label == "UDP 50 %" for label, _, _ in figures.rss) else 0
    end_kib = figures.rss[-1][2]
    lies = figures.tcp_long_lie_closed_s
    sent_total = figures.udp_sent + figures.tcp_messages
    crashed = not outcome["alive"] or not outcome["same_processes"] or restarts or tracebacks or outcome["exit_code"]
    lost_during = sum(1 for r in during if r[1] < 0)
    lost_after = sum(1 for r in after if r[1] < 0)
    wrong = sum(1 for r in during + after if r[1] >= 0 and not r[2])
    waited = figures.udp_waited / figures.udp_seconds if figures.udp_seconds else 0
    on_cpu, waiting = figures.udp_cpu
    limiter = (f"the server: the sender waited for its socket queue to drain {waited:.0%} of the UDP phase; the "
               f"server's processes were on a CPU {on_cpu:.0%} of it and runnable but waiting for one {waiting:.0%} "
               "(/proc schedstat: the second is the machine's share)"
               if waited > 0.2 else
               f"the client (one Python process building and sending; it waited for the server's queue only "
               f"{waited:.0%} of the UDP phase)")
    by_label = {label: kib for label, _, kib in figures.rss}
    first, last = (by_label.get("UDP 30 %", 0) - start_kib), (by_label.get("UDP done", 0) - by_label.get("UDP 70 %", 0))
    cached = total(counters, "fraudwall_cache_entries")
    tcp_worst = max((r[1] for r in checked.get("TCP fuzz", []) if r[1] >= 0), default=0)
    lines = [
        f"Measured {when} on {os.cpu_count()} cores ({platform_line()}); load average {load}; fraudwall's "
        f"query path {build_summary()} (`make native`).",
        "",
        f"Command: `{command}`",
        "",
        ("`fraudwall serve` with the bundled config (resolver/default.toml: one worker, scorer on, the demo "
         "list, query log on) and flags for its addresses only: `--listen 127.0.0.1:P --upstream "
         "127.0.0.1:NSD --db TMP/blocklists.db --admin 127.0.0.1:A`. Upstream: NSD on loopback serving "
         f"the root zone with `{ZONE}`'s names in it (so every forwarded name is answered, NXDOMAIN for "
         "most, as by a recursive upstream). Fuzzer on 127.0.0.1 (UDP) and 127.0.1.1-8 (TCP); the valid-query "
         f"checker on {CHECKER}, {args.check_qps:g} queries/s in turn: a zone name (NOERROR, its address), "
         f"the demo list's `{BLOCKED_DEMO}` (0.0.0.0) and a new name missing from the zone (NXDOMAIN, "
         f"forwarded every time); unanswered after {CHECK_TIMEOUT:g} s counts lost."),
        "",
        "| | figure |",
        "|---|---|",
        (f"| UDP datagrams sent | {figures.udp_sent:,} in {figures.udp_seconds:.0f} s "
         f"({figures.udp_sent / max(figures.udp_seconds, 1e-9):,.0f}/s), send errors {figures.udp_errors} |"),
        f"| UDP messages the server read (/metrics) | {read['udp']:,.0f}, of which unreadable (FORMERR, NOTIMP, silence) {unreadable['udp']:,.0f} |",
        f"| datagrams the kernel dropped at the server's socket | {figures.kernel_drops:,} |",
        (f"| TCP messages sent | {figures.tcp_messages:,} over {figures.tcp_connections:,} connections "
         f"(up to {args.connections} at once, {args.per_connection} messages each) in {figures.tcp_seconds:.0f} s |"),
        f"| TCP messages the server read (/metrics) | {read['tcp']:,.0f}, of which unreadable {unreadable['tcp']:,.0f} |",
        (f"| TCP connections ending in a long length lie | {figures.tcp_long_lies}; closed by the server after "
         f"{percentile(lies, 0.5):.1f} s median, {max(lies, default=0):.1f} s max ({len(lies)} seen closed); "
         f"still open {LINGER:g} s after our last byte: {figures.tcp_lingered} |"),
        f"| TCP connections closed by the server before taking all their bytes | {figures.tcp_refused} |",
        (f"| crashes | {'none' if not crashed else 'YES'}: server alive at the end: {outcome['alive']}; "
         f"same {outcome['members']} process(es) from start to end: {outcome['same_processes']}; "
         f"fraudwall_worker_restarts_total {restarts:.0f}; tracebacks in its log {tracebacks}, "
         f"ERROR lines {len(errors)}; exit code at SIGTERM {outcome['exit_code']} |"),
        (f"| valid queries answered during the fuzz | {len(during) - lost_during:,} / {len(during):,} "
         f"(lost {lost_during}) |"),
        f"| valid queries answered after the fuzz | {len(after) - lost_after:,} / {len(after):,} (lost {lost_after}) |",
        f"| valid queries answered wrongly | {wrong} |",
        (f"| server RSS (all processes) | start {start_kib / 1024:.1f} MiB, middle (UDP 50 %) "
         f"{middle_kib / 1024:.1f} MiB, end {end_kib / 1024:.1f} MiB ({(end_kib - start_kib) / 1024:+.1f} MiB) |"),
        "",
        "Valid queries by phase (latency in ms, of the answered ones):",
        "",
        "| phase | s | sent | answered | right | lost | p50 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *checker_rows(records, figures.phases),
        "",
        "RSS samples: " + ", ".join(f"{label} ({seconds:.0f} s) {kib / 1024:.1f} MiB"
                                    for label, seconds, kib in figures.rss) + ".",
        "",
        (f"Memory {'is flat' if last < 0.05 * start_kib else 'is not flat in this run'}: the first 30 % of the "
         f"datagrams added {first / 1024:+.1f} MiB, the last 30 % {last / 1024:+.1f} MiB. What a fuzzer's endless "
         "new questions fill are caches with bounds: the answer cache (100 000 answers; "
         f"{cached:,.0f} held at the end), the scorer's two caches (100 000 each), the verdict cache "
         "(65 536), the remembered questions (65 536), the kept replies and the bytes seen once (32 768 each)."),
        "",
        (f"Messages: {sent_total:,} in all; of those built, {outcome['fuzzer']['mutated']:,} mutated corpus queries, "
         f"{outcome['fuzzer']['random']:,} random bytes, {outcome['fuzzer']['resent']:,} sent again. "
         f"What limited the UDP rate: {limiter}. The server answers every readable header that is not a "
         "response (FORMERR or NOTIMP with the client's ID), so it also sent about as many replies as it read."),
    ]
    if tcp_worst > 0.5:
        lines += ["", (f"Valid UDP queries waited up to {tcp_worst:.1f} s during the TCP phase (lost: more than "
                       f"{CHECK_TIMEOUT:g} s). The server hands a connection's messages to the handler 8 per turn "
                       "of its event loop (up to 64 being answered per connection) and reads up to 64 UDP datagrams "
                       "between two turns; what the wait is made of beyond that, this run does not tell.")]
    if errors:
        lines += ["", "First ERROR lines of the server's log:", "", "```", *errors[:5], "```"]
    passed = not crashed and not lost_after and not wrong
    return "\n".join(lines) + "\n", passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000, help="UDP datagrams (default 1 000 000)")
    parser.add_argument("--tcp-messages", type=int, default=100_000, help="TCP messages (default 100 000)")
    parser.add_argument("--per-connection", type=int, default=100, help="TCP messages a connection (default 100)")
    parser.add_argument("--connections", type=int, default=64, help="TCP connections at once (default 64)")
    parser.add_argument("--seconds", type=float, default=420.0,
                        help="bound on the fuzzing (default 420; UDP gets 80 %% of it)")
    parser.add_argument("--check-qps", type=float, default=200.0, help="valid queries a second (default 200)")
    parser.add_argument("--quiet", type=float, default=5.0, help="seconds of valid queries only, before and after")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the server's log and store there")
    args = parser.parse_args(argv)
    return run_and_write("fuzz", argv, args, run, report, "fuzz", "Fuzzing a live server (`benchmarks/fuzz.py`)")

if __name__ == "__main__":
    sys.exit(main())
