"""Response Policy Zone files (the zone-file subset RPZ feeds use), QNAME and rpz-ip triggers.

Each owner is made absolute as a name server would (relative to the current `$ORIGIN`, `@`
the origin, a blank owner the previous one), then the policy zone's apex is taken off: the
apex is the SOA owner, or the first `$ORIGIN` when the SOA's is not known. So a BIND-style
dump that moves `$ORIGIN` down the tree (`$ORIGIN example.net.rpz.example.org.` then
`evil CNAME .`) blocks `evil.example.net`. `*.name` covers the names below `name`. The policy is in the record: `CNAME .` NXDOMAIN, `CNAME *.` NODATA,
`CNAME rpz-passthru.` allow, `CNAME rpz-drop.` drop, A/AAAA local data (redirect); a CNAME
to any other name is a walled garden, served as a block (the sinkhole answer).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable, Iterator

from fraudwall.blocklists.formats import (
    DomainEntry,
    Mode,
    NetworkEntry,
    Parsed,
    Skip,
    SkipReason,
    entry_name,
    excerpt,
)
from fraudwall.blocklists.verdict import Action

CLASSES = frozenset({"IN", "CH", "HS", "CS"})
_TTL = re.compile(r"\d+[smhdwSMHDW]?(?:\d+[smhdwSMHDW])*")
_CNAME_ACTIONS = {
    ".": Action.NXDOMAIN,
    "*.": Action.NODATA,
    "rpz-passthru.": Action.ALLOW,
    "rpz-drop.": Action.DROP,
}
# How `export` writes each action: the parser's policies read backwards; a block is `CNAME .`.
_TARGETS = {action: target for target, action in _CNAME_ACTIONS.items()} | {Action.BLOCK: "."}
# Policy data at the trigger names that is no policy we can act on: ignored, not counted.
_SILENT_TYPES = frozenset({"SOA", "NS", "TXT", "RRSIG", "NSEC", "DNSKEY", "DS"})
_OTHER_TRIGGERS = ("rpz-nsdname", "rpz-nsip", "rpz-client-ip")


def parse(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    origin = ""          # what relative owners are relative to ("": the root)
    apex = ""            # the policy zone's name, taken off every owner
    apex_from_soa = False
    owner = ""
    # A/AAAA records of one owner are one redirect entry: gathered until the owner changes.
    pending: DomainEntry | None = None
    pending_owner = ""
    for number, tokens, indented in _records(lines):
        if tokens[0].startswith("$"):
            directive = tokens[0].upper()
            if directive == "$ORIGIN" and len(tokens) > 1:
                origin = _absolute(tokens[1], origin)
                apex = apex or origin
            elif directive != "$TTL":
                yield Skip(number, SkipReason.UNSUPPORTED_RECORD, f"{excerpt(tokens[0], 20)} directive")
            continue
        if not indented:
            owner = _absolute(tokens[0], origin)
            tokens = tokens[1:]
        while tokens and (tokens[0].upper() in CLASSES or _TTL.fullmatch(tokens[0])):
            tokens = tokens[1:]
        if not tokens:
            yield Skip(number, SkipReason.SYNTAX, "record without a type")
            continue
        rtype, rdata = tokens[0].upper(), tokens[1:]
        if pending is not None and (owner != pending_owner or rtype not in ("A", "AAAA")):
            yield pending
            pending = None
        if rtype == "SOA" and owner and not apex_from_soa:
            # The zone's name is its SOA owner, as a server loading it would know; without
            # $ORIGIN, relative owners are relative to it.
            apex, apex_from_soa = owner, True
            origin = origin or owner
        if owner == apex or rtype in _SILENT_TYPES:
            continue
        trigger = _relative(owner, apex)
        if trigger is None:
            yield Skip(number, SkipReason.SYNTAX, f"owner {excerpt(owner)!r} outside the zone {apex!r}")
            continue
        if rtype == "CNAME" and len(rdata) == 1:
            target = rdata[0].lower()
            action = _CNAME_ACTIONS.get(target)
            if action is None and target.startswith("rpz-"):
                yield Skip(number, SkipReason.UNSUPPORTED_RECORD, f"CNAME {excerpt(rdata[0])}")
                continue
            yield from _entry(number, trigger, action or Action.BLOCK, f"{trigger} CNAME {rdata[0]}", ())
        elif rtype in ("A", "AAAA") and len(rdata) == 1:
            try:
                address = str(ipaddress.ip_address(rdata[0]))
            except ValueError:
                yield Skip(number, SkipReason.INVALID_ADDRESS, f"{excerpt(rdata[0])!r} in {rtype} record")
                continue
            if pending is not None:
                pending = pending._replace(redirect=pending.redirect + (address,))
                continue
            for parsed in _entry(number, trigger, Action.REDIRECT, f"{trigger} {rtype} {address}", (address,)):
                if isinstance(parsed, DomainEntry):
                    pending, pending_owner = parsed, owner
                else:
                    yield parsed
        else:
            yield Skip(number, SkipReason.UNSUPPORTED_RECORD, f"{excerpt(rtype, 20)} record at {excerpt(trigger)}")
    if pending is not None:
        yield pending


def _entry(number: int, trigger: str, action: Action, rule: str,
           redirect: tuple[str, ...]) -> Iterator[Parsed]:
    labels = trigger.split(".")
    if labels[-1] == "rpz-ip":
        network = _ip_trigger(labels[:-1])
        if network is None:
            yield Skip(number, SkipReason.INVALID_ADDRESS, f"rpz-ip trigger {excerpt(trigger)!r}")
        elif action is Action.REDIRECT:
            yield Skip(number, SkipReason.UNSUPPORTED_RECORD, f"local data at rpz-ip trigger {excerpt(trigger)}")
        else:
            yield NetworkEntry(network, action, number, rule)
        return
    if labels[-1] in _OTHER_TRIGGERS:
        yield Skip(number, SkipReason.UNSUPPORTED_TRIGGER, f"{labels[-1]} trigger {excerpt(trigger)}")
        return
    mode = Mode.EXACT
    if labels[0] == "*":
        mode, trigger = Mode.BELOW, ".".join(labels[1:])
    name = entry_name(number, trigger)
    if type(name) is Skip:
        yield name
        return
    yield DomainEntry(name, mode, action, number, rule, False, redirect)


def _ip_trigger(labels: list[str]) -> str | None:
    """`32.1.2.0.192` -> `192.0.2.1`; `128.1.zz.db8.2001` -> `2001:db8::1` (RPZ's reversed form)."""
    if len(labels) < 2 or not labels[0].isdigit():
        return None
    prefix, parts = int(labels[0]), labels[1:][::-1]
    try:
        if len(parts) == 4 and "zz" not in parts:
            network = ipaddress.IPv4Network(f"{'.'.join(parts)}/{prefix}")
        else:
            text = ":".join("" if part == "zz" else part for part in parts)
            if parts[0] == "zz":
                text = ":" + text
            if parts[-1] == "zz":
                text += ":"
            network = ipaddress.IPv6Network(f"{text}/{prefix}")
    except ValueError:
        return None
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def _absolute(name: str, origin: str) -> str:
    """A zone-file name as an absolute name without the final dot, lowercase."""
    name = name.lower()
    if name == "@":
        return origin
    if name.endswith("."):
        return name[:-1]
    return f"{name}.{origin}" if origin else name


def _relative(owner: str, origin: str) -> str | None:
    if not origin:
        return owner
    if owner.endswith("." + origin):
        return owner[: -len(origin) - 1]
    return None


def _records(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str], bool]]:
    """(first line number, tokens, owner omitted) per record, `;` comments gone, ( ) joined."""
    tokens: list[str] = []
    depth = 0
    start = 0
    indented = False
    for number, text in lines:
        text = _strip_comment(text)
        if not text.strip():
            continue
        if depth == 0:
            start, indented, tokens = number, text[0] in " \t", []
        for token in text.replace("(", " ( ").replace(")", " ) ").split():
            if token == "(":
                depth += 1
            elif token == ")":
                depth = max(depth - 1, 0)
            else:
                tokens.append(token)
        if depth == 0 and tokens:
            yield start, tokens, indented
    if depth and tokens:
        yield start, tokens, indented


