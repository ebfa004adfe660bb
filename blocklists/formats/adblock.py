"""The DNS subset of AdBlock/AdGuard filter syntax.

`||example.org^` blocks the name and everything below it, `||*.example.org^` (or
`*.example.org`) only the names below it, `@@||example.org^` excepts them, `$important` makes
a block beat exceptions at the same name. Rules that only say they cover whole pages still
block the name. What AdGuard Home's DNS modifiers say and a resolver's answer can say is
enforced: `$dnsrewrite` to NXDOMAIN, to an empty answer or to addresses, and `$badfilter`,
which disables the rule it repeats. Every other rule is skipped and counted with its own
reason: narrowed to some requests of a page (a resolver never sees requests), to some clients
or query types, a rewrite fraudwall does not answer, cosmetic, regex, wildcard or URL rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping

from fraudwall.blocklists.formats import (
    DomainEntry,
    Mode,
    NetworkEntry,
    Parsed,
    Skip,
    SkipReason,
    address_text,
    as_written,
    entry_name,
    excerpt,
    hosts,
)
from fraudwall.blocklists.verdict import Action

# Modifiers that widen or keep a rule at whole-page scope: a DNS block is at least that.
WHOLE_PAGE = frozenset({"document", "doc", "all", "popup", "subdocument", "important"})
# AdGuard Home's modifiers that choose clients: fraudwall's lists apply to every client.
PER_CLIENT = {
    "client": "a rule for some clients only; fraudwall's lists apply to every client",
    "ctag": "client tags are AdGuard Home's own, not in DNS",
}
# The rewrites whose answer fraudwall gives: (rcode, record type) -> action.
_REWRITES = {("NXDOMAIN", ""): Action.NXDOMAIN, ("NOERROR", ""): Action.NODATA}
RCODES = frozenset({"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
                    "NXRRSET", "NOTAUTH", "NOTZONE"})
_COSMETIC = re.compile(r"#[@$%?]?#|#@?\$\??#|\$\$|\$@\$")
_IP_FIRST = re.compile(r"[0-9a-fA-F:.]+\s")


def parse(lines: Iterable[tuple[int, str]], disabled: Mapping[str, str] | None = None) -> Iterator[Parsed]:
    """`disabled`: the rules that `$badfilter` rules disable, by `rule_key`, each with the place of its
    `$badfilter` rule (`badfilters` finds them; the importer reads them first, from every part)."""
    for number, raw in lines:
        text = raw.strip()
        if text[0] == "!" or (text[0] == "[" and text.endswith("]")):
            continue
        if _COSMETIC.search(text):
            yield Skip(number, SkipReason.COSMETIC, excerpt(text))
            continue
        if text[0] == "#":
            continue
        if _IP_FIRST.match(text):
            # AdGuard DNS filters accept hosts-file lines too.
            yield from hosts.parse([(number, text)])
            continue
        if disabled:
            key, is_badfilter = rule_key(text)
            if not is_badfilter and key in disabled:
                yield Skip(number, SkipReason.DISABLED, f"{excerpt(text)!r} by the $badfilter rule at {disabled[key]}")
                continue
        yield from _rule(number, text)


def rule_key(text: str) -> tuple[str, bool]:
    """A rule as `$badfilter` names it (its pattern, then its modifiers but `badfilter`, in one order),
    and whether it is a `$badfilter` rule itself."""
    body, _, options = text.partition("$")
    names = {option.strip().lower() for option in options.split(",")}
    badfilter = "badfilter" in names
    names -= {"badfilter", ""}
    return body.strip().lower() + ("$" + ",".join(sorted(names)) if names else ""), badfilter


def badfilters(lines: Iterable[tuple[int, str]], label: str) -> dict[str, str]:
    """The rules disabled by the `$badfilter` rules among `lines`: rule key -> `label:line` of the
    `$badfilter` rule. Cheap: a line without the word is not parsed."""
    found = {}
    for number, text in lines:
        if "badfilter" in text and not _COSMETIC.search(text):
            key, is_badfilter = rule_key(text.strip())
            if is_badfilter:
                found[key] = f"{label}:{number}"
    return found


def _rule(number: int, text: str) -> Iterator[Parsed]:
    action = Action.BLOCK
    body = text
    if body.startswith("@@"):
        action, body = Action.ALLOW, body[2:]
    if len(body) > 2 and body[0] == "/" and (body.endswith("/") or "/$" in body):
        yield Skip(number, SkipReason.REGEX, excerpt(text))
        return
    pattern, _, options = body.partition("$")
    important = False
    rewrite: str | None = None
    for option in options.split(",") if options else ():
        name, equals, value = option.strip().partition("=")
        name = name.lower()
        shown = excerpt(f"${name}{equals}{value}", 40)
        if name in WHOLE_PAGE:
            important = important or name == "important"
        elif name == "badfilter":
            return      # enforced where it applies: the rule it names is skipped (see `parse`)
        elif name == "dnsrewrite":
            rewrite = value.strip()
        elif name in PER_CLIENT:
            yield Skip(number, SkipReason.PER_CLIENT, f"{shown}: {PER_CLIENT[name]}")
            return
        elif name == "dnstype":
            yield Skip(number, SkipReason.QUERY_TYPE,
                       f"{shown}: a rule for some query types only; fraudwall's entries cover every type")
            return
        elif name == "denyallow":
            yield Skip(number, SkipReason.UNENFORCEABLE_MODIFIER,
                       f"{shown}: blocks every name but those, which no list entry can say, in {excerpt(text)!r}")
            return
        else:
            yield Skip(number, SkipReason.UNENFORCEABLE_MODIFIER, f"{shown} in {excerpt(text)!r}")
            return
    if pattern.startswith("||"):
        mode, host = Mode.SUBTREE, pattern[2:]
    elif pattern.startswith("|") or "/" in pattern:
        yield Skip(number, SkipReason.URL_RULE, f"a resolver sees names, not URLs: {excerpt(text)!r}")
        return
    else:
        # AdGuard Home's "domain only" syntax: the name itself, not what is below it.
        mode, host = Mode.EXACT, pattern
    if host.endswith("^|"):
        host = host[:-2]
    elif host.endswith("^"):
        host = host[:-1]
    if host.startswith("*.") and len(host) > 2:
        # `||*.example.org^` and `*.example.org`: any name ending in `.example.org`.
        mode, host = Mode.BELOW, host[2:]
    address = address_text(host)
    if address is not None and rewrite is None:
        yield NetworkEntry(address, action, number, as_written(text, address))
        return
    if "/" in host or ":" in host:
        yield Skip(number, SkipReason.URL_RULE, f"a resolver sees names, not URLs: {excerpt(text)!r}")
        return
    if "*" in host or "^" in host or "|" in host:
        yield Skip(number, SkipReason.WILDCARD, f"a name list cannot hold {excerpt(text)!r}")
        return
    name = entry_name(number, host)
    if type(name) is Skip:
        yield name
        return
    redirect: tuple[str, ...] = ()
    if rewrite is not None:
        if action is Action.ALLOW:
            yield Skip(number, SkipReason.REWRITE, f"{excerpt(text)!r}: an exception for rewrites only, where"
                       " fraudwall's allow would lift blocks too")
            return
        answer = rewrite_answer(rewrite)
        if isinstance(answer, str):
            yield Skip(number, SkipReason.REWRITE, f"$dnsrewrite={excerpt(rewrite, 60)}: {answer}")
            return
        action, redirect = answer
    if action is Action.ALLOW:
        important = False
    yield DomainEntry(name, mode, action, number, as_written(text, name), important, redirect)


def rewrite_answer(value: str) -> tuple[Action, tuple[str, ...]] | str:
    """What `$dnsrewrite=VALUE` asks, as an action and its addresses; or why fraudwall cannot answer it.

    The short forms are an RCODE (`NXDOMAIN`), an address (an A or AAAA record) or a name (a
    CNAME); the long form is `RCODE;TYPE;VALUE`. A rewrite to a sink address (`0.0.0.0`) is a
    block, as in a hosts file: the sinkhole answers it, with the warning page."""
    if not value:
        return "an empty $dnsrewrite undoes rewrites in an exception (@@); a block rule needs a value"
    if ";" in value:
        rcode, _, rest = value.partition(";")
        rtype, _, data = rest.partition(";")
        rcode, rtype, data = rcode.strip().upper(), rtype.strip().upper(), data.strip()
    elif value.upper() in RCODES:
        rcode, rtype, data = value.upper(), "", ""
    elif address_text(value) is not None:
        rcode, rtype, data = "NOERROR", "AAAA" if ":" in value else "A", value
    else:
        rcode, rtype, data = "NOERROR", "CNAME", value
    if rcode != "NOERROR" and rcode != "NXDOMAIN":
        return (f"fraudwall answers no {rcode} (a listed name gets NXDOMAIN, an empty answer, the sinkhole"
                " or addresses)")
    if rcode == "NXDOMAIN" or not rtype:
        return _REWRITES[(rcode, "")], ()
    if rtype == "CNAME":
        return (f"a rewrite to another name (CNAME {excerpt(data, 40)}): fraudwall answers a listed name"
                " with the sinkhole or addresses, not another name")
    if rtype not in ("A", "AAAA"):
        return f"{excerpt(rtype, 10)} records: fraudwall's rewrites answer with A or AAAA records only"
    try:
        address = ipaddress.ip_address(data)
    except ValueError:
        return f"{excerpt(data, 40)!r} is not an IP address"
    if address.version != (4 if rtype == "A" else 6):
        return f"{data} is not an IPv{4 if rtype == 'A' else 6} address, as an {rtype} record needs"
    if hosts.is_sink(address):
        return Action.BLOCK, ()
    return Action.REDIRECT, (str(address),)
