"""Checking a name before scoring it: one spelling (lower case, no final dot, ASCII)."""

from __future__ import annotations

import re

__all__ = ["InvalidName", "normalise"]

# Host names are letters, digits and hyphens; the underscore of service labels
# (_dmarc, _sip._tcp) is let through since resolvers see it every day.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")
# The usual name, checked whole in one match: lower case, labels of 1 to 63 characters.
_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class InvalidName(ValueError):
    """Not a domain name; the message says why."""


def normalise(name: str) -> str:
    """`WWW.Example.ORG.` -> `www.example.org`; Unicode as punycode; InvalidName if it is no name."""
    if len(name) <= 253 and _NAME.fullmatch(name):
        return name
    text = name.strip().lower()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise InvalidName("empty name")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidName("not a valid internationalised name") from None
    if len(text) > 253:
        raise InvalidName(f"name longer than 253 characters ({len(text)})")
    for label in text.split("."):
        if not label:
            raise InvalidName("empty label")
        if len(label) > 63:
            raise InvalidName(f"label longer than 63 characters ({len(label)})")
        if not _LABEL.match(label):
            bad = next((c for c in label if not (c.isalnum() or c in "-_")), None)
            if bad is not None:
                raise InvalidName(f"invalid character {bad!r} in label {label!r}")
            raise InvalidName(f"label {label!r} starts or ends with a hyphen")
    return text
