"""fraudwall.scoring: the look-alike scorer, and `names`, the one module for domain names.

Its modules run compiled by mypyc when `make native` (deploy/native.py) has built them from these very
sources for this Python: the build lies outside the source tree, under the venv (`compiled_dir()`), with a
stamp of what it was built from, and goes first in this package's `__path__` only while that stamp
matches. An edited source, another Python, or FRAUDWALL_PURE_PYTHON=1 runs the same modules from here as
Python: a test run on edited sources never meets compiled code made from older ones.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

STAMP = "sources.stamp"   # in compiled_dir(): sources_stamp() of the sources the build was made from
COMPILED = "compiled (mypyc)"
PURE = "pure Python"


def compiled_dir() -> Path:
    """Where deploy/native.py puts the compiled modules: under the running Python's prefix (the venv's)."""
    return Path(sys.prefix, "fraudwall-native", "fraudwall", "scoring")


def sources_stamp(sources: Path) -> str:
    """What a build must have been made from to be used: the contents of the package's .py files (the
    compiled modules and the Python ones they were type-checked against) and this Python's ABI, which
    names the extension files it loads (a build for 3.11 is not found by 3.12)."""
    import hashlib   # loads OpenSSL, ~5 ms: only when there is a build to compare

    digest = hashlib.sha256()
    for path in sorted(sources.glob("*.py")):
        digest.update(b"%s\0%d\0" % (path.name.encode(), path.stat().st_size))
        digest.update(path.read_bytes())
    return f"{digest.hexdigest()} {EXTENSION_SUFFIXES[0]}\n"


def fresh_build(sources: Path, compiled: Path) -> tuple[bool, str]:
    """Whether the build in `compiled` was made from `sources`, and the one line to say when it was not
    (empty when there is no build at all: pure Python is then no surprise)."""
    if not compiled.is_dir():
        return False, ""
    try:
        stamp = (compiled / STAMP).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        stamp = ""
    if stamp == sources_stamp(sources):
        return True, ""
    return False, (f"fraudwall: the compiled scorer in {compiled} was built from other sources or for another "
                   f"Python: the scorer runs as pure Python until `make native` rebuilds it")


def implementation() -> str:
    """Which scorer runs in this process, "compiled (mypyc)" or "pure Python": where its module was (or
    would be) loaded from."""
    spec = importlib.util.find_spec(f"{__name__}.scorer")
    origin = spec.origin if spec is not None else None
    return COMPILED if origin is not None and origin.endswith(tuple(EXTENSION_SUFFIXES)) else PURE


def _choose() -> None:
    """Put a fresh build first in `__path__`, or say once why a stale one is not used."""
    if os.environ.get("FRAUDWALL_PURE_PYTHON") == "1":
        return
    compiled = compiled_dir()
    fresh, notice = fresh_build(Path(__file__).parent, compiled)
    if fresh:
        __path__.insert(0, str(compiled))
    elif notice:
        print(notice, file=sys.stderr)


_choose()
