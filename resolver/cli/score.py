"""`fraudwall score`: the scorer on the command line, one JSON object a line.

A long input (`PARALLEL_FROM` names or more on stdin, read from a file or pipe and written to one)
is scored by a pool of processes, one for each CPU this process may use, forked once the scorer is
built so they start with its tables; chunks of names go out in order and their lines are written in
that order, so the output is the one a single process writes. A terminal on either side keeps the
single process, which answers each name as it is read.
"""

from __future__ import annotations

import argparse
import collections
import gc
import itertools
import json
from json.encoder import encode_basestring
import os
import signal
import sys
from typing import Callable, Iterable, Iterator, TextIO

from fraudwall.blocklists.printable import printable_json
from fraudwall.scoring.brands import BrandsError
from fraudwall.scoring.names import InvalidName, normalise_name
from fraudwall.scoring.score import Rule, Score, Verdict
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.settings import ScorerSettings

__all__ = ["add_parsers", "run"]

# Below this many names the pool costs more (a fork per CPU, the chunks' round trips) than it saves.
PARALLEL_FROM = 5_000
CHUNK = 1_000               # names a pool process scores per task
CHUNKS_AHEAD = 4            # tasks queued per process: input is read no further ahead than this
# Allocations between two collections of the young generation; Python's 700 made the collector
# a tenth of the time of a name seen for the first time (the resolver's worker raises it too).
GC_YOUNG_THRESHOLD = 50_000

_EPILOG = """\
Each name gives one line: {"name", "score", "verdict", "brand", "reasons", "rule"};
a name that is not a domain name gives {"name", "error"} and the run goes on.
Thresholds and the admin's brands file come from the [scorer] section of --config.
From 5,000 names on stdin (neither side a terminal), every CPU scores; the order stays.
Exit status: 0, or 2 when a name was invalid, 1 when the brands file is broken.
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register the `score` verb on the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "score", help="score names for look-alikes of protected brands (JSON lines)",
        description="Score domain names the way the resolver's scorer stage does, and say why.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="domain names to score")
    parser.add_argument("--stdin", action="store_true", help="also read names from standard input, one a line")
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> ScorerSettings:
    config = getattr(args, "config", None)
    settings = getattr(config, "scorer", None)
    return settings if isinstance(settings, ScorerSettings) else ScorerSettings()


def _names(args: argparse.Namespace, stdin: TextIO) -> Iterator[str]:
    yield from args.names
    if args.stdin:
        for line in stdin:
            name = line.strip()
            if name and not name.startswith("#"):
                yield name


def _scored(scorer: Scorer, names: Iterable[str], encode: Callable[[object], str]) -> tuple[str, int]:
    """The output lines of `names` and the exit status they make (2 when one is invalid, else 0)."""
    lines = []
    status = 0
    score_normalised = scorer.score_normalised
    for name in names:
        try:
            # The name as the lists spell it, so `score faß.de` and `check faß.de` speak of xn--fa-hia.de.
            name = normalise_name(name)
            score = score_normalised(name)
        except InvalidName as error:
            record: dict | None = {"name": name, "error": str(error)}
            line = encode(record)
            status = 2
        else:
            record = None
            line = _line(name, score, encode)
        # The names come from the command line or a feed on stdin: escaped, they cannot drive the terminal.
        # printable_json changes only a string with a backslash or a character that is not printable;
        # JSON writes a backslash for the first and for every control character, and leaves the
        # others as they are: a line without a backslash that is printable needed no escaping.
        if "\\" in line or not line.isprintable():
            line = encode(printable_json(record if record is not None else _record(name, score)))
        lines.append(line)
    lines.append("")
    return "\n".join(lines), status


def _record(name: str, score: Score) -> dict:
    return {"name": name, "score": score.value, "verdict": score.verdict.value,
            "brand": score.brand, "reasons": list(score.reasons), "rule": score.rule}


def _line(name: str, score: Score, encode: Callable[[object], str]) -> str:
    """encode(_record(name, score)), written key for key in half the time (a tenth of a name's cost
    in a long run): strings and the float as json's encoder writes them, with its own functions."""
    if type(score.value) is not float:
        return encode(_record(name, score))
    quote, brand, rule = encode_basestring, score.brand, score.rule
    return (f'{{"name": {quote(name)}, "score": {float.__repr__(score.value)}, '
            f'"verdict": {_VERDICTS[score.verdict]}, "brand": {"null" if brand is None else quote(brand)}, '
            f'"reasons": [{", ".join(map(quote, score.reasons))}], "rule": {_RULES.get(rule) or quote(rule)}}}')


