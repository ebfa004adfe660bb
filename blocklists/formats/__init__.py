"""Feed formats: what a parser yields, the shared line reader, and format detection.

Every parser is a pure function from numbered lines to `DomainEntry`, `NetworkEntry`,
`UrlEntry` and `Skip` values; the importer alone decides what to store and what to report.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from fraudwall.blocklists.verdict import Action


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
    COSMETIC = "cosmetic rule"
    REGEX = "regex rule"
    UNSUPPORTED_TRIGGER = "unsupported RPZ trigger"
    UNSUPPORTED_RECORD = "unsupported RPZ record"


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


def as_written(token: str, name: str) -> str:
    """The rule text worth keeping: empty when the token is just the stored name."""
    return "" if token == name else token


def invalid_name(number: int, token: str, error: Exception) -> Skip:
    return Skip(number, SkipReason.INVALID_NAME, f"{token!r}: {error}")


def parser_for(format: Format, column: str = "") -> Parser:
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
    return table[format]


def detect_format(head: list[str]) -> Format:
    """The format of a feed from its first lines (comments included)."""
    from fraudwall.blocklists.formats import detection

    return detection.detect(head)
