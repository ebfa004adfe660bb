#!/usr/bin/env python3
"""NOD cost: CPU microseconds the newly-observed-domain stage adds to a query, in-process.

    .venv/bin/python benchmarks/nod_cost.py                 # ~10 s; writes RESULTS.md
    .venv/bin/python benchmarks/nod_cost.py --count 2000 --rounds 1 --no-write   # quick look
    .venv/bin/python benchmarks/nod_cost.py --count 50000

What it runs: the scorer stage alone, then the scorer stage followed by the NOD stage (as
resolver/dns/decision.py links them, `[nod]` as shipped: threshold 0.3, action warn, 1 M domains a
period), each ending in a stage that answers at once, so that only these stages are measured. The
memory of seen domains is a fresh file in a temporary directory (blocklists/seen.py).

Workloads, `--count` queries each:
  seen  names under 2,000 registrable domains already asked for, scores cached (a resolver's usual
        traffic): the registrable domain from the per-name cache, one xxh3 and the bit tests
  new   a new registrable domain every query, its score cached beforehand (the scorer's own work is not
        NOD's): the suffix list, the bits set in the mapped file, the page faults of a fresh file

The figure is `time.process_time` per query, the best of `--rounds` for `seen`; the difference between
the two chains is what NOD costs. Prints the figures and writes them to the `nod-cost` section of
benchmarks/RESULTS.md (with the command, the machine and its load), unless `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from section import Occasion, begin, opening, publish  # noqa: E402

from fraudwall.blocklists.seen import open_seen
from fraudwall.resolver.config import SinkholeSettings
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage, link
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.decision import question
from fraudwall.resolver.dns.policy import BLOCK, Policy
from fraudwall.resolver.dns.sinkhole import Sinkhole
from fraudwall.resolver.dns.stages.nod import NodStage
from fraudwall.resolver.dns.stages.scorer import ScorerStage
from fraudwall.scoring.scorer import Scorer

ANSWER = Answer(AnswerKind.RESOLVED, b"")


class Answered(Stage):
    """The cache and the upstream, at no cost."""

    async def resolve(self, query):
        return ANSWER


def drive(chain: Stage, query) -> Answer:
    running = chain.resolve(query)
    try:
        running.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a stage waited")


def per_query(chain: Stage, queries: list) -> float:
    started = time.process_time()
    for query in queries:
        drive(chain, query)
    return (time.process_time() - started) / len(queries) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    occasion = begin("nod_cost", argv)
    scorer = Scorer()
    policy = Policy("default", BLOCK, None, BLOCK, Sinkhole(SinkholeSettings()))
    workloads: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory, \
            open_seen(Path(directory) / "seen-domains.bloom", 1_000_000, 7) as seen:
        nod = NodStage(seen, scorer, policy, 0.3)
        chains = {"scorer": link(ScorerStage(scorer, policy), Answered()),
                  "scorer+nod": link(ScorerStage(scorer, policy), nod, Answered())}

        repeated = [question(f"host{index}.site{index % 2000}.example") for index in range(args.count)]
        figures = {}
        for label, chain in chains.items():
            per_query(chain, repeated)   # warm: the scores, the registrable domains, the domains seen
            figures[label] = min(per_query(chain, repeated) for _ in range(args.rounds))
        workloads["seen"] = dict(figures)
        print(f"seen: scorer {figures['scorer']:.2f} us, scorer+nod {figures['scorer+nod']:.2f} us, "
              f"nod {figures['scorer+nod'] - figures['scorer']:.2f} us a query")

        for label, chain in chains.items():
            tag = label.replace("+", "-")
            fresh = [question(f"w{tag}{index}x.example{index}.com") for index in range(args.count)]
            for query in fresh:
                scorer.score(query.qname)
            figures[label] = per_query(chain, fresh)
        workloads["new"] = dict(figures)
        print(f"new:  scorer {figures['scorer']:.2f} us, scorer+nod {figures['scorer+nod']:.2f} us, "
              f"nod {figures['scorer+nod'] - figures['scorer']:.2f} us a query")
        print(f"newly observed: {nod.observed}")
    publish("nod-cost", "Newly observed domains: the stage's cost (`benchmarks/nod_cost.py`)",
            report(workloads, dict(nod.observed), args, occasion, os.getloadavg()[0]), args.no_write)
    return 0


def report(workloads: dict[str, dict[str, float]], observed: dict, args: argparse.Namespace, occasion: Occasion,
           end_load: float) -> str:
    """The `nod-cost` section of RESULTS.md: per workload, the shipped chain, the scorer alone, the difference."""
    said = {"seen": f"names under 2,000 registrable domains asked before, best of {args.rounds} rounds",
            "new": "a new registrable domain every query, its score cached beforehand, one round"}
    lines = [
        *opening(occasion, end_load=end_load),
        "CPU µs per query (`time.process_time`), {:,} queries a workload: the scorer stage followed by the NOD "
        "stage as resolver/dns/decision.py links them (`[nod]` as shipped: on, threshold 0.3, action warn, "
        "1 M domains a period, its memory a fresh file), and the scorer stage alone (`[nod] enabled = false`), "
        "each ending in a stage that answers at once.".format(args.count),
        "",
        "| workload | shipped defaults (scorer + NOD) | NOD off (scorer alone) | NOD's cost |",
        "|---|---:|---:|---:|",
        *(f"| {workload} ({said[workload]}) | {figures['scorer+nod']:.2f} | {figures['scorer']:.2f} | "
          f"{figures['scorer+nod'] - figures['scorer']:.2f} |" for workload, figures in workloads.items()),
        "",
        "Domains the NOD stage found newly observed, by what it did (as `fraudwall_newly_observed_total{action}` "
        "counts them; `none`: scored under the threshold): "
        + (", ".join(f"{action} {count:,}" for action, count in observed.items()) or "none") + ".",
        "What limits the figure: Python on one core of this CPU; the difference of two timings a few µs apart, "
        "so a shared machine's noise shows in it (the `seen` rounds take the least; `new` is one pass, since its "
        "names are new only once). `new` includes the page faults of a fresh memory file, which a server that "
        "has run a while has behind it. These are the two stages alone, without the rest of the query path; "
        "first_seen_cost.py's `nod off` row shows NOD on the whole path.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
