"""The compiled query path (`make native`, deploy/native.py: the scorer, the DNS codec and replay memo, the
blocklists' Bloom filter) and its pure-Python fallback: the modules `make test` runs are the compiled
ones, both score every name alike and read and write every message byte for byte alike, the fallback
passes the same tests, and a build made from other sources is never loaded. The real build is only read:
the stale and no-compiler cases run on copies, in a Python whose prefix is a temporary directory."""

from __future__ import annotations

import importlib
import os
import random
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import fraudwall.scoring as scoring
from fraudwall.scoring import builds, implementation
from fraudwall.scoring.builds import COMPILED, PURE, fresh_build, sources_stamp
from fraudwall.scoring.names import InvalidName
from fraudwall.scoring.scorer import Scorer
from tests.conftest import peers_required

ROOT = Path(__file__).resolve().parents[2]
SOURCES = Path(scoring.__file__).parent
BUILD_SCRIPT = ROOT / "deploy" / "native.py"
PACKAGES = builds.PACKAGES
MODULES = PACKAGES["fraudwall.scoring"]
# The development set, where benchmarks/scorer_eval.py reads it: beside the checkout, not in it (a clone
# without it compares the generated names only).
DEV_SET = ROOT.parent / "shared" / "data" / "scorer-dev"
# Scores the names given on stdin, one a line, printing a repr a line, as the test's own process does.
SCORE_LINES = r"""
import sys
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.names import InvalidName
scorer = Scorer()
for name in sys.stdin.read().split("\n"):
    try:
        print(repr(scorer.score(name)))
    except InvalidName as error:
        print("invalid:", error)
"""


def compiled_dir() -> Path:
    """Where the scorer's build lies."""
    return builds.compiled_dir("fraudwall.scoring")

# Reads and answers a corpus of queries and thousands of mutations of them (tests/resolver/mutations.py),
# scans the replies and mutations of them, and asks a Bloom filter, printing a line for each result: the
# same script compiled and as Python must print the same lines. The first line says how the modules ran.
WIRE_LINES = r"""
import random
from fraudwall.blocklists.bloom import NameFilter
from fraudwall.resolver.dns.codec import (Query, for_client, make_record, make_reply, make_upstream_query,
                                          read_query, render, scan_reply, strip_opt)
from fraudwall.resolver.dns.codes import EDECode, QType
from fraudwall.scoring.builds import implementation
from tests.resolver.mutations import mutate, query_corpus, random_mutation
print(implementation("fraudwall.resolver.dns.codec"), implementation("fraudwall.blocklists.bloom"), sep="|")
rng = random.Random(14)
corpus = [index.to_bytes(2, "big") + wire[2:] for index, wire in   # dnspython's IDs are random
          enumerate(query_corpus(("www.example.org", "xn--fiqs8s.example.org", "Login.Example.COM", "a.b.example.net")))]
known = {}
for wire in [*corpus, *(mutate(rng.choice(corpus), *random_mutation(rng)) for _ in range(3000))]:
    query = read_query(wire, "192.0.2.1", known=known)
    print(repr(query))
    if not isinstance(query, Query):
        continue
    answers = (make_record(QType.CNAME, 0x80000000 | 60, b"\x03www\xc0\x0c"),
               *(make_record(QType.A, 300 + n, bytes((192, 0, 2, n))) for n in range(rng.randrange(60))),
               make_record(QType.AAAA, 30, bytes(16)))
    soa = make_record(QType.SOA, 600, bytes(20) + (300).to_bytes(4, "big"))
    reply = render(query, make_reply(query, rng.choice((0, 3)), answers, (soa,)))
    print(reply.hex(), render(query, make_reply(query, 0), (EDECode.BLOCKED, "listed by example")).hex())
    print(make_upstream_query(query, 7).hex())
    for upstream in (reply, mutate(reply, *random_mutation(rng))):
        scan = scan_reply(upstream)
        print(repr(scan))
        if scan is not None:
            stripped = strip_opt(upstream, scan)
            print(stripped and for_client(stripped, query).hex())
names = [f"{rng.getrandbits(40):x}.example.{tld}" for tld in ("org", "net", "com") for _ in range(300)]
name_filter = NameFilter.empty(1000, 0.001)
name_filter.add_many(names[::3])
print([name in name_filter for name in names], [name_filter.positions(name) for name in names[:50]])
"""


