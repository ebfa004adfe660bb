"""The verbs on whole lists: import, lists, export, quarantine."""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from fraudwall.blocklists import fetch, store
from fraudwall.blocklists.formats import DomainEntry, Format, domains, hosts, rpz
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.printable import printable
from fraudwall.blocklists.store import ACTIONS, MANUAL_LIST, StorePaths
from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.cli.common import (
    CommandError, db_path, guards_for, list_settings, name_or_address, ready_db, store_verb,
)

EXPORT_FORMATS = ("rpz", "hosts", "domains")


def add_parsers(subparsers) -> None:
    parser = store_verb(subparsers, "import", run_import, "import feeds (files or URLs) as one list, replacing its previous import")
    parser.add_argument("sources", nargs="+", metavar="FILE|URL")
    parser.add_argument("--list", required=True, metavar="NAME", help="the list's name (lowercase, e.g. phishing)")
    parser.add_argument("--format", default="auto", choices=["auto"] + [f.value for f in Format],
                        help="the feed format (default: detected from the content)")
    parser.add_argument("--match", choices=("exact", "subtree"), default="",
                        help="hosts files, domain lists and URL hosts: block the name only, or its subdomains too"
                             " (default: subtree, as `block` and `allow`)")
    parser.add_argument("--exact", action="store_const", const="exact", dest="match",
                        help="the same as --match exact: each plain entry blocks its name only")
    parser.add_argument("--force", action="store_true",
                        help="accept an import that changes more than [blocklists] change_threshold of the list")
    parser.add_argument("--column", default="", metavar="N",
                        help="--format csv: the URL column, a 1-based number or a header name")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="parsing processes (default: [blocklists] import_workers)")

    # `lists` shows, `lists remove NAME` removes: a noun with a sub-verb, as `git remote [remove NAME]`.
    parser = store_verb(subparsers, "lists", run_lists,
                        "show the imported lists; `lists remove NAME` removes one and its entries")
    parser.add_argument("verb", nargs="?", choices=("remove",), metavar="remove",
                        help="remove the list NAME (its entries, quarantine and confirmations)")
    parser.add_argument("list", nargs="?", metavar="NAME")

    parser = store_verb(subparsers, "export", run_export, "write a list out as an RPZ zone, a hosts file or a domain list")
    parser.add_argument("--list", required=True, metavar="NAME")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument("--output", default="-", metavar="FILE", help="default: standard output")

    parser = store_verb(subparsers, "quarantine", run_quarantine,
                  "list imported entries held back because they would block a popular site; --confirm enforces them")
    parser.add_argument("--confirm", nargs="+", default=(), metavar="NAME")


# -- import ------------------------------------------------------------------------------

