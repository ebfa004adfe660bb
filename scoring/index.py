"""The brands, arranged for lookups at query time: by domain, by token, by skeleton, by length."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, NamedTuple

from rapidfuzz.distance import OSA

from fraudwall.scoring.brands import Brand
from fraudwall.scoring.combo import FRAUD_WORDS, word_pattern
from fraudwall.scoring.traits import LURE_WORDS
from fraudwall.scoring.infrastructure import INFRA_WORDS
from fraudwall.scoring.homoglyph import ascii_variants, loose_skeleton, skeleton
from fraudwall.scoring.typo import max_distance

__all__ = ["BrandIndex", "Match"]

# Tokens this short are found inside other words by chance ("visa" in
# "revisas"); inside a label only the longer ones count.
MIN_INNER_TOKEN = 5
_OSA = OSA.distance


class Match(NamedTuple):
    token: str
    brand: Brand
    distance: int


class BrandIndex:
    """Read-only after construction; one per Scorer, shared by nothing else."""

    __slots__ = ("brands", "_owner", "_tokens", "_skeletons", "_loose", "_near", "_folded_near",
                 "_loose_near", "_inner", "_inner_starts", "_labels", "_variants", "gate", "_above_owned")

    def __init__(self, brands: Iterable[Brand]) -> None:
        self.brands = tuple(brands)
        self._owner: dict[str, Brand] = {}
        self._tokens: dict[str, Brand] = {}
        self._labels: set[str] = set()   # tokens that are a domain's label: fuzzy-matched
        skeletons: dict[str, list[str]] = defaultdict(list)
        loose: dict[str, list[str]] = defaultdict(list)
        by_length: dict[int, list[tuple[str, str]]] = defaultdict(list)
        folded_by_length: dict[int, list[tuple[str, str]]] = defaultdict(list)
        loose_by_length: dict[int, list[tuple[str, str]]] = defaultdict(list)
        inner: dict[str, list[str]] = defaultdict(list)
        above_owned: set[str] = set()
        for brand in self.brands:
            for domain in (*brand.domains, *brand.services):
                self._owner.setdefault(domain, brand)
                # Its parents: `com.be` and `be` of amazon.com.be.
                above_owned.update(domain.split(".", dots)[dots] for dots in range(1, domain.count(".") + 1))
            labels = {d.split(".")[0].replace("-", "") for d in brand.domains}
            for token in brand.tokens:
                if token in self._tokens:
                    continue   # first brand to claim a token keeps it
                self._tokens[token] = brand
                if len(token) >= MIN_INNER_TOKEN:
                    inner[token[:MIN_INNER_TOKEN]].append(token)
                if token not in labels:
                    # Pinyin and nicknames are matched whole: one edit turns
                    # xiecheng into liecheng, a place name, not a look-alike.
                    continue
                self._labels.add(token)
                skeletons[skeleton(token)].append(token)
                loose[loose_skeleton(token)].append(token)
                by_length[len(token)].append((token, token))
                folded_by_length[len(skeleton(token))].append((skeleton(token), token))
                loose_by_length[len(loose_skeleton(token))].append((loose_skeleton(token), token))
        self._above_owned = frozenset(above_owned)
        self._skeletons = {k: tuple(v) for k, v in skeletons.items()}
        self._loose = {k: tuple(v) for k, v in loose.items()}
        self._near = _NearTable(by_length)
        self._folded_near = _NearTable(folded_by_length)
        self._loose_near = _NearTable(loose_by_length)
        self._inner = {k: tuple(v) for k, v in inner.items()}
        # One pass over a text finds where a long token can start (a lookahead: overlapping starts too).
        self._inner_starts = re.compile(f"(?=({word_pattern(self._inner) or '(?!)'}))").finditer
        # And whether any word a signal looks for is in it at all: fraud words, lure
        # words, the start of a long token, a word of serving infrastructure (infrastructure.py).
        # `gate(text)` None: none of them is.
        self.gate = re.compile(word_pattern(FRAUD_WORDS | LURE_WORDS | INFRA_WORDS | set(self._inner))).search
        # Hand-made look-alikes of a brand's domain label (cib -> clb, elb, cld ...),
        # found again by one lookup. Two-letter labels are left out: their variants
        # (qq -> gq, gg) are other people's everyday names.
        variants: dict[str, list[str]] = defaultdict(list)
        for token in sorted(self._labels):
            if len(token) > 2:
                for variant in ascii_variants(token):
                    variants[variant].append(token)
        self._variants = {k: tuple(v) for k, v in variants.items()}

    def owner(self, domain: str) -> Brand | None:
        """The brand whose legitimate domain this registrable domain is."""
        return self._owner.get(domain)

    def above_owned(self, domain: str) -> bool:
        """Whether a brand's domain lies below `domain` (amazon.com.be below com.be): the only domains
        under which a name's parent can be a brand's domain when the name's registrable domain is not."""
        return domain in self._above_owned

    def token(self, text: str) -> Brand | None:
        return self._tokens.get(text)

    def label(self, text: str) -> Brand | None:
        """The brand one of whose domains has `text` as label (and token)."""
        return self._tokens.get(text) if text in self._labels else None

    def same_skeleton(self, text: str, loose: bool = False, folded: str | None = None) -> tuple[Match, ...]:
        """Tokens that read like `text` once look-alike characters are folded (`folded`, if done)."""
        fold, table = (loose_skeleton, self._loose) if loose else (skeleton, self._skeletons)
        tokens = table.get(fold(text) if folded is None else folded)
        if tokens is None:
            return ()
        return tuple([Match(t, self._tokens[t], 0) for t in tokens])

    def skeleton_known(self, folded: str) -> bool:
        """Whether some token has this skeleton: the usual answer, no, without building a tuple."""
        return folded in self._skeletons

    def ascii_variant(self, text: str, suffix: str) -> Match | None:
        """The brand whose domain `text`.`suffix` imitates with ASCII confusions (`clb` under
        `com.cn` for cib.com.cn): one of `ascii_variants` of its label, under its own suffix."""
        for token in self._variants.get(text, ()):
            brand = self._tokens[token]
            if self._owner.get(f"{token}.{suffix}") is brand:
                return Match(token, brand, 0)
        return None

    def near(self, text: str, folded: bool = False, loose: bool = False) -> tuple[Match, ...]:
        """Tokens within their edit budget (`typo.max_distance`) of `text`, nearest first.

        With `folded` (`loose`), `text` is a skeleton (loose skeleton) and is
        compared with the tokens' skeletons.
        """
        found = (self._loose_near if loose else self._folded_near if folded else self._near).near(text)
        if not found:
            return ()
        return tuple([Match(token, self._tokens[token], d) for token, d in found])

    def inside(self, text: str) -> tuple[Match, ...]:
        """Long tokens that appear in `text`, longest first (`amazon` in `amazon-jp-gift`)."""
        found = {}
        inner = self._inner
        for start in self._inner_starts(text):
            i = start.start()
            for token in inner[start.group(1)]:
                if text.startswith(token, i):
                    found[token] = Match(token, self._tokens[token], 0)
        if not found:
            return ()
        return tuple(sorted(found.values(), key=lambda m: -len(m.token)))


