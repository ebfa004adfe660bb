"""`fraudwall import` as a user runs it, on random fraud-like names: wall, CPU and peak memory.

    .venv/bin/python benchmarks/import_command.py --names 25000000          # ~2 min to write the feed, then the import; writes RESULTS.md
    .venv/bin/python benchmarks/import_command.py --names 200000 --no-write   # quick look
    .venv/bin/python benchmarks/import_command.py --names 5000000 --dir /tmp/fw-import --keep

The names are random (a seeded generator, never a public feed): 6-14 letters and digits, a hyphen,
3-8 letters, one of the TLDs fraud feeds are full of (`x7k2m9q-secure.top`). Unlike
`blocklist_scale.py`'s names, which carry a counter and so reach the store's B-tree nearly in order,
these land all over it, as the names of a real feed do. The feed is written once into --dir (kept
for the next run) and imported into a fresh store there with
`fraudwall import FEED --list big --format domains`, timed with getrusage of the command's processes
(the workers included). The load average is printed with each figure: other work on the host slows
the import workers, which run at nice 19 (CPU seconds are the figure robust to that). The table goes
to the `import-command` section of benchmarks/RESULTS.md (with the command, the machine, its load and
the store's filesystem), unless `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from section import Occasion, begin, filesystem, opening, publish  # noqa: E402

SEED = 14
TLDS = ("com", "net", "top", "xyz", "shop", "online", "site", "icu", "buzz", "cn", "info", "live", "club",
        "vip", "cc")
ROOT = Path(__file__).resolve().parent.parent


def random_names(count: int, seed: int = SEED) -> Iterator[str]:
    """`count` random fraud-like names (duplicates possible, as in a real feed, and rare)."""
    rng = random.Random(seed)
    alnum, letters = "abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz"
    choices, randint, choice = rng.choices, rng.randint, rng.choice
    for _ in range(count):
        yield f"{''.join(choices(alnum, k=randint(6, 14)))}-{''.join(choices(letters, k=randint(3, 8)))}.{choice(TLDS)}"


def write_feed(path: Path, count: int) -> float:
    """The feed of `count` names at `path` (kept when it is there already); seconds it took."""
    if path.exists():
        return 0.0
    from blocklist_scale import generate   # the one feed writer; it draws these names for shape "random"

    started = time.monotonic()
    generate(path, count, "random")
    return time.monotonic() - started


def import_feed(feed: Path, db: Path, timeout: float, list_name: str = "big") -> dict[str, float | str]:
    """Run `fraudwall import` into `db`; wall, user and system seconds (its processes together), peak RSS."""
    command = [str(ROOT / ".venv" / "bin" / "fraudwall"), "import", str(feed), "--list", list_name,
               "--format", "domains", "--db", str(db)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"fraudwall import failed ({done.returncode}): {done.stderr.strip()}")
    return {"wall": wall, "user": after.ru_utime - before.ru_utime, "system": after.ru_stime - before.ru_stime,
            # ru_maxrss of the children: the largest one process reached (KiB on Linux).
            "peak_rss_mb": after.ru_maxrss / 1024, "load_before": load, "load_after": os.getloadavg()[0],
            "summary": done.stdout.splitlines()[0] if done.stdout else ""}


HEADER = (f"{'names':>10} {'wall s':>7} {'user s':>7} {'sys s':>6} {'CPU s':>6} {'peak RSS MB':>11} "
          f"{'load':>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=25_000_000)
    parser.add_argument("--dir", default="/tmp/fraudwall-import-bench", help="where the feed and the store go")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for the import")
    parser.add_argument("--keep", action="store_true", help="keep the store (the feed is always kept)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    occasion = begin("import_command", argv)
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(directory).free < args.names * 150:
        print(f"not enough disk in {directory}: want {args.names * 150 / 1e9:.1f} GB", file=sys.stderr)
        return 1
    feed = directory / f"random-{args.names}.txt"
    seconds = write_feed(feed, args.names)
    if seconds:
        print(f"feed: {args.names} names written in {seconds:.0f} s to {feed}", file=sys.stderr)
    store_dir = directory / f"store-{args.names}"
    shutil.rmtree(store_dir, ignore_errors=True)
    store_dir.mkdir()
    result = import_feed(feed, store_dir / "blocklists.db", args.timeout)
    print(HEADER)
    print(row(args.names, result))
    print(result["summary"])
    store_bytes = sum(path.stat().st_size for path in store_dir.rglob("*") if path.is_file())
    if not args.keep:
        shutil.rmtree(store_dir, ignore_errors=True)
    publish("import-command", "`fraudwall import` of random names (`benchmarks/import_command.py`)",
            report(args.names, result, store_bytes, filesystem(directory), occasion, os.getloadavg()[0]),
            args.no_write)
    return 0


def row(names: int, result: dict) -> str:
    """The printed table's line of figures."""
    return (f"{names:>10} {result['wall']:>7.1f} {result['user']:>7.1f} {result['system']:>6.1f}"
            f" {result['user'] + result['system']:>6.1f} {result['peak_rss_mb']:>11.0f}"
            f" {result['load_before']:>4.1f}-{result['load_after']:<4.1f}")


def report(names: int, result: dict, store_bytes: int, where: str, occasion: Occasion, end_load: float) -> str:
    """The `import-command` section of RESULTS.md: the printed table, and what it ran on and what limits it."""
    lines = [
        *opening(occasion, [f"SQLite {sqlite3.sqlite_version}", f"numpy {numpy.__version__}"], end_load),
        f"`fraudwall import FEED --list big --format domains --db STORE` as a user runs it, the shipped defaults "
        f"(`[blocklists] import_workers = 0`: one parsing process per CPU, at most 4; guards on; each name and the "
        f"names below it), on {names:,} random fraud-like names (6-14 letters and digits, a hyphen, 3-8 letters, "
        f"a TLD fraud feeds are full of; seeded, no public feed) into a fresh store on {where}. Wall, user and "
        "system seconds of the command and its workers together (getrusage of the children), peak RSS the "
        "largest one process reached (not their sum); the load average before and after the import.",
        "",
        "| names | wall s | user s | sys s | CPU s | peak RSS MB | load before-after |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {names:,} | {result['wall']:.1f} | {result['user']:.1f} | {result['system']:.1f} | "
        f"{result['user'] + result['system']:.1f} | {result['peak_rss_mb']:.0f} | "
        f"{result['load_before']:.2f}-{result['load_after']:.2f} |",
        "",
        f"The command said: {result['summary'] or '-'}. The store: {store_bytes / 1e6:,.0f} MB.",
        "What limits the figure: the parsing workers run at nice 19, so other load on the machine stretches the "
        "wall time while the CPU seconds stay near; the one SQLite writer, which inserts the names in no order "
        "(random names land all over the B-tree, as a real feed's do), and the disk under the store.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
