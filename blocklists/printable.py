"""Text for an operator's terminal: every character that is not printable is written as an escape.

Query names, CNAME targets, feed lines and report paths reach `fraudwall report log`, `check`, `report mistakes`
and the other commands from clients, feeds and upstream answers. A raw ESC or CR among them
could recolour or rewrite the operator's screen (a forged line just above `--allow ID`), and a
JSON string decodes back to the same bytes for whoever prints it. So every command prints
through this one rule, in text and in JSON alike:

* a backslash is written `\\\\`, so that an escape is never ambiguous;
* a character that is not printable below 256 is written `\\DDD`, its value in decimal: RFC 1035's
  presentation format, which is what `dig` shows for the octets of a name (query names are read
  as Latin-1, one character an octet);
* any other character that is not printable (a bidirectional override, say) is written `\\uXXXX`
  (`\\UXXXXXXXX` beyond the Basic Multilingual Plane).

Printable means `str.isprintable()`: letters, digits, marks, punctuation and symbols of any
script (Chinese comments stay readable) and the ASCII space.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with each non-printable character and each backslash escaped."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escaped(char) for char in text)


def printable_json(value: object) -> object:
    """`value` with every string in it (keys too, in lists and dicts at any depth) made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_json(key): printable_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_json(item) for item in value]
    return value


def _escaped(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    code = ord(char)
    if code < 256:
        return f"\\{code:03d}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
