"""`fraudwall check`: the resolver's verdict on a name (or an address), why, and by which entry.

A name goes through the resolver's own decision stages (`dns/decision.py`: the client's policy,
the DoH canary and other local answers, the allowlist, the lists, the scorer), and the reason is
rendered by `dns/explain.py`, as for the EDE, the warning page and the query log: `check` and the
resolver cannot disagree. What an upstream's answer would hold (CNAME targets, addresses) is
beyond it; `check ADDR` says what an answer pointing at ADDR gets.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time

from fraudwall.blocklists.printable import printable, printable_json
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.cli.common import CommandError, name_or_address, ready_db, store_verb


def add_parsers(subparsers) -> None:
    parser = store_verb(subparsers, "check", run_check,
                        "say what the resolver answers for names (or IP addresses in answers), why, and by which entry")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--client", metavar="ADDR", default="",
                        help="as asked by this client: its [[policy]] and [access] apply (default: the default policy)")
    parser.add_argument("--json", action="store_true", help="one JSON object a name, one a line")


def run_check(args: argparse.Namespace) -> int:
    from fraudwall.blocklists.lookup import StoreBlocklist
    from fraudwall.resolver.config import Config
    from fraudwall.resolver.dns.decision import checker, decide, question, scorer_for
    from fraudwall.resolver.dns.policy import Policies, unknown_lists

    # The verbs' tests hand over a bare namespace for the store alone: the rest is the defaults.
    config = args.config if isinstance(getattr(args, "config", None), Config) else Config()
    client = _client(args.client)
    db = ready_db(args)
    checked = [name_or_address(text) for text in args.names]
    policies = Policies(config)
    policy = policies.select(client) if client else policies.default
    blocklist = StoreBlocklist(db, cache_size=0, warn=lambda message: print(message, file=sys.stderr))
    try:
        for line in unknown_lists(policies.chosen, blocklist.lists):
            print(f"fraudwall: warning: {printable(line)}", file=sys.stderr)
        seen = _seen(config, db)
        chain = checker(config, blocklist, scorer_for(config, policies), policies, access=bool(client), seen=seen)
        for name, is_address in checked:
            if is_address:
                verdict, match = _address_verdict(name, blocklist.match_address(name, policy.lists), policy)
            else:
                verdict, match = _name_verdict(name, decide(chain, question(name, client)), blocklist.explain(name),
                                               policy, config.allowlist.names)
                verdict.update(_newly_observed(seen, name))
            if policies:
                verdict["policy"] = policy.name
            # A rule is a feed line as written (an RPZ walled garden's name, say): escaped when printed.
            print(json.dumps(printable_json(verdict)) if args.json else printable(_as_text(verdict, match, client)))
    finally:
        blocklist.close()
    return 0


def _seen(config, db):
    """The resolver's memory of the domains asked for ([nod]), read-only: asking `check` must not make a
    domain seen. None when [nod] is off or the resolver has kept none yet (nothing to say then)."""
    from fraudwall.blocklists.seen import SeenError, read_seen, seen_path

    if not config.nod.enabled:
        return None
    try:
        return read_seen(seen_path(config.nod.path, str(db)))
    except SeenError as error:
        raise CommandError(str(error)) from None


def _newly_observed(seen, name: str) -> dict:
    """Whether the name's registrable domain is new to this network (not asked for within [nod] days)."""
    from fraudwall.resolver.dns.stages.nod import registrable_of
    from fraudwall.scoring.names import public_suffixes

    domain = registrable_of(public_suffixes().split)(name) if seen is not None else ""
    return {"domain": domain or None, "newly_observed": (not seen.seen(domain)) if domain else None}


def _client(text: str) -> str:
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise CommandError(f"--client {text!r} is not an IP address") from None


