"""An in-memory blocklist: plain domain lists held in a dict, for the demo and small setups.

Every entry covers its name and all names below it (subtree match), as in Pi-hole's
wildcard lists and Unbound's `local-zone: ... always_nxdomain`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from fraudwall.blocklists.verdict import Action, Match
from fraudwall.scoring.names import InvalidName, normalise_name, parents


def demo_list_path() -> Path:
    return Path(str(resources.files("fraudwall.blocklists").joinpath("data/demo-blocklist.txt")))


class MemoryBlocklist:
    """Subtree entries in a dict keyed by name; a lookup walks the query's parents."""

    def __init__(self, entries: Iterable[Match] = ()) -> None:
        self._entries: dict[str, Match] = {}
        for entry in entries:
            self._entries.setdefault(entry.name, entry)

    @classmethod
    def from_files(cls, paths: Iterable[str]) -> MemoryBlocklist:
        entries: list[Match] = []
        for path in paths:
            file = demo_list_path() if path == "demo" else Path(path)
            entries.extend(_read_domain_list(file, "demo" if path == "demo" else file.stem))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def match_name(self, name: str, lists: frozenset[str] | None = None) -> Match | None:
        entries = self._entries
        for candidate in parents(name):
            match = entries.get(candidate)
            if match is not None and (lists is None or match.list in lists):
                return match
        return None

    def match_address(self, address: str, lists: frozenset[str] | None = None) -> Match | None:
        return None

    def holds_nothing_at(self, name: str) -> bool:
        return name not in self._entries

    def refresh(self) -> bool:
        """Nothing to pick up: the in-memory lists change only at start."""
        return False

    def close(self) -> None:
        """Nothing to release."""


def _read_domain_list(path: Path, list_name: str) -> list[Match]:
    try:
        added = os.stat(path).st_mtime
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise ValueError(f"{path}: cannot read blocklist: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text: {error.reason}") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("!"):
            continue
        try:
            name = normalise_name(text.removeprefix("*."))
        except InvalidName as error:
            raise ValueError(f"{path}:{number}: not a domain name: {text!r} ({error})") from None
        if "." not in name:
            raise ValueError(f"{path}:{number}: not a domain name: {text!r} (one label)")
        entries.append(Match(name, Action.BLOCK, list_name, text, f"{path.name}:{number}", added))
    return entries


