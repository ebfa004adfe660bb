"""Splitting a host name at its public suffix, fast: tldextract's bundled list, looked up by hand.

tldextract stays the source of the suffix list (its bundled snapshot: nothing
fetched, nothing written) and the judge of the odd cases; the lookup of the
usual name is a few set lookups here instead of its general parser. Odd
cases, handed to tldextract: internationalised labels (`xn--`, matched in
Unicode there), names under a wildcard or exception rule of the list
(`*.ck`, `!www.ck`, `*.kawasaki.jp`), names under no known suffix.
"""

from __future__ import annotations

from typing import NamedTuple

import tldextract

__all__ = ["Parts", "SuffixList"]


class Parts(NamedTuple):
    subdomain: str
    domain: str
    suffix: str


class SuffixList:
    """`split(name)` -> Parts, as `tldextract.extract_str` would split a normalised host name."""

    __slots__ = ("_extract", "_suffixes", "_wild", "_tails")

    def __init__(self) -> None:
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                              fallback_to_snapshot=True)
        rules = self._extract.tlds      # public suffixes only, as extract_str uses them
        self._suffixes = frozenset(r for r in rules if not r.startswith(("*", "!")))
        # Where a wildcard or exception rule applies, tldextract decides.
        self._wild = frozenset(r.partition(".")[2] for r in rules if r.startswith(("*", "!")))
        # The ends of longer rules (`uk` of `co.uk`): past one that is not, no rule can match.
        tails = set()
        for rule in rules:
            rest = rule.lstrip("*!.")
            while "." in rest:
                rest = rest.partition(".")[2]
                tails.add(rest)
        self._tails = frozenset(tails)

    def split(self, name: str) -> Parts:
        """`name` is normalised (lower case, ASCII, no final dot)."""
        if "xn--" in name:
            return self._slow(name)
        head, dot, last = name.rpartition(".")
        if dot and last in self._suffixes and last not in self._tails and last not in self._wild:
            # The usual name: its TLD is a suffix no longer rule ends in (com, net, top).
            subdomain, _, domain = head.rpartition(".")
            return Parts(subdomain, domain, last)
        labels = name.split(".")
        n = len(labels)
        best = 0
        candidate = ""
        suffixes, wild, tails = self._suffixes, self._wild, self._tails
        for k in range(1, n + 1):
            label = labels[n - k]
            candidate = f"{label}.{candidate}" if candidate else label
            if candidate in wild:
                return self._slow(name)
            if candidate in suffixes:
                best = k
            if candidate not in tails:
                break
        if best == 0:
            return self._slow(name)     # no suffix, or an IP address: rare
        if best == n:
            return Parts("", "", name)
        return Parts(".".join(labels[:n - best - 1]), labels[n - best - 1], ".".join(labels[n - best:]))

    def _slow(self, name: str) -> Parts:
        parts = self._extract.extract_str(name)
        return Parts(parts.subdomain, parts.domain, parts.suffix)
