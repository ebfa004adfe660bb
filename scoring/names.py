"""Domain names, one way for every part: the spelling, the parents, the public suffix list.

The blocklists store names in this spelling, the resolver allows and looks them up in it,
the scorer judges them in it, so `faß.de` in a feed, a query for `xn--fa-hia.de` and
`fraudwall score faß.de` all speak of one name. It sits in `scoring`, the lowest layer,
so that the blocklists and the resolver can use it without importing upwards.

* `normalise_name`: lowercase ASCII (punycode), no trailing dot, checked. Unicode names go
  through IDNA 2008 with the UTS 46 mapping (the `idna` package), as browsers do: `ß` stays
  `ß` (`xn--fa-hia.de`), where Python's IDNA 2003 codec would make it `fass.de`.
* `parents`: the name and each name above it, the one walk every lookup by subtree uses.
* `public_suffixes()`: the public suffix list tldextract bundles, read from its file (never
  fetched, nothing written) and split as tldextract splits: the registrable domain for the scorer,
  "is this a public suffix" (ICANN's and the private section's) for the blocklists' guards.
"""

from __future__ import annotations

import functools
from importlib import resources
import importlib.util
from pathlib import Path
import re
from typing import Any, NamedTuple

import idna

__all__ = ["InvalidName", "Parts", "PublicSuffixes", "decode_label", "is_below", "is_public_suffix",
           "normalise_name", "parents", "public_suffixes", "unicode_name"]

# Underscores and edge hyphens are not valid host names, but they are valid DNS labels
# and real feeds carry them (`_tracker.example.org`); rejecting them would drop entries.
# The last label must hold a non-digit: `192.0.2.1` is an address, not a name.
# Possessive (`*+`, `{1,63}+`): a label ends only at a dot, so there is one way to read a name and
# nothing to backtrack through (4.5k -> 4.0k instructions a name over score_stdin's names; what is left of
# `normalise_name`'s cost is IDNA for the 3 % with an `xn--` label, 100-250k instructions each).
_ASCII_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}+\.)*+(?=[0-9]*+[a-z_-])[a-z0-9_-]{1,63}+")
_LABEL = re.compile(r"[a-z0-9_-]+")


class InvalidName(ValueError):
    """The text is not a domain name; the message says why."""


def normalise_name(text: str) -> str:
    """The one spelling of a domain name; InvalidName with the reason otherwise.

    Single-label names (`localhost`, `com`) are names: a caller that must refuse them
    (a feed entry would block a whole top-level domain) checks for a dot itself.
    """
    name = text.lower()
    name = name.removesuffix(".")
    if len(name) <= 253 and _ASCII_NAME.fullmatch(name) is not None and "xn--" not in name:
        return name
    return _checked(text)


def _checked(text: str) -> str:
    """The slow path: says exactly what is wrong, and maps Unicode names to punycode."""
    name = text.strip()
    name = name.removesuffix(".")
    if not name:
        raise InvalidName("empty name")
    if ".." in name or name.startswith("."):
        raise InvalidName("empty label")
    if not name.isascii() or "xn--" in name.lower():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as error:
            # idna's message quotes the label, escaped: a feed line of control characters would
            # make a skip line of a kilobyte. The reason fits in the first hundred characters.
            reason = str(error) if len(str(error)) <= 100 else str(error)[:99] + "…"
            raise InvalidName(f"not a valid internationalised name ({reason})") from None
    # IDNA maps the full-width and ideographic full stops to ".": a Unicode name may end in one.
    name = name.lower().removesuffix(".")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise InvalidName("empty label")
        if len(label) > 63:
            raise InvalidName(f"label longer than 63 octets: {label[:20]}...")
        if not _LABEL.fullmatch(label):
            bad = next(char for char in label if not _LABEL.fullmatch(char))
            raise InvalidName(f"character {bad!r} not allowed in a name")
    if len(name) > 253:
        raise InvalidName(f"name longer than 253 octets ({len(name)})")
    if labels[-1].isdigit():
        raise InvalidName("numeric top-level label (an IP address?)")
    return name


def decode_label(label: str) -> str:
    """The Unicode text of one label (`xn--80ak6aa92e` -> `apple` in Cyrillic); ValueError if not punycode."""
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        raise ValueError(f"{label!r} is not valid punycode") from None


