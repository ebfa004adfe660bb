"""The blocklist verbs of the `fraudwall` command: import, lists, check, block, allow, unblock, export, quarantine."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO
from pathlib import Path

from fraudwall.blocklists import fetch, store
from fraudwall.blocklists.formats import DomainEntry, Format, Mode, domains, hosts, rpz
from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.blocklists.store import ACTIONS, MANUAL_LIST, StorePaths
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.scoring.names import InvalidName, normalise_name

EXPORT_FORMATS = ("rpz", "hosts", "domains")


class CommandError(Exception):
    """One clear line for the operator; exit code 2."""


def add_parsers(subparsers) -> None:
    def verb(name: str, run: Callable[[argparse.Namespace], int], help: str, db: bool = True) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help, description=help)
        if db:
            parser.add_argument("--db", metavar="PATH", default=None,
                                help="the blocklist store (default: [blocklists] db of the config)")
        parser.set_defaults(run=_guarded(run))
        return parser

    parser = verb("import", run_import, "import feeds (files or URLs) as one list, replacing its previous import")
    parser.add_argument("sources", nargs="+", metavar="FILE|URL")
    parser.add_argument("--list", required=True, metavar="NAME", help="the list's name (lowercase, e.g. phishing)")
    parser.add_argument("--format", default="auto", choices=["auto"] + [f.value for f in Format],
                        help="the feed format (default: detected from the content)")
    parser.add_argument("--match", choices=("exact", "subtree"), default="",
                        help="hosts files, domain lists and URL hosts: block the name only, or its subdomains too"
                             " (default: subtree)")
    parser.add_argument("--force", action="store_true",
                        help="accept an import that changes more than [blocklists] change_threshold of the list")
    parser.add_argument("--column", default="", metavar="N",
                        help="--format csv: the URL column, a 1-based number or a header name")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="parsing processes (default: [blocklists] import_workers)")

    verb("lists", run_lists, "show the imported lists")

    parser = verb("check", run_check, "say whether names (or IP addresses) are blocked, and by which entry")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--json", action="store_true", help="one JSON object a name, one a line")

    parser = verb("block", run_block, "block names (or IP addresses / networks) from now on")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--subtree", action="store_true", help="block the names below too")
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, shown by `fraudwall check`")

    parser = verb("allow", run_allow, "never block names (nor the names below them), whatever the lists say")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--exact", action="store_true", help="allow the name only, not the names below")
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, shown by `fraudwall check`")

    parser = verb("unblock", run_unblock, "remove your own block or allow entries for names")
    parser.add_argument("names", nargs="+", metavar="NAME")

    parser = verb("export", run_export, "write a list out as an RPZ zone, a hosts file or a domain list")
    parser.add_argument("--list", required=True, metavar="NAME")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument("--output", default="-", metavar="FILE", help="default: standard output")

    parser = verb("quarantine", run_quarantine,
                  "list imported entries held back because they would block a popular site; --confirm enforces them")
    parser.add_argument("--confirm", nargs="+", default=(), metavar="NAME")


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (CommandError, store.StoreError) as error:
            print(f"fraudwall: error: {printable(str(error))}",
                  file=sys.stderr)
            return 2
    return wrapper


def _settings(args: argparse.Namespace) -> BlocklistSettings:
    config = getattr(args, "config", None)
    return getattr(config, "blocklists", None) or BlocklistSettings()


def _sinkhole(args: argparse.Namespace) -> tuple[str, ...]:
    """The addresses blocked names are answered with ([sinkhole] of the config): never blocked."""
    sinkhole = getattr(getattr(args, "config", None), "sinkhole", None)
    return (sinkhole.ipv4, sinkhole.ipv6) if sinkhole is not None else ()


def _db(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if getattr(args, "db", None) else store.resolve_db(_settings(args).db)


def _ready_db(args: argparse.Namespace, create: bool = False) -> Path:
    """The store, holding the config's `files` lists (as `serve` would make it)."""
    db = _db(args)
    if create:
        store.connect_catalogue(db).close()
    settings = _settings(args)
    if not getattr(args, "db", None) and settings.store:
        from fraudwall.blocklists.opening import seed
        try:
            seed(db, settings, _sinkhole(args))
        except ValueError as error:
            raise CommandError(str(error)) from None
    if not db.exists():
        raise CommandError(f"{db}: no blocklist store here (`fraudwall import` creates one)")
    return db


