"""`fraudwall score`: the scorer on the command line, one JSON object a line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, TextIO

from fraudwall.blocklists.printable import printable_json
from fraudwall.scoring.brands import BrandsError
from fraudwall.scoring.names import InvalidName, normalise_name
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.settings import ScorerSettings

__all__ = ["add_parsers", "run"]

_EPILOG = """\
Each name gives one line: {"name", "score", "verdict", "brand", "reasons", "rule"};
a name that is not a domain name gives {"name", "error"} and the run goes on.
Thresholds and the admin's brands file come from the [scorer] section of --config.
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


def _names(args: argparse.Namespace, stdin: TextIO) -> Iterable[str]:
    yield from args.names
    if args.stdin:
        for line in stdin:
            name = line.strip()
            if name and not name.startswith("#"):
                yield name


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not args.names and not args.stdin:
        print("fraudwall score: give names, or --stdin", file=sys.stderr)
        return 2
    try:
        scorer = Scorer(_settings(args))
    except BrandsError as error:
        print(f"fraudwall score: {error}", file=sys.stderr)
        return 1
    status = 0
    for name in _names(args, stdin):
        try:
            # The name as the lists spell it, so `score faß.de` and `check faß.de` speak of xn--fa-hia.de.
            name = normalise_name(name)
            score = scorer.score(name)
        except InvalidName as error:
            record: dict = {"name": name, "error": str(error)}
            status = 2
        else:
            record = {"name": name, "score": score.value, "verdict": score.verdict.value,
                      "brand": score.brand, "reasons": list(score.reasons), "rule": score.rule}
        # The names come from the command line or a feed on stdin: escaped, they cannot drive the terminal.
        stdout.write(json.dumps(printable_json(record), ensure_ascii=False) + "\n")
    stdout.flush()
    return status
