"""Plain domain lists: one name a line, `#` and `!` comments, `*.example.org` for the names below.

A line that is an IPv4 or IPv6 address (real phishing feeds carry thousands) is an address
entry: the answers holding it are blocked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import contains
from typing import NamedTuple

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
    parse_lines,
)
from fraudwall.blocklists.verdict import Action

# Enum members looked up once: this loop runs for every line of feeds of millions of lines.
_SUBTREE, _BELOW, _BLOCK = Mode.SUBTREE, Mode.BELOW, Action.BLOCK

# A line that is a name already in its stored spelling: lowercase ASCII letters, digits, `_` and `-`, two
# labels at least, the last one not all digits (so no address), no punycode (IDNA checks those), 253
# characters at most, nothing else on the line. `parse` makes `DomainEntry(line, SUBTREE, BLOCK, number, "")`
# of it, so `parse_blocks` hands such lines on as they are, without parsing each: nearly every line of a
# big feed is one (tests/blocklists/test_domains.py holds the two paths to the same answer).
_PLAIN_LINE = re.compile(r"(?=[^\n]{1,253}\Z)(?![^\n]*xn--)(?:[a-z0-9_-]{1,63}\.)+(?=[a-z0-9_-]*[a-z_-])[a-z0-9_-]{1,63}")
# The bytes of plain names and their line ends; what a block holds besides them is found by `translate`.
_NAME_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_-.\n"
_DIGITS_LAST = re.compile(rb"\.[0-9]+(?:\n|\Z)")
SHORT_LINE = 63   # a line no longer than a label: none of its labels, nor the name, can be too long


class PlainNames(NamedTuple):
    """Lines `first`, `first + 1`, ... of a feed, each a plain name (see _PLAIN_LINE): to `parse`, each is
    `DomainEntry(name, Mode.SUBTREE, Action.BLOCK, its number, "")`."""

    first: int
    names: list[str]


def parse_blocks(blocks: Iterable[bytes], first: int = 1) -> Iterator[Parsed | PlainNames]:
    """`parse` over a feed read in blocks of whole lines (the importer's reads), for big feeds: the same
    entries and skips, in the same order, except that each run of plain names comes as one PlainNames.

    A block of plain names only is found by a few scans of its bytes (a clean feed is such blocks, bar its
    comment header); the lines of any other block are told apart one by one."""
    number = first
    for block in blocks:
        lines = block.decode("utf-8", "replace").split("\n")   # as the importer's `_lines` decodes
        if not lines[-1]:
            lines.pop()
        if _all_plain(block, lines):
            if lines:
                yield PlainNames(number, lines)
        else:
            yield from _mixed(lines, number)
        number += len(lines)


def _all_plain(block: bytes, lines: list[str]) -> bool:
    """Whether every line of `block` (split into `lines`) is a plain name; C-speed scans only."""
    return (not block.translate(None, _NAME_BYTES)
            and b"xn--" not in block and b".." not in block and b"\n." not in block and b".\n" not in block
            and b"\n\n" not in block and not block.startswith((b".", b"\n")) and not block.endswith(b".")
            and max(map(len, lines), default=0) <= SHORT_LINE
            and all(map(contains, lines, repeat(".")))
            and _DIGITS_LAST.search(block) is None)


def _mixed(lines: list[str], first: int) -> Iterator[Parsed | PlainNames]:
    """The lines of a block that holds other lines than plain names: the runs of plain names as
    PlainNames, each other line through `parse` (with the too-long check of `parse_lines`)."""
    run_start = 0
    for index, match in enumerate(map(_PLAIN_LINE.fullmatch, lines)):
        if match is None:
            if index > run_start:
                yield PlainNames(first + run_start, lines[run_start:index])
            run_start = index + 1
            yield from parse_lines(parse, (lines[index],), first + index)
    if len(lines) > run_start:
        yield PlainNames(first + run_start, lines[run_start:])


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