def _strip_comment(text: str) -> str:
    if ";" not in text:
        return text
    if '"' not in text:
        return text.split(";", 1)[0]
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return text[:index]
    return text


# An exported file's SOA: its names, and its timers (refresh, retry, expire, minimum).
SOA_NAMES = ("localhost.", "hostmaster.localhost.")
SOA_TIMERS = (3600, 600, 86400, 60)
TTL = 300


def export(list_name: str, entries: Iterable[DomainEntry], networks: Iterable[NetworkEntry],
           now: float | None = None) -> Iterator[str]:
    """A list as an RPZ zone, a line at a time: `parse` reads it back to the same entries."""
    now = time.time() if now is None else now
    yield f"; fraudwall list {list_name}, exported {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(now))}"
    yield f"$TTL {TTL}"
    yield f"@ IN SOA {' '.join(SOA_NAMES)} ( {int(now)} {' '.join(map(str, SOA_TIMERS))} )"
    yield "  IN NS localhost."
    for owner, rtype, data in records(entries, networks):
        yield f"{owner} {rtype} {data}"


def records(entries: Iterable[DomainEntry], networks: Iterable[NetworkEntry]) -> Iterator[tuple[str, str, str]]:
    """(owner relative to the zone's apex, type, data) of the policy records of each entry, in the
    order given: what `export` writes and the zone transfer server sends. Lazy, so a list of
    millions of names is never held whole."""
    for entry in entries:
        name = entry.name
        owners = {Mode.EXACT: [name], Mode.SUBTREE: [name, "*." + name], Mode.BELOW: ["*." + name]}[entry.mode]
        for owner in owners:
            if entry.action is Action.REDIRECT and entry.redirect:
                for address in entry.redirect:
                    yield owner, "AAAA" if ":" in address else "A", address
            else:
                yield owner, "CNAME", _TARGETS.get(entry.action, ".")
    for network in networks:
        yield _ip_owner(network.network), "CNAME", _TARGETS.get(network.action, ".")


def _ip_owner(network_text: str) -> str:
    """`192.0.2.1` -> `32.1.2.0.192.rpz-ip`, `2001:db8::1` -> `128.1.zz.db8.2001.rpz-ip` (what
    `_ip_trigger` reads back). IPv6 in RFC 5952's form with `zz` for its `::`, the one spelling
    the RPZ draft allows: BIND refuses another as not canonical."""
    network = ipaddress.ip_network(network_text, strict=False)
    if network.version == 4:
        groups = str(network.network_address).split(".")
    else:
        left, double, right = network.network_address.compressed.partition("::")
        groups = [*(left.split(":") if left else []), *(["zz"] if double else []), *(right.split(":") if right else [])]
    return f"{network.prefixlen}.{'.'.join(groups[::-1])}.rpz-ip"
