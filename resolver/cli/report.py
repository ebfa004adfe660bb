"""The `report` verbs, what operators read: the query log, the clients who keep reaching fraud, and
the warning page's "this is a mistake" reports."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.resolver.observe.atrisk import as_json, assess
from fraudwall.resolver.observe.querylog import LogEntry, QueryLog, log_path, parse_duration
from fraudwall.resolver.warning.reports import Report, ReportStore, reports_path, store_path_of
from fraudwall.resolver.warning.settings import WarningSettings

STORE_HELP = "the blocklist store the log and reports sit beside (default: [blocklists] db of the config)"


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="what fraudwall blocked, who keeps reaching fraud, what people reported",
        description="Reports for operators: the query log, clients at risk, and the \"this is a mistake\" "
                    "reports sent from the warning page.")
    verbs = report.add_subparsers(title="reports", metavar="REPORT", required=True)
    for name, help, description, arguments, run in VERBS:
        parser = verbs.add_parser(name, help=help, description=description)
        arguments(parser)
        parser.set_defaults(run=run)
    # The spellings before `report` was one noun still work, unlisted (a parser without help= is not shown).
    for old, new in OLD_SPELLINGS.items():
        _name, _help, description, arguments, run = next(verb for verb in VERBS if verb[0] == new)
        parser = subparsers.add_parser(old, description=f"The old spelling of `fraudwall report {new}`. {description}")
        arguments(parser)
        parser.set_defaults(run=run)


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="24h", metavar="DURATION", help="how far back: 30m, 24h, 7d (default 24h)")
    parser.add_argument("--client", default="", metavar="ADDR", help="only this client")
    parser.add_argument("--name", default="", metavar="PATTERN", help="only names matching, e.g. '*.example.org'")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--db", metavar="PATH", help=STORE_HELP)


def _at_risk_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="24h", metavar="DURATION", help="how far back: 24h, 7d (default 24h)")
    parser.add_argument("--json", action="store_true", help="one JSON object a client")
    parser.add_argument("--db", metavar="PATH", help=STORE_HELP)


def _mistakes_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--all", action="store_true", help="also the reports already dealt with")
    parser.add_argument("--allow", type=int, metavar="ID",
                        help="allow the reported name (exactly that name) in the blocklist store")
    parser.add_argument("--ref", metavar="REFERENCE", help="what a page with this reference (FW-XXXX-XXXX) showed")
    parser.add_argument("--db", metavar="PATH", help=STORE_HELP)


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
            policy = f"  (policy {printable(entry.policy)})" if entry.policy else ""
            print(f"{_clock(entry.time)}  {printable(entry.client):<15}  {entry.verdict:<7}  {entry.qtype:<5}  "
                  f"{_what(entry)}{repeats}{policy}")
    if not entries and not args.json:
        print(f"no blocked or warned queries since {_clock(since)}")
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


def _warning_settings(args: argparse.Namespace) -> WarningSettings:
    return getattr(getattr(args, "config", None), "warning", None) or WarningSettings()


def run_mistakes(args: argparse.Namespace) -> int:
    settings = _warning_settings(args)
    path = reports_path(args.db or store_path_of(getattr(args, "config", None)), settings.ca_dir)
    if not path.exists():
        print(f"no reports: {path} does not exist yet (the warning page writes it)",
              file=sys.stderr if args.allow is not None or args.ref else sys.stdout)
        return 0 if args.allow is None and not args.ref else 1
    store = ReportStore(path)
    try:
        if args.ref:
            return _show_reference(store, args.ref, args.json)
        if args.allow is not None:
            return _allow(store, args.allow, path, args)
        reports = store.reports(None if args.all else "open")
        # Hosts, paths and comments come from whoever reached the page: escaped, they cannot forge a line.
        for report in reversed(reports):
            print(json.dumps(printable_json(report._asdict()), ensure_ascii=False) if args.json
                  else _as_text(report))
        if not reports and not args.json:
            print("no reports" if args.all else "no open reports (--all shows those dealt with)")
        return 0
    finally:
        store.close()


def _as_text(report: Report) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report.at))
    why = printable(f"{report.source_kind} {report.label}: {report.reason}".strip(": "))
    comment = f"\n    comment: '{printable(report.comment)}'" if report.comment else ""
    status = "" if report.status == "open" else f" [{printable(report.status)}]"
    where = printable(report.host + (report.path if report.path != "/" else ""))
    return f"#{report.id} {when} {where} from {printable(report.client)} " \
           f"ref {printable(report.reference)}{status}\n    why: {why}{comment}"


def _show_reference(store: ReportStore, reference: str, as_json: bool) -> int:
    view = store.view(reference)
    if view is None:
        print(f"{reference}: no page with this reference was shown (or it was pruned)", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(printable_json(view._asdict()), ensure_ascii=False))
    else:
        first = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.first_seen))
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.last_seen))
        what = printable(f"{view.reference} {view.host}: {view.source_kind} {view.label}: {view.reason}"
                         f"{' (impersonates ' + view.brand + ')' if view.brand else ''}")
        print(f"{what}\n    shown {view.views} times, {first} to {last}")
    return 0


def _allow(reports: ReportStore, report_id: int, path: Path, args: argparse.Namespace) -> int:
    report = reports.report(report_id)
    if report is None:
        print(f"fraudwall: error: no report #{report_id} in {path}", file=sys.stderr)
        return 2
    from fraudwall.blocklists import store
    from fraudwall.blocklists.formats import Mode
    from fraudwall.blocklists.verdict import Action

    db_text = args.db or store_path_of(getattr(args, "config", None))
    db = Path(db_text).expanduser()
    if not db_text or not db.exists():
        print(f"fraudwall: error: no blocklist store to allow {printable(report.host)} in; this config serves "
              f"lists from memory: add it to [allowlist] names instead", file=sys.stderr)
        return 2
    connection = store.connect_catalogue(db)
    try:
        # Exactly the reported name: a subtree allow could unblock a whole fraud domain.
        store.set_manual(connection, [(report.host, Mode.EXACT, Action.ALLOW,
                                       f"warning page report #{report.id} ({report.reference})")])
    finally:
        connection.close()
    reports.close_reports(report.host, "allowed", time.time())
    print(f"allowed: {printable(report.host)} (report #{report.id}; running servers pick it up within 2 s)")
    return 0


# (verb, help, description, its arguments, run): `fraudwall report VERB`.
VERBS = (
    ("log", "blocked and warned queries",
     "Show the query log: blocked and warned queries (and all queries when [querylog] log_all is on).",
     _log_arguments, run_log),
    ("at-risk", "clients that keep reaching fraud names",
     "Clients that tried to reach several blocked fraud names within a window, or were blocked after a "
     "look-alike warning: who, why, and what they tried to reach, when.",
     _at_risk_arguments, run_at_risk),
    ("mistakes", "the warning page's \"this is a mistake\" reports",
     "List the reports people sent from the warning page (newest first), look up a page's reference, "
     "or allow the name a report is about.",
     _mistakes_arguments, run_mistakes),
)
OLD_SPELLINGS = {"log": "log", "reports": "mistakes"}