def _guards(args: argparse.Namespace):
    from fraudwall.blocklists.guards import settings_guards
    config = getattr(args, "config", None)
    brands_file = _settings(args).brands_file or getattr(getattr(config, "scorer", None), "brands_file", "")
    try:
        return settings_guards(_settings(args), brands_file, _sinkhole(args))
    except ValueError as error:
        raise CommandError(str(error)) from None


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

    settings = _settings(args)
    db = _db(args)
    # Absolute paths: `check` shows where an entry came from, whatever directory it runs in.
    sources = tuple(source if fetch.is_url(source) else os.path.abspath(source) for source in args.sources)
    bar = ProgressBar()
    try:
        request = ImportRequest(
            args.list, sources, format=args.format, match=args.match, force=args.force, column=args.column,
            threshold=settings.change_threshold, error_rate=settings.filter_error_rate,
            workers=args.workers if args.workers is not None else settings.import_workers, on_progress=bar)
        summary = import_list(db, request, _guards(args))
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


# -- lists, check ------------------------------------------------------------------------

def run_lists(args: argparse.Namespace) -> int:
    db = _ready_db(args)
    connection = store.connect_catalogue(db, create=False)
    try:
        lists = store.read_lists(connection)
        manual, manual_networks = store.count_manual(connection)
        generation = store.last_change(connection)
    finally:
        connection.close()
    # The generation is what the resolver's caches follow (fraudwall_blocklist_generation on /metrics).
    print(f"store {printable(str(db))}, generation {generation}")
    print(f"{'LIST':<20} {'NAMES':>10} {'NETWORKS':>9} {'URLS':>8} {'HELD':>6} {'MATCH':<8} {'IMPORTED':<20} SOURCE")
    for info in lists.values():
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.imported_at)) if info.imported_at else "-"
        print(f"{info.name:<20} {info.names:>10} {info.networks:>9} {info.urls:>8} {info.held:>6} {info.match:<8}"
              f" {when:<20} {printable(info.source)} ({printable(info.format)})")
    print(f"{MANUAL_LIST:<20} {manual:>10} {manual_networks:>9} {0:>8} {0:>6} {'-':<8} {'-':<20}"
          " `fraudwall block/allow`")
    return 0


def _name_or_address(text: str) -> tuple[str, bool]:
    """(normalised name, False) or (canonical address/network, True); CommandError otherwise."""
    try:
        network = ipaddress.ip_network(text, strict=False)
        return (str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)), True
    except ValueError:
        pass
    try:
        return normalise_name(text), False
    except InvalidName as error:
        raise CommandError(f"{text!r} is not a domain name: {error}") from None


def run_check(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = _ready_db(args)
    checked = [_name_or_address(text) for text in args.names]
    blocklist = StoreBlocklist(db, cache_size=0, warn=lambda message: print(message, file=sys.stderr))
    try:
        for (name, is_address), text in zip(checked, args.names):
            match = blocklist.match_address(name) if is_address else blocklist.explain(name)
            # A rule is a feed line as written (an RPZ walled garden's name, say): escaped when printed.
            print(json.dumps(printable_json(_as_json(name, match))) if args.json
                  else printable(_as_text(name, match)))
    finally:
        blocklist.close()
    return 0


def _as_json(name: str, match: Match | None) -> dict:
    return {
        "name": name,
        "verdict": "blocked" if match is not None and match.blocks else "allowed",
        "action": match.action.value if match else None,
        "list": match.list if match else None,
        "rule": match.rule if match else None,
        "source": match.source if match else None,
        "added": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(match.added)) if match else None,
        **({"redirect": list(match.redirect)} if match and match.redirect else {}),
    }


def _as_text(name: str, match: Match | None) -> str:
    if match is None:
        return f"allowed {name} (no entry)"
    added = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(match.added))
    verdict = "blocked" if match.blocks else "allowed"
    how = "" if match.action in (Action.BLOCK, Action.ALLOW) else f" ({match.action.value})"
    return f"{verdict} {name}{how} by list {match.list}: {match.rule} [{match.source}, added {added}]"


# -- block, allow, unblock -------------------------------------------------------------------

