"""`fraudwall check`: what the store decides for a name or an address, and by which entry."""

from __future__ import annotations

import json
import sys
import time
import argparse

from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.cli.common import name_or_address, ready_db, store_verb


def add_parsers(subparsers) -> None:
    parser = store_verb(subparsers, "check", run_check, "say whether names (or IP addresses) are blocked, and by which entry")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--json", action="store_true", help="one JSON object a name, one a line")


def run_check(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = ready_db(args)
    checked = [name_or_address(text) for text in args.names]
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
