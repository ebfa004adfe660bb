"""Micro-benchmark of `match_name` on the query path, and of the Bloom test against pybloom-live's own.

    flock /tmp/fraudwall-bench.lock .venv/bin/python benchmarks/blocklist_lookup.py

Builds a store of 200 000 fraud-like names in a temporary directory, then times, per call:
pybloom-live's `name in BloomFilter` and ours on the same filter size; `match_name` for names
not blocked (2 to 4 labels, cache off), for blocked names (cache off: filter, then SQLite),
and for any name again (the verdict cache). Best of five runs of 50 000 calls each.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from pybloom_live import BloomFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blocklist_scale import SEED, fraud_names
from fraudwall.blocklists.bloom import NameFilter
from fraudwall.blocklists.guards import load_guards
from fraudwall.blocklists.importer import ImportRequest, import_list
from fraudwall.blocklists.lookup import StoreBlocklist

COUNT = 200_000
CALLS = 50_000


def best_of(function, names: list[str], runs: int = 5) -> float:
    """Microseconds per call, best of `runs`."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for name in names:
            function(name)
        best = min(best, (time.perf_counter() - started) / len(names))
    return round(best * 1e6, 3)


def main() -> int:
    names = list(fraud_names(COUNT, SEED))
    strangers = [name.replace(".", "-x.", 1) for name in fraud_names(CALLS, SEED + 1)]
    results: dict[str, float] = {}
    theirs = BloomFilter(COUNT, 0.001)
    ours = NameFilter.empty(COUNT, 0.001)
    for name in names[:COUNT]:
        theirs.add(name)
    ours.add_many(names)
    results["pybloom_live_contains_miss_us"] = best_of(theirs.__contains__, strangers)
    results["ours_contains_miss_us"] = best_of(ours.__contains__, strangers)
    with tempfile.TemporaryDirectory() as directory:
        feed = Path(directory) / "feed.txt"
        feed.write_text("\n".join(names) + "\n")
        db = Path(directory) / "b.db"
        import_list(db, ImportRequest("bench", (str(feed),), format="domains", workers=1), load_guards())
        uncached = StoreBlocklist(db, cache_size=0)
        for labels, prefix in ((2, ""), (3, "www."), (4, "a.www.")):
            results[f"match_name_not_blocked_{labels}_labels_uncached_us"] = best_of(
                uncached.match_name, [prefix + name for name in strangers])
        results["match_name_blocked_uncached_us"] = best_of(uncached.match_name, ["cdn." + n for n in names[:CALLS]])
        cached = StoreBlocklist(db, cache_size=CALLS * 2)
        warm = ["www." + name for name in strangers]
        best_of(cached.match_name, warm, runs=1)
        results["match_name_cached_us"] = best_of(cached.match_name, warm)
        started = time.perf_counter()
        for _ in range(1000):
            uncached.refresh()
        results["refresh_nothing_changed_us"] = round((time.perf_counter() - started) / 1000 * 1e6, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
