"""What a label's shape says: machine-made names (random letters, long digit runs, many hyphens).

People pick names to be said and typed; phishing kits register them by the
hundred. No single trait is damning (`163.com`, `web-de.de`), so each adds a
little and the sum is capped below `warn`.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

__all__ = ["Shape", "entropy", "shape"]

_NO_DIGITS = str.maketrans("", "", "0123456789")
_NO_VOWELS = str.maketrans("", "", "aeiouy")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_DIGIT_LETTER_MIX = re.compile(r"[a-z][0-9]+[a-z]|[0-9][a-z]+[0-9]")
_CAP = 0.5


class Shape(NamedTuple):
    value: float
    traits: tuple[str, ...]


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in map(text.count, set(text)))


def shape(label: str) -> Shape:
    """The machine-made traits of one label (hyphens allowed, already lower case)."""
    traits: list[str] = []
    value = 0.0
    letters = label.replace("-", "")
    alpha = letters.translate(_NO_DIGITS)
    digits = len(letters) - len(alpha)
    hyphens = len(label) - len(letters)
    if len(label) >= 20:
        value += 0.1 if len(label) < 30 else 0.2
        traits.append(f"{len(label)} characters long")
    if hyphens >= 2:
        value += 0.1 * min(hyphens - 1, 3)
        traits.append(f"{hyphens} hyphens")
    if digits >= 4 and not alpha:
        value += 0.2
        traits.append("all digits")
    elif digits and _DIGIT_LETTER_MIX.search(letters):
        value += 0.15 if digits < 4 else 0.25
        traits.append("letters and digits interleaved")
    if len(alpha) >= 8:
        vowels = len(alpha) - len(alpha.translate(_NO_VOWELS))
        run = _CONSONANT_RUN.search(letters)
        if vowels < 0.2 * len(alpha) or run:
            value += 0.25
            traits.append("unpronounceable" + (f" ({run.group()!r})" if run else ""))
        if len(letters) >= 12:
            bits = entropy(letters)
            if bits > 3.6:
                value += 0.1
                traits.append(f"random-looking (entropy {bits:.1f} bits)")
    return Shape(min(value, _CAP), tuple(traits))