def unicode_name(name: str) -> str:
    """`xn--fa-hia.de` -> `faß.de`, to show a person: each label's punycode decoded as written, with no
    IDNA judgement (Python's IDNA 2003 codec refuses `ß`, IDNA 2008 refuses emoji), a bad label left as is."""
    labels = []
    for label in name.split("."):
        try:
            labels.append(decode_label(label))
        except ValueError:
            labels.append(label)
    return ".".join(labels)


def parents(name: str) -> list[str]:
    """`a.b.example.org` -> [a.b.example.org, b.example.org, example.org, org]: nearest first.

    A list rather than a generator: the lookups that walk a query's parents do so on the
    query path, and building the list is cheaper than resuming a generator at each name.
    """
    found = [name]
    append, find = found.append, name.find
    dot = find(".")
    while dot >= 0:
        append(name[dot + 1:])
        dot = find(".", dot + 1)
    return found


def is_below(name: str, ancestor: str) -> bool:
    """Whether `name` is a strict subdomain of `ancestor` (`a.example.org` of `example.org`)."""
    return name.endswith("." + ancestor)


def is_public_suffix(name: str, rules: frozenset[str]) -> bool:
    """Whether `name` is a suffix under the list's `rules` (`com`, `github.io`, `x.ck` by `*.ck`, not `www.ck`)."""
    if name in rules:
        return True
    if "!" + name in rules:
        return False
    parent = name.partition(".")[2]
    return bool(parent) and ("*." + parent) in rules


class Parts(NamedTuple):
    subdomain: str
    domain: str
    suffix: str


# Parts made from a tuple, as namedtuple's own _make does: a third of the time of Parts(...), once per
# name the scorer or the NOD stage splits.
_PARTS = tuple.__new__


