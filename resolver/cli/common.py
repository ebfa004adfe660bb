"""What the verbs on the store share: the one error they print, the store and guards the config names."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Callable
from pathlib import Path

from fraudwall.blocklists import store
from fraudwall.blocklists.printable import printable
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.scoring.names import InvalidName, normalise_name


class CommandError(Exception):
    """One clear line for the operator; exit code 2."""


def store_verb(subparsers, name: str, run: Callable[[argparse.Namespace], int], help: str,
               db: bool = True) -> argparse.ArgumentParser:
    """A verb on the blocklist store: `--db`, and its errors as one line."""
    parser = subparsers.add_parser(name, help=help, description=help)
    if db:
        parser.add_argument("--db", metavar="PATH", default=None,
                            help="the blocklist store (default: [blocklists] db of the config)")
    parser.set_defaults(run=guarded(run))
    return parser


def guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (CommandError, store.StoreError) as error:
            print(f"fraudwall: error: {printable(str(error))}",
                  file=sys.stderr)
            return 2
    return wrapper


def list_settings(args: argparse.Namespace) -> BlocklistSettings:
    config = getattr(args, "config", None)
    return getattr(config, "blocklists", None) or BlocklistSettings()


def sinkhole(args: argparse.Namespace) -> tuple[str, ...]:
    """The addresses blocked names are answered with ([sinkhole] of the config): never blocked."""
    sinkhole = getattr(getattr(args, "config", None), "sinkhole", None)
    return (sinkhole.ipv4, sinkhole.ipv6) if sinkhole is not None else ()


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if getattr(args, "db", None) else store.resolve_db(list_settings(args).db)


def ready_db(args: argparse.Namespace, create: bool = False) -> Path:
    """The store, holding the config's `files` lists (as `serve` would make it)."""
    db = db_path(args)
    if create:
        store.connect_catalogue(db).close()
    chosen = list_settings(args)
    if not getattr(args, "db", None) and chosen.store:
        from fraudwall.blocklists.opening import seed
        try:
            seed(db, chosen, sinkhole(args))
        except ValueError as error:
            raise CommandError(str(error)) from None
    if not db.exists():
        raise CommandError(f"{db}: no blocklist store here (`fraudwall import` creates one)")
    return db


def guards_for(args: argparse.Namespace):
    from fraudwall.blocklists.guards import settings_guards
    config = getattr(args, "config", None)
    brands_file = list_settings(args).brands_file or getattr(getattr(config, "scorer", None), "brands_file", "")
    try:
        return settings_guards(list_settings(args), brands_file, sinkhole(args))
    except ValueError as error:
        raise CommandError(str(error)) from None


def name_or_address(text: str) -> tuple[str, bool]:
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


