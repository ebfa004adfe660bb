from __future__ import annotations

from fraudwall.blocklists.formats import DomainEntry, NetworkEntry, Skip, UrlEntry, numbered_lines


def run(parser, text: str):
    """A parser's output for `text`, split into (entries, skips)."""
    parsed = list(parser(numbered_lines(text.splitlines())))
    entries = [p for p in parsed if isinstance(p, (DomainEntry, NetworkEntry, UrlEntry))]
    skips = [p for p in parsed if isinstance(p, Skip)]
    return entries, skips
