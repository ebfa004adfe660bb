"""Compiles the query path's modules with mypyc, outside the source tree: `make native` runs it.

    .venv/bin/python deploy/native.py [--required[=build]]

It removes the old builds, stages a copy of the sources laid out as the fraudwall package (fraudwall/scoring,
fraudwall/resolver, fraudwall/blocklists), and compiles each package's MODULES there with mypyc, a package
at a time (one shared library for the package's group, `native__mypyc`, and a small one per module): a
package's build calls the others' modules as Python, so it holds while its own sources stay the same,
whatever became of the others'. It installs each next to a stamp of its package's sources in
`builds.compiled_dir(package)` (.venv/fraudwall-native/fraudwall/scoring, .../resolver/dns, ...); each package
loads its build while that stamp matches its sources (fraudwall.scoring.builds). The fresh builds must
import and give CHECK's output (scores of CHECK_NAMES, reads and replies of queries, filter positions)
exactly as pure Python does, or they are removed.

It prints one line: what runs now, or why fraudwall runs as pure Python (no C compiler, no Python.h, mypy
did not install, the compiler failed, a build answered differently); the compiler's output is in
.venv/fraudwall-native/build.log. The exit status is 1 for any failure with --required (`make native`), for
a failed build with --required=build (`make test`: a compiler it could not install, not being root, is left
to the tests, as a missing peer is), else 0 (`make serve`, which goes on in pure Python).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib import metadata
from pathlib import Path
from types import ModuleType

# The compiler the outputs were checked byte for byte with; another mypy may compile differently.
MYPY = "mypy==2.4.1"
DEBIAN_PACKAGES = "gcc python3-dev"   # what gives a C compiler and Python.h on Debian 12
# Names that go through every signal: a homoglyph, an IDN, a platform customer, a provider's edge host,
# a mail record, a machine-made host under a ranked TLD, and names that are allowed.
CHECK_NAMES = ("paypa1.com", "example.net", "e1234.a.akamaiedge.net", "xn--80ak6aa92e.com",
               "paypal-login.github.io", "www.apple.com.edgekey.net", "selector1._domainkey.paypa1.com",
               "s7a1b2c3d4e5.abcxyz-pay.top", "ban.kcomm.com", "192.0.2.189.example.net", "amaz0n8.com")

# Run in the staging directory, so mypy sees the packages as fraudwall.* (MYPYPATH is that directory):
# the group's name, then its sources.
SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="fraudwall-native", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify(["--explicit-package-bases", "--namespace-packages", "--ignore-missing-imports",
                            "--follow-imports=silent", *sys.argv[2:]], opt_level="3", group_name=sys.argv[1]))
"""
# Run twice, compiled and with FRAUDWALL_PURE_PYTHON=1: how each module given runs, then each name's Score,
# each query's read and reply, each reply's scan, and the filter's positions of each name.
CHECK = r"""
import struct, sys
from fraudwall.scoring.builds import implementation
from fraudwall.scoring.scorer import Scorer
from fraudwall.resolver.dns.codec import Query, make_opt, make_reply, read_query, render, scan_reply
from fraudwall.blocklists.bloom import NameFilter
modules, names = sys.argv[1].split(","), sys.argv[2:]
print("|".join(implementation(module) for module in modules))
scorer = Scorer()
for name in names:
    print(repr(scorer.score(name)))
for name in names:
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0\0\1\0\1"
    for flags, edns in ((0x0100, make_opt(False)), (0x0110, make_opt(True)), (0x0100, b""), (0x8100, b"")):
        query = read_query(struct.pack("!6H", 4660, flags, 1, 0, 0, 1 if edns else 0) + question + edns, "192.0.2.1")
        print(repr(query))
        if isinstance(query, Query):
            reply = make_reply(query, 3, authority=(b"\0" + struct.pack("!HHIH", 6, 1, 300, 22) + bytes(22),))
            print(render(query, reply).hex(), repr(scan_reply(reply)))
name_filter = NameFilter.empty(1000, 0.001)
name_filter.add_many(names[::2])
print(*(name in name_filter for name in names), *(name_filter.positions(name) for name in names))
"""


class BuildError(Exception):
    """Why fraudwall runs as pure Python: the rest of the one line the build prints."""