def require_compiled() -> None:
    """Skip (fail under FRAUDWALL_REQUIRE_PEERS=1, as CI runs `make test`) unless the compiled scorer runs."""
    if os.environ.get("FRAUDWALL_PURE_PYTHON") == "1":
        pytest.skip("FRAUDWALL_PURE_PYTHON=1 runs the scorer as pure Python")
    if implementation() == COMPILED:
        return
    notice = fresh_build(SOURCES, compiled_dir())[1]
    message = notice or f"no compiled scorer in {compiled_dir()}: `make native` builds it (gcc and python3-dev)"
    if peers_required():
        pytest.fail(f"{message}; FRAUDWALL_REQUIRE_PEERS=1 makes a missing build a failure", pytrace=False)
    pytest.skip(message)


def varied_names(seed: int = 14) -> list[str]:
    """About 5,000 names, and a tenth of the development set where it is: score_stdin.py's mix (look-alikes
    of every kind, phishing-style names, brands' own hosts, benign words), infrastructure hosts, random
    labels in front of those, and some invalid names."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import infrastructure_names
        import scorer_eval
        import score_stdin
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rng = random.Random(seed)
    names = [row[0] for path in sorted(DEV_SET.glob("*.txt")) for row in scorer_eval.rows(path)[::10]]
    names += score_stdin.generate(3000, seed)
    names += [name for name, _ in infrastructure_names.generate(500, seed)]
    fronts = ("www", "login", "m", "api-eu", "s7a1b2c3d4", "x" * 30, "192-0-2-1", "secure-update", "a.b.c", "_dmarc")
    names += [f"{rng.choice(fronts)}{rng.randrange(1000)}.{rng.choice(names)}" for _ in range(1000)]
    names += ["-bad-.example.com", "a..b.com", "x" * 64 + ".com", "192.0.2.1", "exa mple.com", "", "faß.de"]
    return names


def scored(names: list[str]) -> list[str]:
    """What a fresh Scorer in this process says of each name, as SCORE_LINES prints it."""
    scorer = Scorer()
    lines = []
    for name in names:
        try:
            lines.append(repr(scorer.score(name)))
        except InvalidName as error:
            lines.append(f"invalid: {error}")
    return lines


@pytest.mark.parametrize("package", PACKAGES)
def test_make_test_runs_the_compiled_modules(package):
    require_compiled()
    for module in PACKAGES[package]:
        # mypyc gives a module that another of the group imports a __file__ (and origin) of its own making,
        # below the build's folder: what counts is that it is an extension there, not a source.
        origin = importlib.import_module(f"{package}.{module}").__spec__.origin
        assert origin.startswith(f"{builds.compiled_dir(package)}/"), module
        assert origin.endswith(EXTENSION_SUFFIXES[0]), module


def test_compiled_and_pure_python_score_every_name_alike():
    require_compiled()
    names = varied_names()
    pure = subprocess.run([sys.executable, "-c", SCORE_LINES], input="\n".join(names), capture_output=True,
                          text=True, timeout=120, env={**os.environ, "FRAUDWALL_PURE_PYTHON": "1"})
    assert pure.returncode == 0, pure.stderr
    compiled = scored(names)
    assert len(names) > 4500 and sum(line.startswith("invalid") for line in compiled) >= 4
    assert sum("verdict=<Verdict.BLOCK" in line for line in compiled) > 500
    differ = [(name, one, other) for name, one, other in zip(names, compiled, pure.stdout.splitlines(), strict=True)
              if one != other]
    assert differ == []


def test_compiled_and_pure_python_read_and_write_every_message_alike():
    require_compiled()
    runs = {}
    for pure in ("", "1"):
        done = subprocess.run([sys.executable, "-c", WIRE_LINES], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "FRAUDWALL_PURE_PYTHON": pure})
        assert done.returncode == 0, done.stderr
        runs[pure] = done.stdout.splitlines()
    (which, *compiled), (pure_which, *pure) = runs[""], runs["1"]
    assert (which, pure_which) == (f"{COMPILED}|{COMPILED}", f"{PURE}|{PURE}")
    assert sum(line.startswith("Query(") for line in compiled) > 1000
    assert sum(line.startswith("Malformed(") for line in compiled) > 500
    assert sum(line.startswith("Scan(") for line in compiled) > 1000
    assert sum(line == "None" for line in compiled) > 100   # mutated replies that cannot be read
    differ = [(one, other) for one, other in zip(compiled, pure, strict=True) if one != other]
    assert differ == []


def test_the_pure_python_fallback_passes_the_codec_replay_and_filter_tests():
    require_compiled()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "tests/resolver/dns/test_codec.py", "tests/resolver/dns/test_codec_properties.py",
                           "tests/resolver/dns/test_replay.py", "tests/resolver/dns/test_sibling_replay.py",
                           "tests/blocklists/test_bloom.py", "tests/blocklists/test_lookup.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FRAUDWALL_PURE_PYTHON": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]

def test_the_pure_python_fallback_passes_the_scorers_tests():
    require_compiled()   # without a build, this very run is the pure-Python one
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/scoring", "-q", "-x", "-p", "no:cacheprovider",
                           f"--ignore={Path(__file__).relative_to(ROOT)}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FRAUDWALL_PURE_PYTHON": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the package's sources (tmp/src/fraudwall/scoring) and a prefix (tmp/prefix) holding a build
    stamped as made from them: the real build's libraries when there is one, else the stamp alone."""
    source = tmp_path / "src" / "fraudwall" / "scoring"
    shutil.copytree(SOURCES, source, ignore=shutil.ignore_patterns("__pycache__"))
    prefix = tmp_path / "prefix"
    build = prefix / compiled_dir().relative_to(sys.prefix)
    build.mkdir(parents=True)
    if fresh_build(SOURCES, compiled_dir())[0]:
        for library in compiled_dir().glob("*.so"):
            shutil.copyfile(library, build / library.name)
    (build / builds.STAMP).write_text(sources_stamp(source), encoding="ascii")
    return source, prefix


