"""benchmarks/RESULTS.md: one marked section a benchmark, each rewritten by its own script only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, title: str, text: str, path: Path = RESULTS) -> None:
    """Replace the section between `<!-- NAME:begin -->` and `<!-- NAME:end -->` (re-read now, written
    atomically, so that benchmarks finishing one after the other never lose each other's tables)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n## {title}\n\n{text}{end}"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if begin in current and end in current:
        updated = current[:current.index(begin)] + section + current[current.index(end) + len(end):]
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".RESULTS.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(updated)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