class PublicSuffixes:
    """The public suffix list tldextract bundles, read from its snapshot file, never fetched.

    `split` splits a name at its ICANN suffix, as tldextract's `extract_str` does with the private
    section left out: `login.github.io` is the domain `github` under `io`, so a look-alike
    on a platform is judged against the platform. `is_public_suffix` counts both sections:
    no feed entry may block `github.io` as a subtree, nor `com`.

    `split` looks the usual name up in a few set lookups, and walks the list's rules label by
    label, as tldextract does, for the odd ones: an internationalised label where the suffix may
    be (`xn--p1ai`, matched in Unicode), names under a wildcard or exception rule (`*.ck`, `!www.ck`,
    `*.kawasaki.jp`), names under no suffix. tldextract itself is imported only for a name
    `normalise_name` would not return (its URL parsing, bound to no bundled file), or when its
    snapshot file is gone: importing it brings requests along, and building its extractor walks
    every rule, a third of a second before the first name; the list is the same.
    """

    def __init__(self, sections: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> None:
        """`sections`: the rules of the ICANN and of the private section; the bundled list's without."""
        icann, private = sections if sections is not None else _sections()
        self._icann_rules = icann
        # The rules of `rules` no name without `xn--` can meet (`公司.cn`), spelled as names are when first
        # asked for: IDNA 2008 for 457 rules was 72M of `fraudwall score`'s 1.35G start-up instructions, for
        # names that are seldom asked about (a registrable domain in punycode with a label in front, to the scorer).
        later = tuple(rule for rule in (*icann, *private) if not _spelled_in_ascii(rule))
        self._unicode_rules = frozenset(later)
        self._ascii_rules = (frozenset(_ascii_rule(rule) for rule in (*icann, *private) if rule not in self._unicode_rules)
                             | _customer_suffixes())
        # What is made when first asked for (`rules`, `_icann`, `_extracted`): plain attributes, not cached
        # properties, so that the compiled module (scoring/README.md) keeps them too.
        self._all_rules: frozenset[str] | None = None
        self._icann_tables: tuple[frozenset[str], ...] | None = None
        self._extractor: Any = None

    @property
    def rules(self) -> frozenset[str]:
        """Both sections, as the list writes them (`*.ck`, `!www.ck`, `公司.cn`) but spelled as the store
        spells names, so `xn--55qx5d.cn` (公司.cn) is known as a suffix; plus the private section's rules
        for platforms the bundled list lacks (`customer-suffixes.txt`; not in `split`: ICANN only)."""
        if self._all_rules is None:
            self._all_rules = self._ascii_rules | frozenset(_ascii_rule(rule) for rule in self._unicode_rules)
        return self._all_rules

    def _icann(self) -> tuple[frozenset[str], ...]:
        """`split`'s tables, from the ICANN section's rules; made at the first split (the guards need none):
        the rules, where a wildcard or exception rule applies, the ends of longer rules, and, for the odd
        names, every end of a rule (a node of the tree of labels from the right) and the rules."""
        if self._icann_tables is not None:
            return self._icann_tables
        icann = self._icann_rules
        suffixes = frozenset(r for r in icann if not r.startswith(("*", "!")))
        # Where a wildcard or exception rule applies, the walk decides.
        wild = frozenset(r.partition(".")[2] for r in icann if r.startswith(("*", "!")))
        # The ends of longer rules (`uk` of `co.uk`): past one that is not, no rule can match.
        tails = set()
        for rule in icann:
            rest = rule.lstrip("*!.")
            while "." in rest:
                rest = rest.partition(".")[2]
                tails.add(rest)
        # Every rule and each of its ends, label by label (`*.kawasaki.jp`, `kawasaki.jp`, `jp`): the rules as
        # a tree of labels from the right, each node named by its path (a tree of 14,000 dictionaries cost
        # 12M instructions more to build, and as many objects to keep).
        ends = set(icann)
        for rule in icann:
            while "." in rule:
                rule = rule.partition(".")[2]
                ends.add(rule)
        self._icann_tables = (suffixes, wild, frozenset(tails), frozenset(ends), frozenset(icann))
        return self._icann_tables

    def is_public_suffix(self, name: str) -> bool:
        """`name` (normalised) is a suffix of either section: `com`, `co.uk`, `github.io`."""
        if name.isascii() and "xn--" not in name:
            # None of the name, `!name`, `*.parent` can be a rule spelled with `xn--` or in Unicode.
            return is_public_suffix(name, self._ascii_rules)
        return is_public_suffix(name, self.rules)

    def split(self, name: str) -> Parts:
        """`name` (normalised) at its ICANN suffix, as `extract_str` would split it."""
        suffixes, wild, tails, _, _ = self._icann_tables or self._icann()
        head, dot, last = name.rpartition(".")
        if dot and last in suffixes and last not in tails and last not in wild:
            # The usual name: its TLD is a suffix no longer rule ends in (com, net, top).
            subdomain, _, domain = head.rpartition(".")
            return _PARTS(Parts, (subdomain, domain, last))
        if dot and last in tails and last not in wild and not last.startswith("xn--"):
            # The next most usual: a TLD that longer rules end in (uk, cn, gr), and the name decided by its
            # last two labels, as the walk below decides it (co.uk a rule no longer one ends in; google.gr none).
            rest, dot, second = head.rpartition(".")
            pair = f"{second}.{last}"
            if not second.startswith("xn--") and pair not in wild and pair not in tails:
                if pair in suffixes:
                    subdomain, _, domain = rest.rpartition(".")
                    return _PARTS(Parts, (subdomain, domain, pair) if dot else ("", "", name))
                if last in suffixes:
                    return _PARTS(Parts, (rest, second, last))
        labels = name.split(".")
        n = len(labels)
        best = 0
        candidate = ""
        for k in range(1, n + 1):
            label = labels[n - k]
            if label.startswith("xn--"):
                # Where a punycode label could be part of the suffix, the list is matched in Unicode
                # (公司.cn); in front of the suffix, as in most IDN look-alikes, it is a label like any.
                return self._walked(name)
            candidate = f"{label}.{candidate}" if candidate else label
            if candidate in wild:
                return self._walked(name)
            if candidate in suffixes:
                best = k
            if candidate not in tails:
                break
        if best == 0:
            return self._walked(name)     # no suffix, or an IP address: rare
        if best == n:
            return Parts("", "", name)
        return Parts(".".join(labels[:n - best - 1]), labels[n - best - 1], ".".join(labels[n - best:]))

    def _walked(self, name: str) -> Parts:
        """The split of an odd name: the ICANN rules walked label by label from the right, each label
        in Unicode, as tldextract's `extract_str` walks them (a wildcard takes one label more, its
        exception one less); a name under no rule is all domain."""
        if _ASCII_NAME.fullmatch(name) is None:
            return self._extracted(name)
        _, _, _, ends, rules = self._icann_tables or self._icann()
        labels = name.split(".")
        n = start = at = len(labels)
        path = ""       # the labels walked, from the right: a node of the tree of rules
        for label in reversed(labels):
            key = _unicode_label(label)
            # A label decoded to one holding a dot is no label of a rule.
            whole = "." not in key
            below = f"{key}.{path}" if path else key
            if whole and below in ends:
                at -= 1
                path = below
                if below in rules:
                    start = at
                continue
            if (f"*.{path}" if path else "*") in ends:
                start = at if whole and "!" + below in ends else at - 1
            break
        if start == n:
            return Parts(".".join(labels[:-1]), labels[-1], "")
        return Parts(".".join(labels[:start - 1]) if start >= 2 else "", labels[start - 1] if start else "",
                     ".".join(labels[start:]))

    def _extracted(self, name: str) -> Parts:
        """tldextract's split of a text that is no normalised name (an address, a URL, upper case)."""
        if self._extractor is None:
            self._extractor = _extractor()
        parts = self._extractor.extract_str(name, include_psl_private_domains=False)
        return Parts(parts.subdomain, parts.domain, parts.suffix)


def _unicode_label(label: str) -> str:
    """A label as the suffix list writes it: lower case, punycode decoded (IDNA 2008) where it decodes."""
    label = label.lower()
    if label.startswith("xn--"):
        try:
            return idna.decode(label)
        except (UnicodeError, IndexError):
            pass
    return label


# How the list separates its sections, and what a rule is: as tldextract reads its snapshot.
_PRIVATE_SECTION = "// ===BEGIN PRIVATE DOMAINS==="
_RULE = re.compile(r"^([.*!]*\w\S*)", re.MULTILINE)


def _sections() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rules of the ICANN section and of the private section, as the bundled list writes them.

    Read from tldextract's snapshot file, found without importing tldextract; when the file is gone
    (another version of tldextract), through its extractor's public API."""
    spec = importlib.util.find_spec("tldextract")
    snapshot = Path(spec.origin).with_name(".tld_set_snapshot") if spec is not None and spec.origin else None
    if snapshot is not None and snapshot.is_file():
        icann, _, private = snapshot.read_text(encoding="utf-8").partition(_PRIVATE_SECTION)
        return tuple(_RULE.findall(icann)), tuple(_RULE.findall(private))
    everything = set(_extractor().tlds)
    icann_only = _extractor(private=False).tlds
    return tuple(icann_only), tuple(everything.difference(icann_only))


def _extractor(private: bool = True):
    """A tldextract extractor of the bundled snapshot: never fetched, nothing written."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                 include_psl_private_domains=private)


def _customer_suffixes() -> frozenset[str]:
    """The private-section rules the bundled list lacks (`customer-suffixes.txt`, shipped with this module)."""
    text = resources.files("fraudwall.scoring").joinpath("customer-suffixes.txt").read_text(encoding="utf-8")
    return frozenset(rule for line in text.splitlines() if (rule := line.split("#", 1)[0].strip()))


@functools.cache
def public_suffixes() -> PublicSuffixes:
    """The one suffix list of the process: read from tldextract's bundled snapshot once, never changed."""
    return PublicSuffixes()


def _spelled_in_ascii(rule: str) -> bool:
    """Whether `_ascii_rule` may spell `rule` without `xn--` and in ASCII: an ASCII rule, or one whose
    Unicode UTS 46 maps (or lowercasing, `normalise_name`'s quick path) to ASCII (full-width letters); not
    one IDNA refuses (it stays in Unicode)."""
    if rule.isascii():
        return True
    written = rule.removeprefix("*.") if rule.startswith("*.") else rule.removeprefix("!")
    if written.lower().isascii():
        return True
    try:
        return idna.uts46_remap(written, std3_rules=False).isascii()
    except (idna.IDNAError, UnicodeError):
        return False


def _ascii_rule(rule: str) -> str:
    """`*.公司.cn` -> `*.xn--55qx5d.cn`; a rule IDNA 2008 refuses stays as written (no name can meet it)."""
    if rule.isascii():
        return rule
    mark = "*." if rule.startswith("*.") else "!" if rule.startswith("!") else ""
    try:
        return mark + normalise_name(rule[len(mark):])
    except InvalidName:
        return rule