def _name_verdict(name: str, answer, entry: Match | None, policy,
                  allowlist: tuple[str, ...]) -> tuple[dict, Match | None]:
    """The decision as `check` reports it: the answer's verdict and reason, and the entry behind it."""
    from fraudwall.resolver.dns import explain
    from fraudwall.resolver.dns.answer import Withheld
    from fraudwall.resolver.dns.codes import AnswerKind, Trigger
    from fraudwall.resolver.dns.stages.allowlist import covers
    from fraudwall.scoring.score import Score

    kind, warning = answer.kind, answer.warning
    decided_by, trigger = answer.match, answer.trigger
    ede = answer.ede
    if kind in (AnswerKind.BLOCKED, AnswerKind.SCORED, AnswerKind.REFUSED):
        verdict = "refused" if kind is AnswerKind.REFUSED else "blocked"
        reason = ede[1] if ede else explain.text(answer.trigger, answer.match, answer.detail)
    elif kind is AnswerKind.LOCAL:
        verdict, reason = "local", explain.text(answer.trigger, answer.match, answer.detail)
    elif warning is not None:
        withheld = type(warning) is Withheld
        verdict = "unfiltered" if withheld and warning.mode == "off" else "warned"
        reason = explain.log_columns(answer.trigger, answer.match, answer.detail, warning)[0]
        decided_by = warning.match if withheld else warning
        trigger = warning.trigger if withheld else Trigger.SCORER
    else:
        verdict, reason = "allowed", ""
        if entry is not None and entry.blocks:
            # Listed, yet answered: say which rule let it through.
            if covers(frozenset(allowlist), name):
                reason = "in [allowlist] names"
            else:
                reason = f"list {entry.list} does not apply to policy {policy.name}"
    match = decided_by if type(decided_by) is Match else (entry if type(decided_by) is not Score else None)
    score = decided_by if type(decided_by) is Score else None
    return {
        "name": name,
        "verdict": verdict,
        "reason": reason,
        "ede": int(ede[0]) if ede else None,
        "trigger": trigger.value if verdict != "allowed" else None,
        "answer": _answered(answer),
        **_entry_fields(match),
        **({"score": {"value": score.value, "rule": score.rule, "brand": score.brand}} if score else {}),
    }, match


def _answered(answer) -> str:
    """What the client gets for an A query: the rcode and addresses fraudwall sends, "forwarded" or "nothing"."""
    from fraudwall.resolver.dns.codec import scan_reply
    from fraudwall.resolver.dns.codes import AnswerKind, Rcode

    if answer.body is None:
        return "forwarded" if answer.kind is AnswerKind.RESOLVED else "nothing"   # an RPZ drop, an access drop
    scan = scan_reply(answer.body)
    rcode = Rcode(scan.rcode).name if scan.rcode in Rcode._value2member_map_ else str(scan.rcode)
    return " ".join((rcode, *scan.addresses))


def _address_verdict(address: str, match: Match | None, policy) -> tuple[dict, Match | None]:
    """What an answer holding `address` gets (the inspect stage's rule: a listed address blocks it)."""
    from fraudwall.resolver.dns import explain
    from fraudwall.resolver.dns.codes import Trigger

    verdict, reason = "allowed", ""
    if match is not None and match.blocks and policy.applies(match):
        verdict = {"block": "blocked", "warn": "warned", "off": "unfiltered"}[policy.mode]
        reason = explain.text(Trigger.ANSWER_ADDRESS, match, address)
    return {"name": address, "verdict": verdict, "reason": reason, "ede": 15 if verdict == "blocked" else None,
            "trigger": Trigger.ANSWER_ADDRESS.value if verdict != "allowed" else None, **_entry_fields(match)}, match


def _entry_fields(match: Match | None) -> dict:
    return {
        "action": match.action.value if match else None,
        "list": match.list if match else None,
        "rule": match.rule if match else None,
        "source": match.source if match else None,
        "added": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(match.added)) if match else None,
        **({"redirect": list(match.redirect)} if match and match.redirect else {}),
    }


def _as_text(verdict: dict, match: Match | None, client: str) -> str:
    """One line: the verdict, the entry (list, rule, source, when) or the score, and the reason people see."""
    name, word = verdict["name"], verdict["verdict"]
    policy = f" [policy {verdict['policy']}]" if "policy" in verdict else ""
    if policy and verdict["reason"].endswith(f"(policy {verdict['policy']})"):
        policy = ""   # the EDE's text names it already
    asked = f" for {client}" if client else ""
    reason = verdict["reason"]
    if match is not None:
        how = "" if match.action in (Action.BLOCK, Action.ALLOW) else f" ({match.action.value})"
        added = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(match.added))
        line = f"{word} {name}{how}{asked} by list {match.list}: {match.rule} [{match.source}, added {added}]"
    elif "score" in verdict:
        line = f"{word} {name}{asked} by the scorer ({verdict['score']['rule']})"
    elif word == "allowed":
        line = f"allowed {name}{asked} (no entry)"
    else:
        line = f"{word} {name}{asked}"
    code = f"EDE {verdict['ede']}: " if verdict["ede"] is not None else ""
    # Whether the domain is new to this network ([nod]), for a name that is answered (a block decides
    # without it); nothing when the resolver kept no memory yet. --json always has it.
    new = verdict.get("newly_observed") if word in ("allowed", "warned", "unfiltered") else None
    seen = "" if new is None else (f"; {verdict['domain']} is new to this network" if new else
                                   f"; {verdict['domain']} was asked for here lately")
    return f"{line}{policy}" + (f"; {code}{reason}" if reason else "") + seen

