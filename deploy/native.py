"""Compiles the scorer's modules with mypyc, outside the source tree: `make native` runs it.

    .venv/bin/python deploy/native.py [--required[=build]]

It removes the old build, stages a copy of the package's sources laid out as fraudwall/scoring, compiles
MODULES there with mypyc (one shared library for the group, `native__mypyc`, and a small one per module),
and installs those next to a stamp of the sources in `fraudwall.scoring.compiled_dir()`
(.venv/fraudwall-native/fraudwall/scoring); fraudwall.scoring loads them while the stamp matches its
sources. The fresh build must import and score CHECK_NAMES exactly as pure Python does, or it is removed.

It prints one line: what runs now, or why the scorer runs as pure Python (no C compiler, no Python.h, mypy
did not install, the compiler failed, the build scored differently); the compiler's output is in
.venv/fraudwall-native/build.log. The exit status is 1 for any failure with --required (`make native`), for
a failed build with --required=build (`make test`: a compiler it could not install, not being root, is left
to the tests, as a missing peer is), else 0 (`make serve`, which goes on in pure Python).
"""

from __future__ import annotations

import argparse
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

# The modules of the query-time path, compiled as one group so that they call each other directly.
# brands.py (read once at start) and settings.py (the config's types) stay Python.
MODULES = ("combo", "homoglyph", "index", "infrastructure", "names", "score", "scorer", "signals", "tld",
           "traits", "typo")
# The compiler the scores were checked byte for byte with; another mypy may compile differently.
MYPY = "mypy==2.4.1"
DEBIAN_PACKAGES = "gcc python3-dev"   # what gives a C compiler and Python.h on Debian 12
# Names that go through every signal: a homoglyph, an IDN, a platform customer, a provider's edge host,
# a mail record, a machine-made host under a ranked TLD, and names that are allowed.
CHECK_NAMES = ("paypa1.com", "example.net", "e1234.a.akamaiedge.net", "xn--80ak6aa92e.com",
               "paypal-login.github.io", "www.apple.com.edgekey.net", "selector1._domainkey.paypa1.com",
               "s7a1b2c3d4e5.abcxyz-pay.top", "ban.kcomm.com", "192.0.2.189.example.net", "amaz0n8.com")

# Run in the staging directory, so mypy sees the package as fraudwall.scoring (MYPYPATH is that directory).
SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="fraudwall-native", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify(["--explicit-package-bases", "--namespace-packages", "--ignore-missing-imports",
                            *(f"fraudwall/scoring/{module}.py" for module in sys.argv[1:])],
                           opt_level="3", group_name="fraudwall.scoring.native"))
"""
# Run twice, compiled and with FRAUDWALL_PURE_PYTHON=1: which scorer runs, then each name's Score.
CHECK = """
import sys
import fraudwall.scoring
from fraudwall.scoring.scorer import Scorer
scorer = Scorer()
print(fraudwall.scoring.implementation())
for name in sys.argv[1:]:
    print(repr(scorer.score(name)))
"""


class BuildError(Exception):
    """Why the scorer runs as pure Python: the rest of the one line the build prints."""


class MissingTools(BuildError):
    """The machine lacks what compiling needs (no build was tried)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/native.py", description="Compile the scorer with mypyc.")
    parser.add_argument("--required", nargs="?", const="always", choices=("always", "build"),
                        help="exit 1 when the scorer cannot be compiled (=build: when a build was tried and failed)")
    args = parser.parse_args(argv)
    scoring = pure_python_scoring()
    compiled = scoring.compiled_dir()
    root = compiled.parents[1]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = root / "build.log"
    started = time.monotonic()
    try:
        build(scoring, compiled, log)
        check(compiled, scoring.COMPILED, scoring.PURE)
    except BuildError as error:
        shutil.rmtree(root / "fraudwall", ignore_errors=True)   # the log stays
        print(f"the scorer runs as pure Python: {error}", file=sys.stderr)
        fails = args.required == "always" or (args.required == "build" and not isinstance(error, MissingTools))
        return 1 if fails else 0
    print(f"the scorer runs {scoring.COMPILED}: {len(MODULES)} modules in {compiled}, "
          f"built in {time.monotonic() - started:.0f} s")
    return 0


def pure_python_scoring() -> ModuleType:
    """fraudwall.scoring as Python: this process only copies and checks, so it must not load the build it
    replaces (nor say that it is stale). The environment is passed on to the compiler and the checks."""
    os.environ["FRAUDWALL_PURE_PYTHON"] = "1"
    import fraudwall.scoring
    return fraudwall.scoring


def build(scoring: ModuleType, compiled: Path, log: Path) -> None:
    """Compile the sources of `scoring` into `compiled`, with the stamp of what was compiled."""
    missing = missing_tools()
    if missing:
        raise MissingTools(f"{missing}; apt-get install {DEBIAN_PACKAGES}, then make native")
    print(f"compiling the scorer with mypyc (about 40 s on 2 cores; log in {log})", flush=True)
    with log.open("w") as output:
        install_mypy(output, log)
        with tempfile.TemporaryDirectory(prefix="fraudwall-native-") as stage:
            package = Path(stage, "fraudwall", "scoring")
            package.mkdir(parents=True)
            for source in Path(scoring.__file__).parent.glob("*.py"):
                shutil.copyfile(source, package / source.name)
            stamp = scoring.sources_stamp(package)   # of the copies: exactly what is compiled
            done = subprocess.run([sys.executable, "-c", SETUP, *MODULES], cwd=stage,
                                  env={**os.environ, "MYPYPATH": stage}, stdout=output, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                raise BuildError(f"mypyc or the C compiler failed (exit status {done.returncode}), see {log}")
            compiled.mkdir(parents=True)
            for library in package.glob("*.so"):
                shutil.copyfile(library, compiled / library.name)
    (compiled / scoring.STAMP).write_text(stamp, encoding="ascii")


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


def check(compiled: Path, compiled_name: str, pure_name: str) -> None:
    """The installed build imports, is the one that runs, and scores CHECK_NAMES as pure Python does."""
    runs = {}
    for pure in ("", "1"):
        done = subprocess.run([sys.executable, "-c", CHECK, *CHECK_NAMES], capture_output=True, text=True,
                              env={**os.environ, "FRAUDWALL_PURE_PYTHON": pure}, timeout=300)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BuildError(f"{'pure Python' if pure else 'the build'} did not score: {last}")
        runs[pure] = done.stdout.splitlines()
    (which, *scores), (pure_which, *pure_scores) = runs[""], runs["1"]
    if (which, pure_which) != (compiled_name, pure_name):
        raise BuildError(f"the build in {compiled} was not loaded ({which})")
    for name, score, pure_score in zip(CHECK_NAMES, scores, pure_scores, strict=True):
        if score != pure_score:
            raise BuildError(f"the build scored {name} {score}, pure Python {pure_score}")


if __name__ == "__main__":
    sys.exit(main())
