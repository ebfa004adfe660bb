"""The command line as one whole: every verb takes --config and --db before or after it, and its --help
ends with examples that are real invocations."""

import argparse
import shlex

import pytest
from fraudwall.resolver.cli import EXAMPLES, build_parser, main, verbs

PARSER = build_parser()
ALL = [path for path, _verb, _shown in verbs(PARSER)]
LEAVES = [path for path, verb, _shown in verbs(PARSER)
          if not any(isinstance(action, argparse._SubParsersAction) for action in verb._actions)]
SHOWN_LEAVES = [path for path, _verb, shown in verbs(PARSER) if shown and path in LEAVES]


def argv_of(example: str) -> list[str]:
    """An example line as the arguments after `fraudwall`: its comment and shell redirections cut off."""
    words = shlex.split(example, comments=True)
    assert words[0] == "fraudwall", example
    cut = next((index for index, word in enumerate(words) if word in ("<", ">", "|")), len(words))
    return words[1:cut]


def example_argv(path: tuple[str, ...]) -> list[str]:
    """A complete invocation of the verb at `path`: its first example, else the path alone (an old spelling)."""
    return argv_of(EXAMPLES[path][0]) if path in EXAMPLES else list(path)


def test_every_listed_verb_has_examples_and_every_example_names_a_verb():
    assert [path for path in SHOWN_LEAVES if path not in EXAMPLES] == []
    assert [path for path in EXAMPLES if path not in LEAVES] == []


@pytest.mark.parametrize("path", sorted(EXAMPLES), ids=" ".join)
def test_each_example_is_a_valid_invocation_shown_at_the_end_of_help(path, capsys):
    for example in EXAMPLES[path]:
        argv = argv_of(example)
        assert tuple(argv[:len(path)]) == path, example
        PARSER.parse_args(argv)   # exits (status 2) when the example no longer parses
    with pytest.raises(SystemExit):
        PARSER.parse_args([*path, "--help"])
    text = capsys.readouterr().out
    assert text.rstrip().endswith(EXAMPLES[path][-1])
    assert "examples:\n  fraudwall" in text


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_config_and_db_work_before_and_after_every_verb(path):
    argv = example_argv(path)
    before = PARSER.parse_known_args(["--config", "before.toml", "--db", "before.db", *argv])[0]
    assert (before.config_file, before.db) == ("before.toml", "before.db")
    after = PARSER.parse_known_args([*argv, "--config", "after.toml", "--db", "after.db"])[0]
    assert (after.config_file, after.db) == ("after.toml", "after.db")
    both = PARSER.parse_known_args(["--config", "before.toml", *argv, "--config", "after.toml"])[0]
    assert both.config_file == "after.toml"
    neither = PARSER.parse_known_args(argv)[0]
    assert (neither.config_file, neither.db) == (None, None)


@pytest.mark.parametrize("noun", [path for path in ALL if path not in LEAVES], ids=" ".join)
def test_config_and_db_work_between_a_noun_and_its_verb(noun):
    argv = example_argv(next(path for path in SHOWN_LEAVES if path[:len(noun)] == noun))
    args = PARSER.parse_known_args([*noun, "--config", "F", "--db", "D", *argv[len(noun):]])[0]
    assert (args.config_file, args.db) == ("F", "D")


def test_nested_verbs_read_the_config_named_after_them(tmp_path, capsys):
    config = tmp_path / "lab.toml"
    config.write_text(f'[blocklists]\ndb = "{tmp_path / "lab" / "blocklists.db"}"\n'
                      f'[warning]\nca_dir = "{tmp_path / "lab-ca"}"\n')
    assert main(["ca", "init", "--config", str(config)]) == 0
    assert (tmp_path / "lab-ca" / "ca.crt").exists()
    with pytest.raises(SystemExit) as exit:
        main(["report", "at-risk", "--config", str(config)])
    assert str(tmp_path / "lab" / "querylog.db") in str(exit.value)
    assert main(["report", "mistakes", "--config", str(config)]) == 0
    assert str(tmp_path / "lab" / "reports.db") in capsys.readouterr().out


def test_old_spellings_still_work_but_are_not_listed(tmp_path, capsys):
    with pytest.raises(SystemExit):
        PARSER.parse_args(["--help"])
    listing = capsys.readouterr().out
    assert "report " in listing and "\n    reports" not in listing and "\n    log " not in listing
    assert main(["reports", "--db", str(tmp_path / "blocklists.db")]) == 0
    assert "no reports" in capsys.readouterr().out
