"""The `fraudwall` command: one module per group of verbs, all in this folder (no other module imports them)."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

from fraudwall.resolver import config as config_module
from fraudwall.resolver.observe.metrics import fraudwall_version

# Each module has `add_parsers(subparsers)`, registering verbs whose `run(args)` returns the exit code.
COMMAND_MODULES = (
    "fraudwall.resolver.cli.serve",
    "fraudwall.resolver.cli.report",
    "fraudwall.resolver.cli.lists",
    "fraudwall.resolver.cli.check",
    "fraudwall.resolver.cli.entries",
    "fraudwall.resolver.cli.score",
    "fraudwall.resolver.cli.warning",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fraudwall", description="A DNS firewall against online fraud.")
    parser.add_argument("--version", action="version", version=f"fraudwall {fraudwall_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(subparsers)
    for verb in subparsers.choices.values():
        verb.add_argument("--config", metavar="FILE", dest="config_file",
                          help="the TOML config file (default: the bundled one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.config = config_module.load(args.config_file)
        return args.run(args)
    except config_module.ConfigError as error:
        print(f"fraudwall: config error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, sqlite3.Error) as error:
        # The last resort: each verb says what went wrong where; what one missed is still one line.
        print(f"fraudwall: error: {_place(error, args)}", file=sys.stderr)
        return 2


def _place(error: OSError | sqlite3.Error, args: argparse.Namespace) -> str:
    """The error as one line, naming the file it concerns when it is known."""
    if isinstance(error, OSError):
        return f"{error.filename}: {error.strerror}" if error.filename else str(error)
    return f"{getattr(args, 'db', None) or 'a database'}: {error}"

