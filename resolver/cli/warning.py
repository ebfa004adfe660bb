"""The `ca init` and `reports` verbs."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.resolver.warning import certificates
from fraudwall.resolver.warning.reports import Report, ReportStore, reports_path, store_path_of
from fraudwall.resolver.warning.settings import WarningSettings

INSTALL_HELP = """\
Install {cert} as a trusted root on the clients that should see the warning page
over HTTPS (only on machines you manage: whoever holds ca.key can impersonate any site
to them, so keep it on this host, mode 0600):

  Debian/Ubuntu: sudo cp {cert} /usr/local/share/ca-certificates/{stem}.crt && sudo update-ca-certificates
  Windows:       certutil -addstore -f Root {stem}.crt   (as administrator; or double-click, "Install Certificate",
                 Local Machine, "Trusted Root Certification Authorities")
  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {stem}.crt
  Android:       Settings > Security > Encryption & credentials > Install a certificate > CA certificate
                 (apps trust user CAs only if they opt in; Chrome does)
  iOS/iPadOS:    send the file (mail, AirDrop), install the profile in Settings, then enable it under
                 General > About > Certificate Trust Settings
  Firefox:       Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import
                 (or set security.enterprise_roots.enabled to use the system's roots)

Then set tls_listen (and ca_dir = "{directory}") in the [warning] section of the config.
Chromium for tests: --ignore-certificate-errors-spki-list={spki}
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    ca = subparsers.add_parser("ca", help="the lab CA behind the warning page's HTTPS certificates",
                               description="Manage the lab CA that signs a certificate for each blocked name, "
                                           "so clients that trust it see the warning page over HTTPS.")
    ca_verbs = ca.add_subparsers(title="ca commands", metavar="ACTION", required=True)
    init = ca_verbs.add_parser("init", help="create ca.crt and ca.key",
                               description="Create a lab CA (EC P-256): ca.crt to install on clients, ca.key (0600).")
    init.add_argument("--dir", metavar="DIR", default=None,
                      help="where (default: [warning] ca_dir, else /var/lib/fraudwall/ca as root, "
                           "else ~/.local/state/fraudwall/ca)")
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(run=run_ca_init)

    reports = subparsers.add_parser(
        "reports", help="the warning page's \"this is a mistake\" reports",
        description="List the reports people sent from the warning page (newest first), look up a page's "
                    "reference, or allow the name a report is about.")
    reports.add_argument("--json", action="store_true", help="one JSON object a line")
    reports.add_argument("--all", action="store_true", help="also the reports already dealt with")
    reports.add_argument("--allow", type=int, metavar="ID",
                         help="allow the reported name (exactly that name) in the blocklist store")
    reports.add_argument("--ref", metavar="REFERENCE", help="what a page with this reference (FW-XXXX-XXXX) showed")
    reports.add_argument("--db", metavar="PATH", default=None,
                         help="the blocklist store, whose reports.db beside it holds the reports"
                              " (default: [blocklists] db of the config)")
    reports.set_defaults(run=run_reports)


def warning_settings(args: argparse.Namespace) -> WarningSettings:
    return getattr(getattr(args, "config", None), "warning", None) or WarningSettings()


def run_ca_init(args: argparse.Namespace) -> int:
    settings = warning_settings(args)
    directory = Path(args.dir).expanduser() if args.dir else certificates.ca_dir_of(settings.ca_dir)
    try:
        ca = certificates.create_ca(directory, settings.organisation, force=args.force)
    except certificates.CAError as error:
        print(f"fraudwall: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"fraudwall: error: {directory}: cannot write the CA: {error.strerror}", file=sys.stderr)
        return 2
    cert = directory / certificates.CA_CERT
    spki = base64.b64encode(certificates.spki_sha256(ca.certificate)).decode()
    print(f"created {cert} and {directory / certificates.CA_KEY} (valid {certificates.CA_YEARS} years)\n")
    print(INSTALL_HELP.format(cert=cert, stem=f"{settings.organisation}-warning-ca".replace(" ", "-"),
                              directory=directory, spki=spki), end="")
    return 0


def run_reports(args: argparse.Namespace) -> int:
    settings = warning_settings(args)
    path = reports_path(args.db or store_path_of(getattr(args, "config", None)), settings.ca_dir)
    if not path.exists():
        print(f"no reports: {path} does not exist yet", file=sys.stderr)
        return 0 if args.allow is None and not args.ref else 1
    store = ReportStore(path)
    try:
        if args.ref:
            return _show_reference(store, args.ref, args.json)
        if args.allow is not None:
            return _allow(store, args.allow, path, args)
        # Hosts, paths and comments come from whoever reached the page: escaped, they cannot forge a line.
        for report in reversed(store.reports(None if args.all else "open")):
            print(json.dumps(printable_json(report._asdict()), ensure_ascii=False) if args.json
                  else _as_text(report))
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
