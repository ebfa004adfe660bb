"""Plain domain lists: one name a line, `#` and `!` comments, `*.example.org` for the names below.

A line that is an IPv4 or IPv6 address (real phishing feeds carry thousands) is an address
entry: the answers holding it are blocked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fraudwall.blocklists.formats import (
    DomainEntry,
    Mode,
    NetworkEntry,
    Parsed,
    Skip,
    SkipReason,
    address_text,
    entry_name,
    excerpt,
)
from fraudwall.blocklists.verdict import Action

# Enum members looked up once: this loop runs for every line of feeds of millions of lines.
_SUBTREE, _BELOW, _BLOCK = Mode.SUBTREE, Mode.BELOW, Action.BLOCK


def parse(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    for number, text in lines:
        if text[0] in "#!":
            continue
        if "#" in text:
            text = text.split("#", 1)[0]
        token = text.strip()
        if not token:
            continue
        if " " in token or "\t" in token:
            yield Skip(number, SkipReason.SYNTAX, f"more than one word: {excerpt(token)!r}")
            continue
        address = address_text(token)
        if address is not None:
            yield NetworkEntry(address, _BLOCK, number, "" if token == address else token)
            continue
        mode = _SUBTREE
        bare = token
        if token.startswith("*."):
            mode, bare = _BELOW, token[2:]
        name = entry_name(number, bare)
        if type(name) is Skip:
            yield name
            continue
        yield DomainEntry(name, mode, _BLOCK, number, "" if token == name else token)


def export(list_name: str, entries: Iterable[DomainEntry]) -> Iterator[str]:
    """A list's blocks as a domain list, a line at a time (`*.name` for the names below only)."""
    yield f"# fraudwall list {list_name}: blocked names; each covers the names below it, *.name only those"
    for entry in entries:
        if entry.action is not Action.ALLOW:
            yield ("*." + entry.name) if entry.mode is Mode.BELOW else entry.name