class ProgressBar:
    """The import's progress on stderr, only when stderr is a terminal: an `on_progress` callback."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.clock = stream or sys.stderr, clock
        self.enabled = self.stream.isatty()
        self.started = clock()
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if not self.enabled or now - self.shown < 0.2:
            return
        self.shown = now
        share = min(done / max(total, 1), 1.0)
        rate = done / max(now - self.started, 1e-6) / 1e6
        bar = "#" * int(share * 30)
        self.stream.write(f"\rimporting [{bar:<30}] {share:6.1%} {rate:6.1f} MB/s")
        self.stream.flush()

    def end(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def run_import(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list

    settings = list_settings(args)
    db = db_path(args)
    # Absolute paths: `check` shows where an entry came from, whatever directory it runs in.
    sources = tuple(source if fetch.is_url(source) else os.path.abspath(source) for source in args.sources)
    bar = ProgressBar()
    try:
        request = ImportRequest(
            args.list, sources, format=args.format, match=args.match, force=args.force, column=args.column,
            threshold=settings.change_threshold, error_rate=settings.filter_error_rate,
            workers=args.workers if args.workers is not None else settings.import_workers, on_progress=bar)
        summary = import_list(db, request, guards_for(args))
    except ImportFailed as error:
        raise CommandError(f"{error}; nothing was changed") from None
    finally:
        bar.end()
    # Skipped and guarded lines are quoted from the feed: escaped, they cannot drive the terminal.
    for line in summary.lines():
        print(printable(line))
    if summary.held_back:
        print(printable(f"fraudwall import: held back: {summary.held_back}"), file=sys.stderr)
    return summary.exit_code


# -- lists ---

def run_lists(args: argparse.Namespace) -> int:
    if args.verb == "remove":
        return _remove_list(args)
    if args.list:
        raise CommandError(f"lists {args.list}: say what to do with it (`fraudwall lists remove {args.list}`)")
    db = ready_db(args)
    connection = store.connect_catalogue(db, create=False)
    try:
        lists = store.read_lists(connection)
        manual, manual_networks = store.count_manual(connection)
        generation = store.last_change(connection)
        # What `quarantine` lists, not the count at import: a confirmed entry is held no more.
        held = collections.Counter(info.name for info, _ in store.quarantined(StorePaths(db), connection))
    finally:
        connection.close()
    # The generation is what the resolver's caches follow (fraudwall_blocklist_generation on /metrics).
    print(f"store {printable(str(db))}, generation {generation}")
    print(f"{'LIST':<20} {'NAMES':>10} {'NETWORKS':>9} {'URLS':>8} {'HELD':>6} {'MATCH':<8} {'IMPORTED':<20} SOURCE")
    for info in lists.values():
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.imported_at)) if info.imported_at else "-"
        print(f"{info.name:<20} {info.names:>10} {info.networks:>9} {info.urls:>8} {held[info.name]:>6} {info.match:<8}"
              f" {when:<20} {printable(info.source)} ({printable(info.format)})")
    print(f"{MANUAL_LIST:<20} {manual:>10} {manual_networks:>9} {0:>8} {0:>6} {'-':<8} {'-':<20}"
          " `fraudwall block/allow`")
    for line in _following(db, list_settings(args).follow):
        print(line)
    return 0


def _following(db, follows) -> list[str]:
    """A line per followed list ([[lists]] with a primary): its primary (and the TSIG key it is
    asked with, as BIND writes `ADDR key NAME`), the serial applied, the last refresh."""
    from fraudwall.resolver.xfr.secondary import read_state

    lines = []
    for follow in follows:
        state = read_state(db, follow.name)
        head = f"{follow.name} follows {follow.zone}. at {follow.primary}"
        if follow.key:
            head += f" key {follow.key}"
        if state is None or (state.primary, state.zone) != (follow.primary, follow.zone):
            lines.append(f"{head}: no transfer yet (`serve` refreshes it)")
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.at))
        serial = "none" if state.serial is None else state.serial
        transfer = ""
        if state.result != "transferred" and state.transferred_at is not None:
            transferred = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.transferred_at))
            transfer = f"; last transfer {transferred}: {printable(state.transfer)}"
        lines.append(f"{head}: serial {serial}{transfer}; last refresh {when} {state.result}: {printable(state.detail)}")
    return lines


def _remove_list(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.importer import remove_list
    from fraudwall.blocklists.opening import file_list_name

    if not args.list:
        raise CommandError("lists remove: name the list to remove (`fraudwall lists remove NAME`)")
    db = ready_db(args)
    info = remove_list(db, args.list)
    print(f"removed list {info.name} ({info.names} names, {info.networks} addresses and networks, {info.urls} URLs);"
          " running servers drop it within 2 s")
    settings = list_settings(args)
    if any(file_list_name(file) == info.name for file in settings.files):
        print(f"note: [blocklists] files of the config names {info.name}: a command or `serve` with this config"
              " imports it again; take it out of the config to keep it removed", file=sys.stderr)
    if any(feed.name == info.name for feed in settings.parsed_feeds()):
        print(f"note: {info.name} is a feed of the config: `serve` imports it again at its next refresh; take it"
              " out of [blocklists] feeds or [[lists]] to keep it removed", file=sys.stderr)
    return 0


# -- export --------------------------------------------------------------------------------

def run_export(args: argparse.Namespace) -> int:
    db = ready_db(args)
    connection = store.connect_catalogue(db, create=False)
    try:
        entries, networks = store.list_entries(StorePaths(db), connection, args.list)
    finally:
        connection.close()
    if args.format == "rpz":
        lines = rpz.export(args.list, entries, networks)
    else:
        _refuse_exact(args.list, args.format, entries)
        lines = (hosts if args.format == "hosts" else domains).export(args.list, entries)
    try:
        with contextlib.ExitStack() as stack:
            output = sys.stdout if args.output == "-" else stack.enter_context(
                open(args.output, "w", encoding="utf-8"))
            for line in lines:
                output.write(printable(line) + "\n")
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            raise
        raise CommandError(f"--output {args.output}: cannot write: {error.strerror or error}") from None
    return 0


def _refuse_exact(list_name: str, format: str, entries: list[DomainEntry]) -> None:
    """Hosts files and domain lists come back as blocks of each name and the names below it:
    an entry that blocks one name only cannot be written in them without blocking more
    (unless a `*.name` entry blocks the names below it too, as RPZ zones write a subtree)."""
    blocking = [entry for entry in entries if entry.action is not Action.ALLOW]
    below = {entry.name for entry in blocking if entry.mode is Mode.BELOW}
    exact = [entry.name for entry in blocking if entry.mode is Mode.EXACT and entry.name not in below]
    if exact:
        raise CommandError(
            f"list {list_name}: {len(exact)} of its entries block one name only (first: {exact[0]}), which a {format} file"
            " cannot say (it would block the names below them too); export with --format rpz")


# -- quarantine ------------------------------------------------------------------------------

def run_quarantine(args: argparse.Namespace) -> int:
    db = ready_db(args)
    paths = StorePaths(db)
    connection = store.connect_catalogue(db, create=False)
    try:
        if args.confirm:
            wanted = [value for value, _ in map(name_or_address, args.confirm)]
            released = store.release(paths, connection, wanted)
            for list_name, name in released:
                print(f"confirmed: {name} (list {list_name}) is enforced from now on")
            missing = set(wanted) - {name for _, name in released}
            if missing:
                print(f"not in quarantine: {' '.join(sorted(missing))}", file=sys.stderr)
            return 0 if not missing else 1
        count = 0
        for info, (name, mode, action, _, src, line, rule, _, reason) in store.quarantined(paths, connection):
            source = info.sources[src] if src is not None and src < len(info.sources) else info.source
            fields = (info.name, name, ACTIONS[action].value, reason, f"{source}:{line}", rule or name)
            print("\t".join(printable(str(field)) for field in fields))
            count += 1
        if not count:
            print("nothing in quarantine")
    finally:
        connection.close()
    return 0