# The verdicts and rules as JSON writes them: a closed set, written once rather than for every line.
_VERDICTS = {verdict: encode_basestring(verdict.value) for verdict in Verdict}
_RULES = {rule.value: encode_basestring(rule.value) for rule in Rule}


def _encoder() -> Callable[[object], str]:
    """json.dumps(value, ensure_ascii=False), with the encoder made once rather than per line."""
    return json.JSONEncoder(ensure_ascii=False).encode


def _workers(stdin: TextIO, stdout: TextIO) -> int:
    """Processes to score a long input with: every CPU this process may use, unless a person
    watches either end (a terminal gets each line as its name is read)."""
    if _is_terminal(stdin) or _is_terminal(stdout):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None,
        workers: int | None = None) -> int:
    """`workers`: processes for a long input; None: as many as `_workers` says."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not args.names and not args.stdin:
        print("fraudwall score: give names, or --stdin", file=sys.stderr)
        return 2
    # The scorer's tables are tens of thousands of containers made at once, all kept: with Python's
    # threshold the collector walked them again and again while they were built.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        scorer = Scorer(_settings(args))
    except BrandsError as error:
        print(f"fraudwall score: {error}", file=sys.stderr)
        return 1
    # What is built so far (imports, the brand index, the suffix list) lives as long as the run:
    # left out of the collector's walks, and of the pages a forked pool process would copy.
    gc.freeze()
    encode = _encoder()
    names = _names(args, stdin)
    workers = _workers(stdin, stdout) if workers is None else workers
    head: list[str] = []
    if workers > 1:
        head = list(itertools.islice(names, PARALLEL_FROM))
        if len(head) == PARALLEL_FROM:
            status = _run_parallel(scorer, itertools.chain(head, names), stdout, workers, encode)
            stdout.flush()
            return status
    status = 0
    for name in itertools.chain(head, names):
        text, line_status = _scored(scorer, (name,), encode)
        stdout.write(text)
        status = max(status, line_status)
    stdout.flush()
    return status


def _run_parallel(scorer: Scorer, names: Iterator[str], stdout: TextIO, workers: int,
                  encode: Callable[[object], str]) -> int:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    status = 0
    with context.Pool(workers, initializer=_adopt, initargs=(scorer, encode)) as pool:
        pending: collections.deque = collections.deque()
        chunks = iter(lambda: list(itertools.islice(names, CHUNK)), [])
        for chunk in itertools.chain(chunks, [None]):
            if chunk is not None:
                pending.append(pool.apply_async(_score_chunk, (chunk,)))
            # Written in the order read; no more than CHUNKS_AHEAD tasks a process queued meanwhile.
            while pending and (chunk is None or len(pending) >= CHUNKS_AHEAD * workers or pending[0].ready()):
                text, chunk_status = pending.popleft().get()
                stdout.write(text)
                status = max(status, chunk_status)
    return status


# What a pool process scores with: set once by `_adopt` as the process starts (forked, it holds
# the parent's scorer already), read by each `_score_chunk` it runs. Never set in the parent.
_POOL_PROCESS: dict[str, object] = {}


def _adopt(scorer: Scorer, encode: Callable[[object], str]) -> None:
    # Ctrl-C is the parent's to handle (exit 130, the pool ended): a traceback from each process would bury it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _POOL_PROCESS["scorer"] = scorer
    _POOL_PROCESS["encode"] = encode


def _score_chunk(names: list[str]) -> tuple[str, int]:
    return _scored(_POOL_PROCESS["scorer"], names, _POOL_PROCESS["encode"])  # type: ignore[arg-type]