class MissingTools(BuildError):
    """The machine lacks what compiling needs (no build was tried)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/native.py", description="Compile the query path with mypyc.")
    parser.add_argument("--required", nargs="?", const="always", choices=("always", "build"),
                        help="exit 1 when the query path cannot be compiled (=build: when a build was tried and failed)")
    args = parser.parse_args(argv)
    builds = pure_python_builds()
    root = builds.compiled_dir("fraudwall").parent
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = root / "build.log"
    started = time.monotonic()
    try:
        build(builds, log)
        check(builds)
    except BuildError as error:
        shutil.rmtree(root / "fraudwall", ignore_errors=True)   # the log stays
        print(f"fraudwall runs as pure Python: {error}", file=sys.stderr)
        fails = args.required == "always" or (args.required == "build" and not isinstance(error, MissingTools))
        return 1 if fails else 0
    counts = ", ".join(f"{package} {len(modules)}" for package, modules in builds.PACKAGES.items())
    print(f"fraudwall runs {builds.COMPILED}: modules of {counts} in {root}, "
          f"built in {time.monotonic() - started:.0f} s")
    return 0


def pure_python_builds() -> ModuleType:
    """fraudwall.scoring.builds, with every package as Python: this process only copies and checks, so it
    must not load the builds it replaces (nor say that they are stale). The environment is passed on to the
    compiler and the checks."""
    os.environ["FRAUDWALL_PURE_PYTHON"] = "1"
    import fraudwall.scoring.builds
    return fraudwall.scoring.builds


def build(builds: ModuleType, log: Path) -> None:
    """Compile each package's MODULES into its `compiled_dir`, with the stamp of its sources."""
    missing = missing_tools()
    if missing:
        raise MissingTools(f"{missing}; apt-get install {DEBIAN_PACKAGES}, then make native")
    print(f"compiling the query path with mypyc (about 80 s on 2 cores; log in {log})", flush=True)
    with log.open("w") as output:
        install_mypy(output, log)
        with tempfile.TemporaryDirectory(prefix="fraudwall-native-") as stage:
            tops = {package.split(".")[1] for package in builds.PACKAGES}   # scoring, resolver, blocklists
            for top in sorted(tops):   # all of each: the compiled modules are type-checked against the rest
                shutil.copytree(sources_of(f"fraudwall.{top}"), Path(stage, "fraudwall", top),
                                ignore=shutil.ignore_patterns("__pycache__"))
            stamps = {}
            for package, modules in builds.PACKAGES.items():
                staged = Path(stage, *package.split("."))
                stamps[package] = builds.sources_stamp(staged)   # of the copies: exactly what is compiled
                sources = [str(Path(*package.split("."), f"{module}.py")) for module in modules]
                done = subprocess.run([sys.executable, "-c", SETUP, f"{package}.native", *sources], cwd=stage,
                                      env={**os.environ, "MYPYPATH": stage}, stdout=output, stderr=subprocess.STDOUT)
                if done.returncode != 0:
                    raise BuildError(f"mypyc or the C compiler failed on {package} (exit status "
                                     f"{done.returncode}), see {log}")
            for package, stamp in stamps.items():
                compiled = builds.compiled_dir(package)
                compiled.mkdir(parents=True)
                for library in Path(stage, *package.split(".")).glob("*.so"):
                    shutil.copyfile(library, compiled / library.name)
                (compiled / builds.STAMP).write_text(stamp, encoding="ascii")


def sources_of(package: str) -> Path:
    """The folder of `package`'s sources (this process runs them as Python)."""
    return Path(importlib.import_module(package).__file__).parent


def missing_tools() -> str:
    """What the compiler step needs and this machine lacks, in words; empty when nothing is missing."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    if shutil.which(shlex.split(compiler)[0]) is None:
        return "no C compiler"
    header = Path(sysconfig.get_paths()["include"], "Python.h")
    if not header.is_file():
        return f"no {header}"
    return ""


def install_mypy(output, log: Path) -> None:
    """mypy (which carries mypyc) into this venv: a build-time need only, so not a dependency of fraudwall."""
    try:
        if f"mypy=={metadata.version('mypy')}" == MYPY:
            return
    except metadata.PackageNotFoundError:
        pass
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", MYPY], stdout=output,
                          stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise BuildError(f"pip could not install {MYPY}, see {log}; then make native")


def check(builds: ModuleType) -> None:
    """The installed builds import, are the ones that run, and give CHECK's output as pure Python does."""
    modules = ",".join(builds.compiled_modules())
    runs = {}
    for pure in ("", "1"):
        done = subprocess.run([sys.executable, "-c", CHECK, modules, *CHECK_NAMES], capture_output=True, text=True,
                              env={**os.environ, "FRAUDWALL_PURE_PYTHON": pure}, timeout=300)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BuildError(f"{'pure Python' if pure else 'the build'} did not run the check: {last}")
        runs[pure] = done.stdout.splitlines()
    (which, *lines), (pure_which, *pure_lines) = runs[""], runs["1"]
    count = len(modules.split(","))
    if which.split("|") != [builds.COMPILED] * count or pure_which.split("|") != [builds.PURE] * count:
        raise BuildError(f"the builds in {builds.compiled_dir('fraudwall').parent} were not loaded ({which})")
    for line, pure_line in zip(lines, pure_lines, strict=True):
        if line != pure_line:
            raise BuildError(f"the build gave {line[:200]}, pure Python {pure_line[:200]}")


if __name__ == "__main__":
    sys.exit(main())
