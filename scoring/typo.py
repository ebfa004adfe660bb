"""Edit-distance look-alikes: how far a label is from a brand token, and what kind of slip it is."""

from __future__ import annotations

import enum

from rapidfuzz.distance import OSA, Levenshtein

__all__ = ["Edit", "classify", "distance", "max_distance"]

_VOWELS = frozenset("aeiou")


class Edit(enum.Enum):
    """dnstwist's names for the ways a name is bent, where one edit says which."""
    ADDITION = "addition"
    BITSQUATTING = "bit-flip"
    INSERTION = "insertion"
    OMISSION = "omission"
    REPETITION = "repetition"
    REPLACEMENT = "replacement"
    TRANSPOSITION = "transposition"
    VOWEL_SWAP = "vowel-swap"
    HYPHENATION = "hyphenation"
    EDITS = "edits"   # two or more edits


def max_distance(token: str) -> int:
    """How many edits still read as the token.

    One slip in a long name goes unnoticed; in a four-letter one it makes another
    word, and short tokens (jd, qq, 189) are one edit from thousands of names,
    so those get only the edits dnstwist calls addition (see `classify`). Two
    edits are looked for only where they keep the first or the last three
    letters (`index._NearTable`).
    """
    if len(token) >= 9:
        return 2
    if len(token) >= 4:
        return 1
    return 0


def distance(label: str, token: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit), or limit + 1 beyond."""
    return OSA.distance(label, token, score_cutoff=limit)


def classify(label: str, token: str) -> Edit:
    """Which slip turns `token` into `label` (both hyphen-free unless HYPHENATION is meant)."""
    if label.replace("-", "") == token and "-" in label:
        return Edit.HYPHENATION
    if len(label) == len(token) + 1:
        if label.startswith(token):
            return Edit.REPETITION if label[-1] == token[-1] else Edit.ADDITION
        for i, char in enumerate(token):
            if label[i] != char:
                # label[i] was put in before token[i]
                if label[i + 1:] == token[i:]:
                    return Edit.REPETITION if label[i] in (char, label[i - 1] if i else "") else Edit.INSERTION
                break
        return Edit.EDITS
    if len(label) + 1 == len(token):
        return Edit.OMISSION if Levenshtein.distance(label, token) == 1 else Edit.EDITS
    if len(label) == len(token):
        diffs = [(a, b) for a, b in zip(label, token) if a != b]
        if len(diffs) == 1:
            a, b = diffs[0]
            if a in _VOWELS and b in _VOWELS:
                return Edit.VOWEL_SWAP
            if (ord(a) ^ ord(b)).bit_count() == 1:
                return Edit.BITSQUATTING
            return Edit.REPLACEMENT
        if len(diffs) == 2 and OSA.distance(label, token) == 1:
            return Edit.TRANSPOSITION
    return Edit.EDITS
