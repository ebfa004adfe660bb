"""Folding look-alike characters, so that `раураl` (Cyrillic) and `paypa1` read as `paypal`.

Two skeletons, after Unicode TR39's idea of a skeleton:

- `skeleton`: the confusions a reader makes in any font, applied to every
  name: 0/o, 1/l/i, 3/8/e, 6/9, rn/m, vv/w, cl/d, and every non-ASCII letter
  to the ASCII letter it imitates.
- `loose_skeleton`: adds the weaker confusions (b/d, c/e, g/q, u/v, nn/m ...).
  Applied to internationalised labels only: a label that goes to the
  trouble of `xn--` and still reads as a brand once folded is rarely innocent,
  while folding ASCII this loosely would make `bad` and `dad` one word.
"""

from __future__ import annotations

import re
import unicodedata

from fraudwall.scoring.names import decode_label

__all__ = ["ascii_variants", "decode_label", "is_idn", "loose_skeleton", "skeleton"]

# Letters without a decomposition to their ASCII twin (NFKD handles the accented
# ones): IPA, small capitals, Cyrillic, Greek, and a few ligatures.
_UNICODE_TWINS = {
    "ɑ": "a", "ə": "a", "ɐ": "a", "а": "a", "α": "a",
    "ɓ": "b", "ƅ": "b", "ʙ": "b", "ь": "b", "в": "b", "β": "b",
    "ᴄ": "c", "ƈ": "c", "с": "c", "ϲ": "c",
    "ɖ": "d", "ɗ": "d", "đ": "d", "ԁ": "d",
    "ɇ": "e", "е": "e", "ё": "e", "є": "e", "ε": "e",
    "ƒ": "f",
    "ɡ": "g", "ǥ": "g", "ɢ": "g", "ԍ": "g",
    "ɦ": "h", "ħ": "h", "ⱨ": "h", "һ": "h", "н": "h",
    "ɩ": "i", "ɪ": "i", "ɨ": "i", "ı": "i", "і": "i", "ї": "i", "ι": "i",
    "ʝ": "j", "ɉ": "j", "ј": "j",
    "ĸ": "k", "ⱪ": "k", "ᴋ": "k", "к": "k", "κ": "k",
    "ł": "l", "ɫ": "l", "ӏ": "l", "ǀ": "l",
    "ᴍ": "m", "ɱ": "m", "м": "m",
    "ꞑ": "n", "ŋ": "n", "п": "n", "η": "n",
    "ᴏ": "o", "ø": "o", "о": "o", "ο": "o", "σ": "o",
    "ƿ": "p", "ƥ": "p", "р": "p", "ρ": "p",
    "ʠ": "q", "ԛ": "q",
    "ʀ": "r", "ɍ": "r", "ɾ": "r", "ɽ": "r", "ɼ": "r", "г": "r",
    "ꜱ": "s", "ʂ": "s", "ѕ": "s",
    "ƫ": "t", "ŧ": "t", "т": "t", "τ": "t",
    "ᴜ": "u", "ʉ": "u", "υ": "u",
    "ᶌ": "v", "ᴠ": "v", "ⱴ": "v", "ⱱ": "v", "ѵ": "v", "ν": "v",
    "ᴡ": "w", "ⱳ": "w", "ԝ": "w", "ω": "w",
    "х": "x", "χ": "x",
    "ʏ": "y", "ɏ": "y", "ƴ": "y", "ỿ": "y", "у": "y", "γ": "y",
    "ƶ": "z", "ⱬ": "z", "ᴢ": "z", "ʐ": "z",
    "ƻ": "2", "ʒ": "3", "ƽ": "5",
    "æ": "ae", "œ": "oe", "ß": "ss",
}
# One representative per class of characters read alike in any font.
_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "8": "e", "9": "6"})
_FOLD_BYTES = bytes.maketrans(b"01i389", b"ollee6")   # _FOLD for ASCII text
_FOLD_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_ANY_FOLD_PAIR = re.compile("|".join(pair for pair, _ in _FOLD_PAIRS)).search
_LOOSE = str.maketrans({"d": "b", "c": "e", "q": "g", "v": "u", "n": "m", "r": "m"})
_LOOSE_PAIRS = (("nn", "m"), ("lb", "b"), ("lh", "h"), ("lc", "k"), ("dl", "d"))

