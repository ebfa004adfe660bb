"""The DNS subset of AdBlock/AdGuard filter syntax.

`||example.org^` blocks the name and everything below it, `@@||example.org^` excepts them,
`$important` makes a block beat exceptions at the same name. Rules that only say they cover
whole pages still block the name; rules narrowed to some requests of a page cannot be
enforced by a resolver, which never sees requests, so they are skipped (and counted),
like cosmetic and regex rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from fraudwall.blocklists.formats import (
    DomainEntry,
    Mode,
    Parsed,
    Skip,
    NetworkEntry,
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
_COSMETIC = re.compile(r"#[@$%?]?#|#@?\$\??#|\$\$|\$@\$")
_IP_FIRST = re.compile(r"[0-9a-fA-F:.]+\s")


def parse(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
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
        yield from _rule(number, text)


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
    if options:
        for option in options.split(","):
            option = option.strip().lower()
            if option not in WHOLE_PAGE:
                yield Skip(number, SkipReason.UNENFORCEABLE_MODIFIER, f"${excerpt(option, 20)} in {excerpt(text)!r}")
                return
            important = important or option == "important"
    if pattern.startswith("||"):
        mode, host = Mode.SUBTREE, pattern[2:]
    elif pattern.startswith("|") or "/" in pattern:
        yield Skip(number, SkipReason.UNENFORCEABLE_MODIFIER, f"URL rule, not a name: {excerpt(text)!r}")
        return
    else:
        # AdGuard Home's "domain only" syntax: the name itself, not what is below it.
        mode, host = Mode.EXACT, pattern
    if host.endswith("^|"):
        host = host[:-2]
    elif host.endswith("^"):
        host = host[:-1]
    address = address_text(host)
    if address is not None:
        yield NetworkEntry(address, action, number, as_written(text, address))
        return
    if "/" in host or ":" in host:
        yield Skip(number, SkipReason.UNENFORCEABLE_MODIFIER, f"URL rule, not a name: {excerpt(text)!r}")
        return
    if "*" in host or "^" in host or "|" in host:
        yield Skip(number, SkipReason.REGEX, f"pattern, not a name: {excerpt(text)!r}")
        return
    name = entry_name(number, host)
    if type(name) is Skip:
        yield name
        return
    if action is Action.ALLOW and important:
        important = False
    yield DomainEntry(name, mode, action, number, as_written(text, name), important)
