"""Benign names from no ranking and no feed: the domains Debian's package index names.

Every binary package in the index says where its upstream lives (`Homepage:`) and who
keeps it (`Maintainer:`, `Uploaders:`, `Original-Maintainer:`, mail addresses). Those
hosts and mail domains were written by people for people, across every country and
TLD; none of them is in the scorer's development set, and none was looked at while the
scorer's rules were made before 2026-12-03 (scoring/README.md, Validation). They are not
popular names: they show how often the scorer warns on honest names it was not tuned on.

The index is the machine's own (/var/lib/apt/lists, after `apt-get update`), so
nothing is shipped; where it is missing, `hosts` returns nothing and the caller says so.
"""

from __future__ import annotations

import gzip
import lzma
import re
import subprocess
from pathlib import Path

LISTS = Path("/var/lib/apt/lists")
_FIELDS = ("Homepage:", "Maintainer:", "Uploaders:", "Original-Maintainer:")
_HOST = re.compile(r"https?://([A-Za-z0-9.-]+)|@([A-Za-z0-9.-]+)")


def _index_text(path: Path) -> str:
    if path.suffix == ".lz4":
        # Python has no lz4 in its standard library; apt's own lists come compressed so
        # wherever lz4 is installed (it is on Debian's base system).
        return subprocess.run(["lz4cat", str(path)], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    if path.suffix == ".xz":
        return lzma.decompress(path.read_bytes()).decode("utf-8", "replace")
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    return path.read_text("utf-8", "replace")


def hosts(lists: Path = LISTS) -> list[str]:
    """The hosts of the upstream homepages and the maintainers' mail domains, lower case, sorted."""
    found: set[str] = set()
    for path in sorted(lists.glob("*_Packages*")):
        try:
            text = _index_text(path)
        except (OSError, subprocess.CalledProcessError, lzma.LZMAError, EOFError):
            continue
        for line in text.splitlines():
            if line.startswith(_FIELDS):
                for web, mail in _HOST.findall(line):
                    host = (web or mail).lower().strip(".")
                    if "." in host and not host.replace(".", "").isdigit():
                        found.add(host)
    return sorted(found)
