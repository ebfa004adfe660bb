"""The `[blocklists]` section of the config file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BlocklistSettings:
    # The SQLite store. Empty: serve the plain domain lists in `files` from memory.
    db: str = ""
    # Plain domain lists loaded into memory when no store is set; "demo" is the bundled list.
    files: tuple[str, ...] = ("demo",)
