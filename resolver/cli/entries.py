"""The operator's own entries: block, allow, unblock."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from fraudwall.blocklists import store
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.printable import printable
from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.cli.common import (
    CommandError, guards_for, list_settings, name_or_address, ready_db, store_verb,
)


def add_parsers(subparsers) -> None:
    parser = store_verb(subparsers, "block", run_block,
                        "block names and the names below them (or IP addresses / networks) from now on")
    parser.add_argument("names", nargs="+", metavar="NAME")
    # The same default as `allow` and `import`, and as every feed format and RPZ's `*.name`: a fraud
    # domain's subdomains are the same fraud.
    parser.add_argument("--exact", action="store_true",
                        help="block the name only, not the names below (default: the name and the names below)")
    parser.add_argument("--subtree", action="store_true", help=argparse.SUPPRESS)   # the default now; kept for scripts
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, shown by `fraudwall check`")

    parser = store_verb(subparsers, "allow", run_allow, "never block names (nor the names below them), whatever the lists say")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--exact", action="store_true",
                        help="allow the name only, not the names below (default: the name and the names below)")
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, shown by `fraudwall check`")

    parser = store_verb(subparsers, "unblock", run_unblock, "remove your own block or allow entries for names")
    parser.add_argument("names", nargs="+", metavar="NAME")


def _manual_targets(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    names, networks = [], []
    for text in args.names:
        value, is_address = name_or_address(text)
        (networks if is_address else names).append(value)
    return names, networks


def run_block(args: argparse.Namespace) -> int:
    names, networks = _manual_targets(args)
    settings = list_settings(args)
    for network in networks:
        parsed = ipaddress.ip_network(network)
        bound, key = ((settings.broadest_ipv4_prefix, "broadest_ipv4_prefix") if parsed.version == 4
                      else (settings.broadest_ipv6_prefix, "broadest_ipv6_prefix"))
        if parsed.prefixlen < bound:
            raise CommandError(f"{network} is broader than /{bound} ([blocklists] {key}): it would block the"
                               " answers of too many sites; block smaller networks instead")
    if not args.exact:
        guards = guards_for(args)
        for name in names:
            if guards.is_public_suffix(name):
                raise CommandError(f"{name} is a public suffix: blocking it and the names below would block every"
                                   " site under it; block single names instead (or the name only, with --exact)")
    return _set_manual(args, names, networks, Action.BLOCK, Mode.EXACT if args.exact else Mode.SUBTREE)


def run_allow(args: argparse.Namespace) -> int:
    names, networks = _manual_targets(args)
    return _set_manual(args, names, networks, Action.ALLOW, Mode.EXACT if args.exact else Mode.SUBTREE)


def _set_manual(args: argparse.Namespace, names: list[str], networks: list[str], action: Action, mode: Mode) -> int:
    db = ready_db(args, create=True)
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

    db = ready_db(args)
    targets = [value for value, _ in map(name_or_address, args.names)]
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