def load(source: Path, prefix: Path, pure: str = "") -> subprocess.CompletedProcess:
    """Import the copy in a Python whose prefix is `prefix` (where fraudwall.scoring looks for the build):
    prints which scorer runs and a score."""
    code = (f"import sys; sys.prefix = {str(prefix)!r}; import fraudwall.scoring as s; "
            f"assert s.__file__.startswith({str(source)!r}), s.__file__; print(s.implementation()); "
            f"from fraudwall.scoring.scorer import Scorer; print(Scorer().score('paypa1.com').value)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(source.parents[1]), "FRAUDWALL_PURE_PYTHON": pure})


def test_a_build_of_other_sources_is_not_loaded_and_says_so_once(copies):
    source, prefix = copies
    fresh = load(source, prefix)
    assert fresh.returncode == 0 and fresh.stderr == "", fresh.stderr
    has_libraries = any((prefix / compiled_dir().relative_to(sys.prefix)).glob("*.so"))
    assert fresh.stdout == f"{COMPILED if has_libraries else PURE}\n0.91\n"

    with (source / "typo.py").open("a") as edited:
        edited.write("# an edit since the build\n")
    stale = load(source, prefix)
    assert stale.returncode == 0 and stale.stdout == f"{PURE}\n0.91\n", stale.stderr
    assert len(stale.stderr.splitlines()) == 1
    assert "were built from other sources" in stale.stderr and "make native" in stale.stderr


def test_pure_python_when_asked_even_with_a_fresh_build(copies):
    source, prefix = copies
    forced = load(source, prefix, pure="1")
    assert forced.returncode == 0 and forced.stderr == "" and forced.stdout == f"{PURE}\n0.91\n", forced.stderr


def test_a_build_for_another_python_is_stale(copies):
    source, prefix = copies
    build = prefix / compiled_dir().relative_to(sys.prefix)
    assert fresh_build(source, build) == (True, "")
    digest = sources_stamp(source).split()[0]
    (build / builds.STAMP).write_text(f"{digest} .cpython-39-x86_64-linux-gnu.so\n", encoding="ascii")
    fresh, notice = fresh_build(source, build)
    assert not fresh and "for another Python" in notice
    assert fresh_build(source, prefix / "nothing-built") == (False, "")


@pytest.mark.parametrize("required, status", [("", 0), ("--required=build", 0), ("--required", 1)])
def test_without_a_compiler_the_build_says_what_to_install_in_one_line(tmp_path, required, status):
    # In a Python whose prefix is a temporary directory: the script clears the build of sys.prefix first.
    code = (f"import runpy, sys; sys.prefix = {str(tmp_path)!r}; sys.argv = ['native.py', *{required.split()!r}]; "
            f"runpy.run_path({str(BUILD_SCRIPT)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CC": str(tmp_path / "no-such-cc")})
    assert done.returncode == status, done.stderr
    assert done.stderr == ("fraudwall runs as pure Python: no C compiler; apt-get install gcc python3-dev, "
                           "then make native\n")
    assert not (tmp_path / "fraudwall-native" / "fraudwall").exists()
