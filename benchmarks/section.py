"""What the cost benchmarks (first_seen_cost, forward_cost, nod_cost, import_command, cold_start) say
about a run in their RESULTS.md section, and the write: when, on what, the exact command, how loaded
the machine was; each script adds its table and what limits its figure."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parent.parent
# A 1-minute load average above this at the start: something besides the benchmark was running (a
# 2-core machine doing nothing else sits near 0.1).
SHARED_LOAD = 0.5
# The machine's speed at the start: the CPU seconds a fixed loop of Python takes, the least of three. On a
# shared virtual machine it moved by a third within minutes (0.14-0.21 s in the checkout's Python): a
# figure that moved with it is the machine's, not fraudwall's.
SPEED_LOOP = 3_000_000


@dataclass(frozen=True)
class Occasion:
    """A run as its section tells it: the command as typed from the checkout, when it began, the load then."""

    command: str
    when: str
    load: float
    speed: float | None = None   # CPU seconds of the fixed loop (`loop_seconds`) at the start


def loop_seconds() -> float:
    """CPU seconds of SPEED_LOOP multiply-adds in Python, the least of three tries."""
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for number in range(SPEED_LOOP):
            total += number * number
        best = min(best, time.process_time() - started)
    return best


def begin(script: str, argv: list[str] | None) -> Occasion:
    """The occasion of a run of `benchmarks/SCRIPT.py` with `argv` (None: this process's own arguments)."""
    arguments = argv if argv is not None else sys.argv[1:]
    return Occasion(shlex.join([".venv/bin/python", f"benchmarks/{script}.py", *arguments]),
                    datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), os.getloadavg()[0],
                    loop_seconds())


def load_said(start: float, end: float) -> str:
    """The load averages at the start and the end, saying the machine was shared when it was at the start."""
    figures = f"load average {start:.2f} at the start, {end:.2f} at the end"
    return f"the machine was shared: {figures}" if start > SHARED_LOAD else figures


def machine(versions: Iterable[str] = ()) -> str:
    """The CPU, Python, the fraudwall commit measured and `versions` (e.g. "uvloop 0.19.0")."""
    return "; ".join([cpu_model(), ", ".join([f"Python {platform.python_version()}", fraudwall_commit(), *versions])])


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU unknown"


def fraudwall_commit() -> str:
    """fraudwall at the checkout's commit, and whether tracked files differ from it (then the figure is not
    the commit's alone)."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "fraudwall (commit unknown)"
    if not commit:
        return "fraudwall (commit unknown)"
    return f"fraudwall {commit}" + (" with uncommitted changes" if changed else "")


def filesystem(path: Path) -> str:
    """The type of the filesystem `path` is on (ext4, xfs, tmpfs, overlayfs ...): a store's disk is part of
    what an import or a cold start measures."""
    try:
        said = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "a filesystem of unknown type"
    return said.stdout.strip() or "a filesystem of unknown type"


def opening(occasion: Occasion, versions: Iterable[str] = (), end_load: float | None = None) -> list[str]:
    """The section's first lines: 'Measured DATE on N cores (...); load ...', then the command."""
    end = os.getloadavg()[0] if end_load is None else end_load
    speed = "" if occasion.speed is None else (
        f" The machine's speed at the start: {SPEED_LOOP:,} multiply-adds in Python took {occasion.speed:.2f} CPU-s "
        "(the least of three; lower is faster: a figure that moved with it is the machine's).")
    return [f"Measured {occasion.when} on {os.cpu_count()} cores ({machine(versions)}); "
            f"{load_said(occasion.load, end)}.{speed}", "", f"Command: `{occasion.command}`", ""]


def publish(name: str, title: str, text: str, no_write: bool, path: Path | None = None) -> None:
    """Write `text` as RESULTS.md's section `name` (or into `path`), unless `no_write`."""
    if no_write:
        return
    target = path or results.RESULTS
    results.write_section(name, title, text, target)
    print(f"written to {target} (section {name})")
