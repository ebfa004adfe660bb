"""The mypyc builds of fraudwall's packages: where each lies, what it was made from, whether it is loaded.

`make native` (deploy/native.py) compiles some modules of a few packages (the scorer, the DNS wire codec,
the Bloom filter) outside the source tree, under the venv: one folder per package (`compiled_dir`),
with a stamp of the sources it was made from. Each such package ends its __init__ with `use_build`, which
puts its build first in the package's `__path__` only while that stamp matches the package's own sources.
An edited source, another Python, or FRAUDWALL_PURE_PYTHON=1 runs the same modules from the source tree
as Python: a test run on edited sources never meets compiled code made from older ones.

This module is Python in every case (deploy/native.py compiles none of it): it decides what is loaded.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The modules of the query-time path that `make native` compiles, by package, each package as one group so
# that its modules call each other directly. What stays Python: the scorer's brands.py (read once at start)
# and settings.py (the config's types); the rest of the DNS core (the stages are coroutines, answer.py and
# codes.py are types and enums); the blocklists' lookup (slower compiled: resolver/README.md), import and
# store code. The resolver's own figures, pure and compiled: resolver/README.md, "Compiled or pure Python".
PACKAGES = {
    "fraudwall.scoring": ("combo", "homoglyph", "index", "infrastructure", "names", "score", "scorer", "signals",
                          "tld", "traits", "typo"),
    "fraudwall.resolver.dns": ("codec", "replay"),
    "fraudwall.blocklists": ("bloom",),
}
STAMP = "sources.stamp"   # in a compiled_dir(): sources_stamp() of the sources the build was made from
COMPILED = "compiled (mypyc)"
PURE = "pure Python"
PURE_PYTHON = "FRAUDWALL_PURE_PYTHON"   # "1": every package runs as Python, whatever is built


def compiled_dir(package: str) -> Path:
    """Where deploy/native.py puts the compiled modules of `package` (fraudwall.resolver.dns): under the
    running Python's prefix (the venv's), laid out as the package."""
    return Path(sys.prefix, "fraudwall-native", *package.split("."))


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
    return False, (f"fraudwall: the compiled modules in {compiled} were built from other sources or for another "
                   f"Python: they run as pure Python until `make native` rebuilds them")


def implementation(module: str) -> str:
    """How `module` runs in this process, "compiled (mypyc)" or "pure Python": where it was (or would be)
    loaded from."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    return COMPILED if origin is not None and origin.endswith(tuple(EXTENSION_SUFFIXES)) else PURE


def compiled_modules() -> list[str]:
    """The full names of the modules in PACKAGES."""
    return [f"{package}.{module}" for package, modules in PACKAGES.items() for module in modules]


def summary() -> str:
    """How the modules `make native` compiles run in this process, in one phrase for a benchmark's table:
    all compiled, all pure Python, or which are compiled."""
    modules = compiled_modules()
    compiled = [module for module in modules if implementation(module) == COMPILED]
    if len(compiled) == len(modules):
        return f"{COMPILED}: the scorer, the DNS codec and replay memo, the Bloom filter"
    return PURE if not compiled else f"{COMPILED} in part: {', '.join(compiled)}; the rest {PURE}"


def use_build(package: str, path: list[str]) -> None:
    """From `package`'s __init__ (its __name__ and __path__): put a fresh build first in `path`, or say
    once why a stale one is not used."""
    if os.environ.get(PURE_PYTHON) == "1":
        return
    compiled = compiled_dir(package)
    fresh, notice = fresh_build(Path(path[0]), compiled)   # its one folder, the sources
    if fresh:
        path.insert(0, str(compiled))
    elif notice:
        print(notice, file=sys.stderr)
