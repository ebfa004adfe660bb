"""The brands, arranged for lookups at query time: by domain, by token, by skeleton, by length."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, NamedTuple

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from fraudwall.scoring.brands import Brand
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

    __slots__ = ("brands", "_owner", "_tokens", "_skeletons", "_loose", "_windows",
                 "_folded_windows", "_loose_windows", "_inner", "_labels", "_variants")

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
        for brand in self.brands:
            for domain in brand.domains:
                self._owner.setdefault(domain, brand)
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
        self._skeletons = {k: tuple(v) for k, v in skeletons.items()}
        self._loose = {k: tuple(v) for k, v in loose.items()}
        self._windows = _windows(by_length)
        self._folded_windows = _windows(folded_by_length)
        self._loose_windows = _windows(loose_by_length)
        self._inner = {k: tuple(v) for k, v in inner.items()}
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

    def token(self, text: str) -> Brand | None:
        return self._tokens.get(text)

    def label(self, text: str) -> Brand | None:
        """The brand one of whose domains has `text` as label (and token)."""
        return self._tokens.get(text) if text in self._labels else None

    def same_skeleton(self, text: str, loose: bool = False, folded: str | None = None) -> tuple[Match, ...]:
        """Tokens that read like `text` once look-alike characters are folded (`folded`, if done)."""
        fold, table = (loose_skeleton, self._loose) if loose else (skeleton, self._skeletons)
        key = fold(text) if folded is None else folded
        return tuple(Match(t, self._tokens[t], 0) for t in table.get(key, ()))

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
        window = (self._loose_windows if loose else self._folded_windows if folded else self._windows).get(len(text))
        if window is None:
            return ()
        forms, tokens = window
        # One call into rapidfuzz for all tokens of about the same length; the
        # per-token budget is applied to the few that come back.
        hits = extract(text, forms, scorer=_OSA, score_cutoff=2, limit=None)
        if not hits:
            return ()
        found = []
        for _, d, i in hits:
            token = tokens[i]
            if 0 < d <= max_distance(token):
                found.append(Match(token, self._tokens[token], d))
        found.sort(key=lambda m: (m.distance, -len(m.token)))
        return tuple(found)

    def inside(self, text: str) -> tuple[Match, ...]:
        """Long tokens that appear in `text`, longest first (`amazon` in `amazon-jp-gift`)."""
        found = {}
        inner = self._inner
        for i in range(len(text) - MIN_INNER_TOKEN + 1):
            for token in inner.get(text[i:i + MIN_INNER_TOKEN], ()):
                if text.startswith(token, i):
                    found[token] = Match(token, self._tokens[token], 0)
        if not found:
            return ()
        return tuple(sorted(found.values(), key=lambda m: -len(m.token)))


def _windows(by_length: dict[int, list[tuple[str, str]]]) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """For each text length, the (forms, tokens) an edit budget of two can reach."""
    longest = max(by_length, default=0)
    windows = {}
    for n in range(1, longest + 3):
        pairs = [p for length in range(max(n - 2, 4), n + 3) for p in by_length.get(length, ())]
        if pairs:
            windows[n] = (tuple(f for f, _ in pairs), tuple(t for _, t in pairs))
    return windows