def _manual_targets(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    names, networks = [], []
    for text in args.names:
        value, is_address = _name_or_address(text)
        (networks if is_address else names).append(value)
    return names, networks


def run_block(args: argparse.Namespace) -> int:
    names, networks = _manual_targets(args)
    settings = _settings(args)
    for network in networks:
        parsed = ipaddress.ip_network(network)
        bound, key = ((settings.broadest_ipv4_prefix, "broadest_ipv4_prefix") if parsed.version == 4
                      else (settings.broadest_ipv6_prefix, "broadest_ipv6_prefix"))
        if parsed.prefixlen < bound:
            raise CommandError(f"{network} is broader than /{bound} ([blocklists] {key}): it would block the"
                               " answers of too many sites; block smaller networks instead")
    if args.subtree:
        guards = _guards(args)
        for name in names:
            if guards.is_public_suffix(name):
                raise CommandError(f"{name} is a public suffix: blocking it as a subtree would block every site"
                                   " under it; block single names instead")
    return _set_manual(args, names, networks, Action.BLOCK, Mode.SUBTREE if args.subtree else Mode.EXACT)


def run_allow(args: argparse.Namespace) -> int:
    names, networks = _manual_targets(args)
    return _set_manual(args, names, networks, Action.ALLOW, Mode.EXACT if args.exact else Mode.SUBTREE)


def _set_manual(args: argparse.Namespace, names: list[str], networks: list[str], action: Action, mode: Mode) -> int:
    db = _ready_db(args, create=True)
    connection = store.connect_catalogue(db)
    try:
        if names:
            store.set_manual(connection, [(name, mode, action, args.reason) for name in names])
        if networks:
            store.set_manual_networks(connection, [(network, action, args.reason) for network in networks])
    finally:
        connection.close()
    scope = "and the names below" if mode is Mode.SUBTREE and names else ""
    verb = "blocked" if action is Action.BLOCK else "allowed"
    print(f"{verb}: {' '.join(names + networks)} {scope}".rstrip() + " (running servers pick it up within 2 s)")
    return 0


def run_unblock(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = _ready_db(args)
    targets = [value for value, _ in map(_name_or_address, args.names)]
    connection = store.connect_catalogue(db)
    try:
        removed = store.remove_manual(connection, targets)
    finally:
        connection.close()
    missing = [name for name in targets if name not in removed]
    if removed:
        print(f"removed your entries for: {' '.join(dict.fromkeys(removed))}")
    if missing:
        print(f"no entry of yours for: {' '.join(missing)}", file=sys.stderr)
    blocklist = StoreBlocklist(db, cache_size=0)
    try:
        for name in targets:
            is_address = ":" in name or name.replace(".", "").replace("/", "").isdigit()
            match = blocklist.match_address(name.split("/")[0]) if is_address else blocklist.explain(name)
            if match is not None and match.blocks:
                print(f"note: {name} is still blocked by list {match.list} ({printable(match.rule)});"
                      f" `fraudwall allow {name}` overrides it", file=sys.stderr)
    finally:
        blocklist.close()
    return 0 if removed else 1


# -- export --------------------------------------------------------------------------------

def run_export(args: argparse.Namespace) -> int:
    db = _ready_db(args)
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
    db = _ready_db(args)
    paths = StorePaths(db)
    connection = store.connect_catalogue(db, create=False)
    try:
        if args.confirm:
            wanted = [value for value, _ in map(_name_or_address, args.confirm)]
            released = store.release(paths, connection, wanted)
            for list_name, name in released:
                print(f"confirmed: {name} (list {list_name}) is enforced from now on")
            missing = set(wanted) - {name for _, name in released}
            if missing:
                print(f"not in quarantine: {' '.join(sorted(missing))}", file=sys.stderr)
            return 0 if not missing else 1
        done = store.released_names(connection)
        count = 0
        for info in store.read_lists(connection).values():
            for name, mode, action, _, src, line, rule, _, reason in store.held_entries(paths, info):
                if (info.name, name) in done:
                    continue
                source = info.sources[src] if src is not None and src < len(info.sources) else info.source
                fields = (info.name, name, ACTIONS[action].value, reason, f"{source}:{line}", rule or name)
                print("\t".join(printable(str(field)) for field in fields))
                count += 1
        if not count:
            print("nothing in quarantine")
    finally:
        connection.close()
    return 0