class _NearTable:
    """The tokens' forms (plain, skeleton or loose skeleton) arranged for `near`.

    Most labels are near no token, so the lookup is built to say no fast. One
    edit (a letter replaced, added, dropped, two neighbours swapped) leaves the
    shorter of the two strings, of n characters, either its first n // 2
    characters or its last n - n // 2 - 1 as they were. So each form is filed
    under its head and its tail for each text length one edit from it, and a
    text looks up its own: four dictionary lookups, whatever the number of
    brands. Two edits (tokens of nine letters or more, `typo.max_distance`) are
    looked for where they keep the first three or the last three letters
    (`kurnoekoyamato`, `aliexpresrt`): two more lookups, where comparing with
    every long brand cost a third of a name's time, for the few look-alikes
    with a slip at each end of a long name. Candidates are checked with the
    exact distance; the order is nearest first, then longest token, then the
    order of the brands file.
    """

    __slots__ = ("_probes",)

    def __init__(self, by_length: dict[int, list[tuple[str, str]]]) -> None:
        one: dict[int, tuple[dict, dict]] = {}
        two: dict[int, tuple[dict, dict]] = {}
        order = 0
        for length in sorted(by_length):
            if length < 4:
                continue        # forms this short are never near anything (max_distance 0)
            for form, token in by_length[length]:
                budget = max_distance(token)
                if budget == 0:
                    continue
                entry = (form, token, budget, order)
                order += 1
                for n in (length - 1, length, length + 1):     # the lengths of texts one edit away
                    heads, tails = one.setdefault(n, ({}, {}))
                    shorter = min(n, length)
                    heads.setdefault(form[:shorter // 2], []).append(entry)
                    tails.setdefault(form[length - (shorter - shorter // 2 - 1):], []).append(entry)
                if budget >= 2:
                    for n in range(length - 2, length + 3):      # the lengths two edits away
                        heads, tails = two.setdefault(n, ({}, {}))
                        heads.setdefault(form[:3], []).append(entry)
                        tails.setdefault(form[-3:], []).append(entry)
        # For each length of text, where to cut it and the table to look each piece up in.
        probes: dict[int, list[tuple[slice, dict]]] = {}
        for length, (heads, tails) in _frozen(one).items():
            # The shorter string is the text (forms as long or longer) or one shorter than it.
            head, shorter_head = length // 2, (length - 1) // 2
            tail, shorter_tail = length - head - 1, length - shorter_head - 2
            cuts = probes.setdefault(length, [])
            cuts += [(slice(None, head), heads), (slice(length - tail, None), tails)]
            if shorter_head != head:
                cuts.append((slice(None, shorter_head), heads))
            if shorter_tail != tail:
                cuts.append((slice(length - shorter_tail, None), tails))
        for length, (heads, tails) in _frozen(two).items():
            probes.setdefault(length, []).extend(((slice(None, 3), heads), (slice(-3, None), tails)))
        self._probes = {length: tuple(cuts) for length, cuts in probes.items()}

    def near(self, text: str) -> list[tuple[str, int]]:
        """(token, distance) of the tokens within their edit budget of `text`, nearest first."""
        candidates: list[tuple[str, str, int, int]] = []
        for cut, table in self._probes.get(len(text), ()):
            entries = table.get(text[cut])
            if entries:
                candidates += entries
        if not candidates:
            return []       # the usual answer: no brand files anything under this text's head or tail
        # A token may be filed under several of the keys looked up: checked once, wherever it was found.
        found: dict[str, tuple[int, int, int, int]] = {}
        for form, token, budget, order in candidates:
            if token not in found:
                d = _OSA(text, form, score_cutoff=2)
                if 0 < d <= budget:
                    found[token] = (d, -len(token), len(form), order)
        if not found:
            return []
        return [(token, key[0]) for token, key in sorted(found.items(), key=lambda item: item[1])]


def _frozen(tables: dict[int, tuple[dict, dict]]) -> dict[int, tuple[dict, dict]]:
    return {n: ({k: tuple(v) for k, v in heads.items()}, {k: tuple(v) for k, v in tails.items()})
            for n, (heads, tails) in tables.items()}