# What a letter (or two) is swapped for by hand where a registry takes no accented
# letters (.cn, .com.cn, .jp, .uk): the ASCII confusions, weak ones included
# (dnstwist's ASCII glyphs; `ascii_variants`).
_ASCII_GLYPHS = {
    "0": ("o",), "1": ("l", "i"), "3": ("8",), "6": ("9",), "8": ("3",), "9": ("6",),
    "b": ("d", "lb"), "c": ("e",), "d": ("b", "cl", "dl"), "e": ("c",), "g": ("q",), "h": ("lh",),
    "i": ("1", "l"), "k": ("lc",), "l": ("1", "i"), "m": ("n", "nn", "rn"), "n": ("m", "r"),
    "o": ("0",), "q": ("g",), "u": ("v",), "v": ("u",), "w": ("vv",), "rn": ("m",), "cl": ("d",),
}


def ascii_variants(token: str) -> set[str]:
    """Every spelling of `token` with one or two rounds of ASCII confusions (`cib` -> `clb`,
    `cld`, `elb`, `db` ...): a round swaps one letter, or in a window of two letters one of
    them (each copy: `oo` -> `00`) or both (`rn` -> `m`)."""
    first = _swaps(token)
    variants = set(first)
    for spelling in first:
        variants.update(_swaps(spelling))
    variants.discard(token)
    return variants


def _swaps(text: str) -> set[str]:
    """One round of `ascii_variants`. A window's letter swapped alone is that letter's own swap: a
    window adds only both copies of a doubled letter (`oo` -> `00`) and the pairs read as one (`rn`)."""
    found = set()
    for i, char in enumerate(text):
        for glyph in _ASCII_GLYPHS.get(char, ()):
            found.add(text[:i] + glyph + text[i + 1:])
    for i in range(len(text) - 1):
        char, after = text[i], text[i + 1]
        for glyph in _ASCII_GLYPHS.get(char, ()) if char == after else ():
            found.add(text[:i] + glyph + glyph + text[i + 2:])
        for glyph in _ASCII_GLYPHS.get(char + after, ()):
            found.add(text[:i] + glyph + text[i + 2:])
    return found


def is_idn(text: str) -> bool:
    return not text.isascii()


def _ascii_twins(text: str) -> str:
    if text.isascii():
        return text
    letters = []
    for char in unicodedata.normalize("NFKD", text):
        if char.isascii():
            letters.append(char)
        elif not unicodedata.combining(char):
            letters.append(_UNICODE_TWINS.get(char, char))
    return "".join(letters)


def skeleton(text: str) -> str:
    """`paypa1` and `pаypal` (Cyrillic а) -> `paypal`; `rnicrosoft` -> `mlerosoft`, like `microsoft`."""
    if not text.isascii():
        text = _ascii_twins(text)
    if _ANY_FOLD_PAIR(text):     # the usual answer, none, in one pass
        for pair, single in _FOLD_PAIRS:
            text = text.replace(pair, single)
    if text.isascii():
        return text.encode().translate(_FOLD_BYTES).decode()   # str.translate is slower
    return text.translate(_FOLD)


def loose_skeleton(text: str) -> str:
    """`skeleton` plus the confusions only worth folding for internationalised labels."""
    text = skeleton(text)
    # Folding made new pairs (`cib` -> `clb`, which reads as `db`): fold those too.
    for pair, single in (*_FOLD_PAIRS, *_LOOSE_PAIRS):
        if pair in text:
            text = text.replace(pair, single)
    return text.translate(_LOOSE)
