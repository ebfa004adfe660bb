"""The `log` and `report at-risk` verbs: what fraudwall blocked, and who keeps running into fraud."""

from __future__ import annotations

import argparse
import json
import sys
import time

from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.resolver.observe.atrisk import as_json, assess
from fraudwall.resolver.observe.querylog import LogEntry, QueryLog, log_path, parse_duration


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    log = subparsers.add_parser(
        "log", help="show blocked and warned queries",
        description="Show the query log: blocked and warned queries (and all queries when [querylog] log_all is on).")
    log.add_argument("--since", default="24h", metavar="DURATION", help="how far back: 30m, 24h, 7d (default 24h)")
    log.add_argument("--client", default="", metavar="ADDR", help="only this client")
    log.add_argument("--name", default="", metavar="PATTERN", help="only names matching, e.g. '*.example.org'")
    log.add_argument("--json", action="store_true", help="one JSON object a line")
    log.add_argument("--db", metavar="PATH", help="the blocklist store the log sits beside")
    log.set_defaults(run=run_log)

    report = subparsers.add_parser("report", help="reports for operators",
                                   description="Reports for operators: `at-risk` lists clients who keep reaching fraud.")
    reports = report.add_subparsers(metavar="REPORT", required=True)
    at_risk = reports.add_parser(
        "at-risk", help="clients that keep reaching fraud names",
        description="Clients that tried to reach several blocked fraud names within a window, or were blocked "
                    "after a look-alike warning: who, why, and what they tried to reach, when.")
    at_risk.add_argument("--since", default="24h", metavar="DURATION", help="how far back: 24h, 7d (default 24h)")
    at_risk.add_argument("--json", action="store_true", help="one JSON object a client")
    at_risk.add_argument("--db", metavar="PATH", help="the blocklist store the log sits beside")
    at_risk.set_defaults(run=run_at_risk)


def _open(args: argparse.Namespace) -> QueryLog:
    settings = args.config.querylog
    path = log_path(settings.path, args.db or args.config.blocklists.db)
    if not path.exists():
        raise SystemExit(f"fraudwall: no query log at {path} yet (fraudwall serve writes it)")
    return QueryLog(path, settings.retention_days, settings.max_rows, settings.pseudonymise)


def _since(text: str) -> float:
    try:
        return time.time() - parse_duration(text)
    except ValueError as error:
        raise SystemExit(f"fraudwall: --since: {error}") from None


def _clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def run_log(args: argparse.Namespace) -> int:
    since = _since(args.since)
    querylog = _open(args)
    try:
        entries = querylog.read(since, args.client, args.name)
    finally:
        querylog.close()
    for entry in entries:
        # Names and reasons come from clients and upstream answers: escaped, they cannot drive the terminal.
        if args.json:
            print(json.dumps(printable_json(entry._asdict()), ensure_ascii=False))
        else:
            repeats = f"  x{entry.count}" if entry.count > 1 else ""
            print(f"{_clock(entry.time)}  {printable(entry.client):<15}  {entry.verdict:<7}  {entry.qtype:<5}  "
                  f"{_what(entry)}{repeats}")
    if not entries and not args.json:
        print(f"no blocked or warned queries since {_clock(since)}", file=sys.stderr)
    return 0


def run_at_risk(args: argparse.Namespace) -> int:
    settings = args.config.atrisk
    since = _since(args.since)
    querylog = _open(args)
    try:
        entries = querylog.read(since, limit=1_000_000)
    finally:
        querylog.close()
    flagged = assess(entries, settings.distinct_names, settings.window_hours * 3600, settings.after_warning)
    if args.json:
        for client in flagged:
            print(json.dumps(printable_json(as_json(client)), ensure_ascii=False))
        return 0
    if not flagged:
        print(f"no client at risk since {_clock(since)}")
        return 0
    print(f"{len(flagged)} client(s) at risk since {_clock(since)}; call them back, most recent first:\n")
    for client in flagged:
        print(f"{printable(client.client)}: {printable(client.trigger)}")
        print(f"  first {_clock(client.first)}, last {_clock(client.last)}, {len(client.names)} name(s)")
        for entry in _latest_per_name(client.attempts):
            print(f"  {_clock(entry.time)}  {entry.verdict:<7} {_what(entry)}")
        print()
    return 0


def _what(entry: LogEntry) -> str:
    return printable(f"{entry.name}  ({entry.label}: {entry.reason})")


def _latest_per_name(entries: tuple[LogEntry, ...]) -> list[LogEntry]:
    latest: dict[str, LogEntry] = {}
    for entry in entries:
        latest[entry.name] = entry
    return sorted(latest.values(), key=lambda entry: entry.time)
