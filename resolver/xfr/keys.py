"""TSIG keys as BIND writes them, read from a file only its owner may read.

The file holds `key` statements in the shape `tsig-keygen` prints (and BIND's named.conf and
NSD's `tsig-keygen`-made includes use), one or more:

    key "transfer-key" {
        algorithm hmac-sha256;
        secret "base64...";
    };

Comments (`#`, `//`, `/* */`) may stand between them; nothing else is read. A file that its group
or anyone else may read is refused, as sshd refuses a private key and BIND warns: one line
naming it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from pathlib import Path

from fraudwall.resolver.xfr.tsig import ALGORITHMS, Key

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*|#[^\n]*", re.S)
_KEY = re.compile(r'\s*key\s+"?([A-Za-z0-9._-]+)"?\s*\{\s*algorithm\s+"?([A-Za-z0-9-]+)"?\s*;'
                  r'\s*secret\s+"([A-Za-z0-9+/=\s]+)"\s*;\s*\}\s*;')
_KEY_REFERENCE = re.compile(r"^(\S+)(?:\s+key\s+(\S+))?$")


class KeyFileError(ValueError):
    """What is wrong with a key file, as one line naming it."""


def parse(text: str, where: str = "keys") -> dict[str, Key]:
    """The keys in `text` by name (lowercase, no trailing dot); KeyFileError names what is wrong."""
    text = _COMMENT.sub(lambda comment: "\n" * comment.group(0).count("\n"), text)   # lines keep their numbers
    keys: dict[str, Key] = {}
    position = 0
    while text[position:].strip():
        match = _KEY.match(text, position)
        if match is None:
            rest = text[position:]
            line = text.count("\n", 0, position + len(rest) - len(rest.lstrip())) + 1
            raise KeyFileError(f"{where}: line {line}: not a key statement "
                               '(key "NAME" { algorithm hmac-sha256; secret "BASE64"; };)')
        name, algorithm, secret = match.group(1).lower().rstrip("."), match.group(2).lower(), match.group(3)
        if algorithm not in ALGORITHMS:
            raise KeyFileError(f"{where}: key {name}: algorithm {algorithm} is not one of {', '.join(ALGORITHMS)}")
        try:
            raw = base64.b64decode("".join(secret.split()), validate=True)
        except binascii.Error:
            raise KeyFileError(f"{where}: key {name}: the secret is not base64") from None
        if not raw:
            raise KeyFileError(f"{where}: key {name}: the secret is empty")
        if name in keys:
            raise KeyFileError(f"{where}: key {name} is written twice")
        keys[name] = Key(name, algorithm, raw)
        position = match.end()
    return keys


def load(path: str | Path) -> dict[str, Key]:
    """The keys of the file at `path`; KeyFileError when it cannot be read, is readable by its group
    or by others, or holds anything else than key statements."""
    try:
        with open(path, encoding="utf-8") as stream:
            mode = os.fstat(stream.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(f"{path}: the TSIG keys are readable by others (mode {stat.S_IMODE(mode):04o}): "
                                   f"chmod 600 {path}")
            text = stream.read()
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the TSIG keys: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a text file") from None
    return parse(text, str(path))


def with_key(text: str) -> tuple[str, str]:
    """"ADDR[:PORT] key NAME" (BIND's `also-notify { ADDR key NAME; }`) as (ADDR[:PORT], NAME);
    the key is "" when none is named. ValueError for anything else."""
    match = _KEY_REFERENCE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not ADDR[:PORT] [key NAME]")
    return match.group(1), (match.group(2) or "").lower().rstrip(".")
