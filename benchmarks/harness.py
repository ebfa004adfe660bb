"""What several benchmarks share: the frame of a run (the lock that keeps them from overlapping, a work
directory, the RESULTS.md section), a server's memory and CPU over its whole process tree, and its
/metrics counters."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import re
import shlex
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from results import RESULTS, write_section

LOCK = "/tmp/fraudwall-bench.lock"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def lock_inherited() -> bool:
    """True when `flock /tmp/fraudwall-bench.lock CMD` started us: its locked descriptor is open here."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == LOCK:
                return True
        except OSError:
            pass
    return False


@contextlib.contextmanager
def bench_lock(script: str) -> Iterator[None]:
    """Hold /tmp/fraudwall-bench.lock (or the one `flock(1)` passed down) so that no two benchmarks run at once."""
    # Asked before the file is opened here: that descriptor would be found and taken for flock(1)'s.
    inherited = lock_inherited()
    with open(LOCK, "a") as lock:
        if not inherited:
            print(f"{script}: waiting for {LOCK} ...", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (a supervisor and its workers)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    waiting += [int(child) for child in children.read().split()]
        except OSError:
            pass  # it ended meanwhile
    return found


def vm_rss_kib(pid: int) -> int:
    """VmRSS of one process; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid: int) -> int:
    """VmRSS summed over `pid` and its descendants: what a server holds in all its processes."""
    return sum(vm_rss_kib(member) for member in process_tree(pid))


def scrape(address: str, timeout: float = 5.0) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a Prometheus /metrics page at `address` (host:port), by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=timeout) as response:
        text = response.read().decode("utf-8")
    samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or line.startswith("#"):
            continue
        name, labels, value = match.groups()
        key = tuple(sorted(_LABEL.findall(labels or "")))
        samples[(name, key)] = float(value)
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, key), value in samples.items() if sample == name and wanted <= set(key))


def tree_schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) summed over every thread of `pid`'s
    process tree (/proc/PID/task/TID/schedstat): on a shared machine the second says how much of a
    latency was the machine's."""
    on_cpu = waiting = 0
    for thread in tree_threads(pid):
        try:
            with open(f"/proc/{thread}/schedstat") as stat:
                running, queued, _ = stat.read().split()
        except (OSError, ValueError):
            continue
        on_cpu += int(running)
        waiting += int(queued)
    return on_cpu / 1e9, waiting / 1e9


def tree_threads(pid: int) -> Iterator[int]:
    """The thread ids of every process of `pid`'s tree (each has its /proc/TID as a process has)."""
    for member in process_tree(pid):
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue   # it ended meanwhile
        yield from map(int, tasks)


@contextlib.contextmanager
def work_directory(keep: str | None, prefix: str) -> Iterator[Path]:
    """`keep` (made when missing, left in place), or a temporary directory removed afterwards."""
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def run_and_write(script: str, argv: list[str] | None, args, run: Callable, report: Callable, section: str,
                  title: str) -> int:
    """What a benchmark's main does around its own work: hold the lock, work in a temporary directory
    (or `args.keep`), `run(args, work)`, then `report(outcome, args, command, when, load)` -> (text,
    passed), print the text and write it to RESULTS.md's `section` unless `args.no_write`.
    The exit code is 0 when the report says passed."""
    command = shlex.join([".venv/bin/python", f"benchmarks/{script}.py", *(argv if argv is not None else sys.argv[1:])])
    with bench_lock(script):
        when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        before = os.getloadavg()[0]
        with work_directory(args.keep, f"{script}-") as work:
            outcome = run(args, work)
        load = f"{before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    text, passed = report(outcome, args, command, when, load)
    print("\n" + text)
    if not args.no_write:
        write_section(section, title, text)
        print(f"written to {RESULTS}")
    return 0 if passed else 1
