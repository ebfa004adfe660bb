"""Blocklist scale: import, size, false-positive rate, ready time, memory and lookups at 1 M, 5 M, 25 M names.

    flock /tmp/fraudwall-bench.lock .venv/bin/python benchmarks/blocklist_scale.py --sizes 1000000,5000000,25000000

Generates fraud-like domains (deterministic seed) into benchmarks/out/blocklist/, imports
each size into a fresh store with `fraudwall import`'s code path, then measures the store
in a fresh process (ready time and memory as a resolver worker would see them).
Every step has a time limit; results go to benchmarks/out/blocklist/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "blocklist"
SEED = 20240501
BRANDS = ["icbc", "ccb", "boc", "abc", "cmb", "alipay", "taobao", "jd", "tmall", "wechat", "qq", "paypal",
          "apple", "amazon", "netflix", "microsoft", "office365", "dhl", "fedex", "ups", "chase", "hsbc",
          "unionpay", "12306", "ctrip", "meituan", "pdd", "douyin", "steam", "binance", "coinbase", "metamask"]
WORDS = ["login", "verify", "secure", "account", "update", "refund", "tuikuan", "kefu", "support", "service",
         "wallet", "bonus", "gift", "prize", "claim", "pay", "bank", "online", "help", "center", "auth",
         "id", "unlock", "safe", "check", "confirm", "portal", "app", "vip", "cash", "loan", "invest", "trade"]
TLDS = ["com", "net", "top", "xyz", "cn", "shop", "vip", "cc", "icu", "online", "site", "club", "info", "live",
        "buzz", "work", "fun", "store", "org", "co"]


def fraud_names(count: int, seed: int) -> Iterator[str]:
    """Unique names: a counter in base 36 keeps them distinct, the rest makes them look real."""
    rng = random.Random(seed)
    choice, randrange = rng.choice, rng.randrange
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    for index in range(count):
        tag, value = "", index
        while True:
            value, digit = divmod(value, 36)
            tag = digits[digit] + tag
            if not value:
                break
        shape = randrange(4)
        if shape == 0:
            name = f"{choice(BRANDS)}-{choice(WORDS)}{tag}.{choice(TLDS)}"
        elif shape == 1:
            name = f"{choice(WORDS)}-{choice(BRANDS)}{tag}.{choice(TLDS)}"
        elif shape == 2:
            name = f"{choice(WORDS)}.{choice(BRANDS)}{choice(WORDS)}{tag}.{choice(TLDS)}"
        else:
            name = f"{choice(BRANDS)}{tag}{choice(WORDS)}.{choice(TLDS)}"
        yield name


def generate(path: Path, count: int, shape: str = "counter") -> None:
    """The feed of `count` names: `counter` names (above), or `random` ones (`import_command.py`'s), which
    reach the store's B-tree in no order at all, as a real feed's do; the counter names mostly in order."""
    if path.exists():
        return
    if shape == "random":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from import_command import random_names
        names: Iterator[str] = random_names(count)
    else:
        names = fraud_names(count, SEED)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w") as stream:
        batch = []
        for name in names:
            batch.append(name)
            if len(batch) == 100_000:
                stream.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            stream.write("\n".join(batch) + "\n")
    temporary.rename(path)


def tree_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.parent.glob(path.name + "*") if file.is_file()) + sum(
        file.stat().st_size for file in (path.parent / (path.name + ".d")).glob("*"))


def memory() -> dict[str, int]:
    fields = {}
    with open("/proc/self/smaps_rollup") as stream:
        for line in stream:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return fields


def measure(db: str, feed: str, count: int, lookups: int) -> dict:
    """Runs in a fresh process: what one resolver worker pays to open the store and query it."""
    import itertools

    # The test names first, so that the memory they take is not counted as the store's.
    stride = max(count // lookups, 1)
    with open(feed) as stream:
        blocked = [f"cdn.{line.strip()}" for line in itertools.islice(stream, 0, None, stride)][:lookups]
    # Names never imported (another seed, another shape): every "maybe" is a false positive.
    strangers = [name.replace(".", "-x.", 1) + "-fp" for name in fraud_names(min(lookups * 5, 1_000_000), SEED + 1)]
    allowed = [f"www.{name}.example" for name in strangers[:lookups]]
    from fraudwall.blocklists.lookup import StoreBlocklist
    baseline = memory()
    started = time.perf_counter()
    blocklist = StoreBlocklist(Path(db), cache_size=0)
    ready = time.perf_counter() - started
    after_open = memory()
    name_filter = blocklist._snapshot.name_filter
    false_positives = sum(1 for name in strangers if name in name_filter)
    results = {}
    for label, names in (("allowed", allowed), ("blocked", blocked)):
        match = blocklist.match_name
        started_lookups = time.perf_counter()
        hits = 0
        for name in names:
            if match(name) is not None:
                hits += 1
        seconds = time.perf_counter() - started_lookups
        results[label] = {"per_second": round(len(names) / seconds), "us_each": round(seconds / len(names) * 1e6, 2),
                          "hits": hits, "names": len(names)}
    final = memory()

    def private(fields: dict[str, int]) -> int:
        return fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)

    return {
        "ready_seconds": round(ready, 3),
        "rss_after_lookups": final.get("Rss", 0),
        "pss_after_lookups": final.get("Pss", 0),
        # The store's share: what opening and querying added to the process.
        "store_rss": final.get("Rss", 0) - baseline.get("Rss", 0),
        "store_private": private(final) - private(baseline),
        "store_private_dirty": final.get("Private_Dirty", 0) - baseline.get("Private_Dirty", 0),
        "store_rss_at_ready": after_open.get("Rss", 0) - baseline.get("Rss", 0),
        "false_positive_rate": false_positives / len(strangers),
        "false_positive_sample": len(strangers),
        "filter_fill_ratio": round(blocklist.fill_ratio, 4),
        "lookups": results,
    }


def import_feed(db: str, feed: str, workers: int) -> dict:
    """Runs in a fresh process: `fraudwall import FEED --list bench --format domains`, timed."""
    from fraudwall.blocklists.guards import load_guards
    from fraudwall.blocklists.importer import ImportRequest, import_list

    guards = load_guards()
    started = time.perf_counter()
    summary = import_list(Path(db), ImportRequest("bench", (feed,), format="domains", workers=workers), guards)
    return {"seconds": time.perf_counter() - started, "names": summary.totals.names,
            "duplicates": summary.totals.duplicates, "guarded": dict(summary.totals.guarded),
            "held": summary.totals.held, "phases": {k: round(v, 1) for k, v in summary.phases.items()}}


def run_size(count: int, feed: Path, workers: int, lookups: int, timeout: float) -> dict:
    store_dir = OUT / f"store-{count}"
    shutil.rmtree(store_dir, ignore_errors=True)
    store_dir.mkdir(parents=True)
    db = store_dir / "blocklists.db"
    command = [sys.executable, __file__, "--import-into", str(db), "--feed", str(feed), "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    import_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    directory = store_dir / "blocklists.db.d"
    segments = sum(f.stat().st_size for f in directory.glob("seg-*"))
    filter_file = sum(f.stat().st_size for f in directory.glob("filter-*"))
    list_filter = sum(f.stat().st_size for f in directory.glob("list-*"))
    measured = subprocess.run([sys.executable, __file__, "--measure", str(db), "--feed", str(feed), "--count", str(count),
                               "--lookups", str(lookups)], capture_output=True, text=True, timeout=timeout, check=True)
    return {
        "count": count,
        "import_seconds": round(result["seconds"], 1),
        "import_wall_seconds_incl_python_start": round(wall, 1),
        "import_rate_per_second": round(count / result["seconds"]),
        "import_phases_seconds": result["phases"],
        "names_stored": result["names"], "duplicates": result["duplicates"],
        "guarded": result["guarded"], "held": result["held"],
        "feed_bytes": feed.stat().st_size,
        "segment_bytes": segments, "filter_bytes": filter_file, "list_filter_bytes": list_filter,
        "catalogue_bytes": sum(f.stat().st_size for f in store_dir.glob("blocklists.db*") if f.is_file()),
        "import_cpu_seconds": round(import_cpu, 1),
        **json.loads(measured.stdout),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,5000000,25000000")
    parser.add_argument("--workers", type=int, default=0, help="import processes (0: one per CPU, at most 4)")
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for each step")
    parser.add_argument("--keep", action="store_true", help="keep the stores (they are large)")
    parser.add_argument("--shape", choices=("counter", "random"), default="counter",
                        help="counter: brand-word names with a counter (the results so far); random: random"
                             " fraud-like names, as `import_command.py` makes (they cost the import more)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--feed", help=argparse.SUPPRESS)
    parser.add_argument("--import-into", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_into:
        print(json.dumps(import_feed(args.import_into, args.feed, args.workers)))
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.feed, args.count, args.lookups)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(OUT).free
    if free < max(sizes) * 150:
        print(f"not enough disk: {free / 1e9:.1f} GB free, want {max(sizes) * 150 / 1e9:.1f}", file=sys.stderr)
        return 1
    results = []
    for count in sizes:
        feed = OUT / (f"domains-{count}.txt" if args.shape == "counter" else f"random-{count}.txt")
        started = time.perf_counter()
        generate(feed, count, args.shape)
        print(f"{count}: feed ready ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        result = run_size(count, feed, args.workers, args.lookups, args.timeout)
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
        if not args.keep:
            shutil.rmtree(OUT / f"store-{count}", ignore_errors=True)
    (OUT / "results.json").write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                                                  "results": results}, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
