#!/usr/bin/env python3
"""NOD cost: CPU microseconds the newly-observed-domain stage adds to a query, in-process.

    .venv/bin/python benchmarks/nod_cost.py                 # ~10 s
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
the two chains is what NOD costs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    scorer = Scorer()
    policy = Policy("default", BLOCK, None, BLOCK, Sinkhole(SinkholeSettings()))
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
        print(f"seen: scorer {figures['scorer']:.2f} us, scorer+nod {figures['scorer+nod']:.2f} us, "
              f"nod {figures['scorer+nod'] - figures['scorer']:.2f} us a query")

        for label, chain in chains.items():
            tag = label.replace("+", "-")
            fresh = [question(f"w{tag}{index}x.example{index}.com") for index in range(args.count)]
            for query in fresh:
                scorer.score(query.qname)
            figures[label] = per_query(chain, fresh)
        print(f"new:  scorer {figures['scorer']:.2f} us, scorer+nod {figures['scorer+nod']:.2f} us, "
              f"nod {figures['scorer+nod'] - figures['scorer']:.2f} us a query")
        print(f"newly observed: {nod.observed}")


if __name__ == "__main__":
    main()
