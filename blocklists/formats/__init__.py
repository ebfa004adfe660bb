"""Feed formats: what a parser yields, the shared line reader, and format detection.

Every parser is a pure function from numbered lines to `DomainEntry`, `NetworkEntry`,
`UrlEntry` and `Skip` values; the importer alone decides what to store and what to report.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from fraudwall.blocklists.verdict import Action
from fraudwall.scoring.names import InvalidName, normalise_name

# No feed format has a line this long (characters): a longer one is skipped unread, so a
# broken or hostile feed cannot make the parsers copy megabytes a line.
MAX_LINE = 4096
# How much of a bad line a message quotes.
EXCERPT = 80


class Format(enum.Enum):
    HOSTS = "hosts"
    DOMAINS = "domains"
    ADBLOCK = "adblock"
    RPZ = "rpz"
    URLHAUS = "urlhaus"
    PHISHTANK_CSV = "phishtank-csv"
    PHISHTANK_JSON = "phishtank-json"
    OPENPHISH = "openphish"
    CSV = "csv"
    IPLIST = "iplist"


class Mode(enum.IntEnum):
    """Which names an entry covers; stored as a small integer."""

    EXACT = 0      # the name only
    SUBTREE = 1    # the name and every name below it
    BELOW = 2      # only the names below it (RPZ and DNS wildcards, `*.example.org`)


class SkipReason(enum.Enum):
    INVALID_NAME = "invalid name"
    INVALID_ADDRESS = "invalid address"
    INVALID_URL = "invalid URL"
    SYNTAX = "syntax error"
    UNENFORCEABLE_MODIFIER = "modifier DNS cannot enforce"
    PER_CLIENT = "per-client rule"
    QUERY_TYPE = "per-query-type rule"
    REWRITE = "DNS rewrite fraudwall cannot answer"
    DISABLED = "disabled by $badfilter"
    URL_RULE = "URL rule with a path"
    COSMETIC = "cosmetic rule"
    REGEX = "regex rule"
    WILDCARD = "wildcard inside a name"
    UNSUPPORTED_TRIGGER = "unsupported RPZ trigger"
    UNSUPPORTED_RECORD = "unsupported RPZ record"
    SINGLE_LABEL = "single-label name"
    TOO_LONG = "line too long"


# Skips that say the line is broken, not that it holds a rule a resolver cannot enforce: a
# feed made mostly of these is the wrong file or the wrong format, and is not imported.
INVALID = frozenset({SkipReason.INVALID_NAME, SkipReason.INVALID_ADDRESS, SkipReason.INVALID_URL,
                     SkipReason.SYNTAX, SkipReason.SINGLE_LABEL, SkipReason.TOO_LONG})


class DomainEntry(NamedTuple):
    name: str          # normalised: lowercase ASCII, no trailing dot
    mode: Mode
    action: Action
    line: int
    rule: str          # the token as written, when it says more than the name (else "")
    important: bool = False
    redirect: tuple[str, ...] = ()


class NetworkEntry(NamedTuple):
    network: str       # an address or CIDR in ipaddress's canonical text form
    action: Action
    line: int
    rule: str = ""


class UrlEntry(NamedTuple):
    url: str
    host: str          # normalised host name, or the IP literal
    line: int


class Skip(NamedTuple):
    line: int
    reason: SkipReason
    detail: str        # what was wrong, for the `file:line: reason` report


Parsed = DomainEntry | NetworkEntry | UrlEntry | Skip
Parser = Callable[[Iterable[tuple[int, str]]], Iterator[Parsed]]


def numbered_lines(lines: Iterable[str], first: int = 1) -> Iterator[tuple[int, str]]:
    """(line number, text) with the BOM and line ends gone and blank lines dropped.

    Leading blanks stay: in a zone file they mean "the previous owner". `first` is the
    number of the first line, for a part cut from the middle of a file.
    """
    for number, text in enumerate(lines, start=first):
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        text = text.rstrip()
        if text:
            yield number, text


def parse_lines(parser: Parser, lines: Iterable[str], first: int = 1) -> Iterator[Parsed]:
    """`parser` over raw lines; a line of more than MAX_LINE characters is skipped before it sees it."""
    too_long: list[Skip] = []

    def bounded() -> Iterator[tuple[int, str]]:
        for number, text in numbered_lines(lines, first):
            if len(text) > MAX_LINE:
                too_long.append(Skip(number, SkipReason.TOO_LONG, f"more than {MAX_LINE} characters"))
            else:
                yield number, text

    for item in parser(bounded()):
        if too_long:
            yield from too_long
            too_long.clear()
        yield item
    yield from too_long


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """`text` cut to `limit` characters, with "…" where it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def as_written(token: str, name: str) -> str:
    """The rule text worth keeping: empty when the token is just the stored name."""
    return "" if token == name else token


def invalid_name(number: int, token: str, error: Exception) -> Skip:
    return Skip(number, SkipReason.INVALID_NAME, f"{excerpt(token)!r}: {error}")


def single_label(number: int, token: str) -> Skip:
    """A feed entry of one label (`localhost`, `com`) would block a top-level domain or a local name."""
    return Skip(number, SkipReason.SINGLE_LABEL, f"{excerpt(token)!r}: a feed entry needs at least two labels")


def entry_name(number: int, token: str) -> str | Skip:
    """The stored form of a feed entry's name, or the Skip that says why it is none."""
    try:
        name = normalise_name(token)
    except InvalidName as error:
        return invalid_name(number, token, error)
    return name if "." in name else single_label(number, token)


def address_text(token: str) -> str | None:
    """The canonical text of an IPv4 or IPv6 address (`[2001:db8::1]` too), or None for anything else.

    A bare address in a domain feed means "this host serves fraud": it becomes an address entry,
    so the answers pointing to it are blocked, where a name parser would refuse it."""
    if not token or not (token[-1].isdigit() or ":" in token or token[-1] == "]") or "%" in token:
        # A name: no address ends in a letter, bar IPv6 (which holds a colon). A scoped address
        # (`fe80::1%eth0`) names a link of the feed's author, nothing an answer can hold.
        return None
    if token[0] == "[" and token[-1] == "]":
        token = token[1:-1]
    try:
        return str(ipaddress.ip_address(token))
    except ValueError:
        return None


def parser_for(format: Format, column: str = "", disabled: dict[str, str] | None = None) -> Parser:
    """The parser of `format`; `column` for CSV, `disabled` for AdBlock (the rules `$badfilter` rules
    disable, from `adblock.badfilters`)."""
    # Imported here so that each format module may use the types above.
    from fraudwall.blocklists.formats import adblock, domains, hosts, iplist, rpz, urls

    table: dict[Format, Parser] = {
        Format.HOSTS: hosts.parse,
        Format.DOMAINS: domains.parse,
        Format.ADBLOCK: adblock.parse,
        Format.RPZ: rpz.parse,
        Format.URLHAUS: urls.parse_urlhaus,
        Format.PHISHTANK_CSV: urls.parse_phishtank_csv,
        Format.PHISHTANK_JSON: urls.parse_phishtank_json,
        Format.OPENPHISH: urls.parse_openphish,
        Format.IPLIST: iplist.parse,
    }
    if format is Format.CSV:
        return lambda lines: urls.parse_csv(lines, column)
    if format is Format.ADBLOCK and disabled:
        return lambda lines: adblock.parse(lines, disabled)
    return table[format]


def detect_format(head: list[str]) -> Format:
    """The format of a feed from its first lines (comments included)."""
    from fraudwall.blocklists.formats import detection

    return detection.detect(head)
