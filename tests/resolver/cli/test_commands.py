"""The command line imports only the module of the verb asked for, and that module registers every verb
it is listed with."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraudwall.resolver.cli import COMMAND_MODULES, build_parser, verb_of


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_each_module_registers_exactly_the_verbs_it_is_listed_with(module):
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).add_parsers(subparsers)
    assert sorted(subparsers.choices) == sorted(COMMAND_MODULES[module])


@pytest.mark.parametrize("argv, verb", [
    (["score", "--stdin"], "score"),
    (["--config", "score.toml", "--db", "x.db", "lists"], "lists"),
    (["--config=check.toml", "check", "paypa1.com"], "check"),
    (["--version"], None),
    ([], None),
])
def test_the_verb_is_the_first_word_no_option_takes(argv, verb):
    assert verb_of(argv) == verb


def test_a_verb_no_module_has_still_gets_every_verb_in_the_error():
    assert set(COMMAND_MODULES["fraudwall.resolver.cli.lists"]) <= set(
        next(action for action in build_parser("nosuchverb")._actions
             if isinstance(action, argparse._SubParsersAction)).choices)


def test_score_does_not_import_the_other_verbs_modules():
    # What the command pays at start: the CA's cryptography and the query log's reports are not its business.
    code = ("import sys; from fraudwall.resolver.cli import main; main(['score', 'paypa1.com']); "
            "print(sorted(m for m in sys.modules if m.startswith(('cryptography', 'fraudwall.resolver.cli.', "
            "'fraudwall.resolver.observe.atrisk', 'importlib.metadata'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['fraudwall.resolver.cli.score']"


def test_version_prints_the_installed_version_and_which_scorer_runs_on_stdout():
    import fraudwall.scoring
    from fraudwall.scoring.builds import COMPILED, PURE, compiled_dir, fresh_build

    # What a process without FRAUDWALL_PURE_PYTHON finds, whatever this one was started with.
    built = fresh_build(Path(fraudwall.scoring.__file__).parent, compiled_dir("fraudwall.scoring"))[0]
    for pure, scorer in (("", COMPILED if built else PURE), ("1", PURE)):
        result = subprocess.run([sys.executable, "-m", "fraudwall.resolver.cli", "--version"], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "FRAUDWALL_PURE_PYTHON": pure})
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"fraudwall {importlib.metadata.version('fraudwall')}\nscorer: {scorer}\n"
