"""Domain names as the store keeps them: lowercase ASCII (punycode), no trailing dot, checked.

Unicode names go through IDNA 2008 with the UTS 46 mapping (the `idna` package), as
browsers do, so that a feed's `ÄBC.example` and a query's `xn--bc-uia.example` meet.
"""

from __future__ import annotations

import re

import idna

# Underscores and edge hyphens are not valid host names, but they are valid DNS labels
# and real feeds carry them (`_tracker.example.org`); rejecting them would drop entries.
# The last label must hold a non-digit: `192.0.2.1` is an address, not a name.
_ASCII_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*(?=[a-z0-9_-]*[a-z_-])[a-z0-9_-]{1,63}")


class InvalidName(ValueError):
    """The text is not a domain name; the message says why."""


def normalise_name(text: str) -> str:
    """The stored form of a domain name; InvalidName with the reason otherwise."""
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
            raise InvalidName(f"not a valid internationalised name ({error})") from None
    # IDNA maps the full-width and ideographic full stops to ".": a Unicode name may end in one.
    name = name.lower().removesuffix(".")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise InvalidName("empty label")
        if len(label) > 63:
            raise InvalidName(f"label longer than 63 octets: {label[:20]}...")
        if not re.fullmatch(r"[a-z0-9_-]+", label):
            bad = next(char for char in label if not re.fullmatch(r"[a-z0-9_-]", char))
            raise InvalidName(f"character {bad!r} not allowed in a name")
    if len(name) > 253:
        raise InvalidName(f"name longer than 253 octets ({len(name)})")
    if labels[-1].isdigit():
        raise InvalidName("numeric top-level label (an IP address?)")
    return name


def parents(name: str) -> list[str]:
    """`a.b.example.org` -> [a.b.example.org, b.example.org, example.org, org]."""
    names = [name]
    while True:
        dot = name.find(".")
        if dot < 0:
            return names
        name = name[dot + 1:]
        names.append(name)
