"""The `fraudwall` command: one module per group of verbs, all in this folder (no other module imports them)."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Iterator

from fraudwall.resolver import config as config_module

# Each module has `add_parsers(subparsers)`, registering the verbs listed with it (hidden old spellings
# too), whose `run(args)` returns the exit code. Only the module of the verb asked for is imported: the
# others' imports cost every command ~80 ms (the CA's cryptography, the query log and the reports).
# tests/resolver/cli/test_commands.py checks that each module registers exactly its verbs.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "fraudwall.resolver.cli.serve": ("serve",),
    "fraudwall.resolver.cli.report": ("report", "log", "reports"),
    "fraudwall.resolver.cli.lists": ("lists", "import", "export", "quarantine"),
    "fraudwall.resolver.cli.check": ("check",),
    "fraudwall.resolver.cli.entries": ("block", "allow", "unblock"),
    "fraudwall.resolver.cli.score": ("score",),
    "fraudwall.resolver.cli.warning": ("ca",),
}

# The options every verb takes, before it or after it (`fraudwall --db F lists`, `fraudwall report at-risk
# --db F`): flag -> its add_argument keywords. A verb that declares one itself keeps its own help text.
COMMON_OPTIONS = {
    "--config": dict(metavar="FILE", dest="config_file", help="the TOML config file (default: the bundled one)"),
    "--db": dict(metavar="PATH", dest="db", help="the blocklist store (default: [blocklists] db of the config)"),
}

# What `--help` ends with: a verb's path -> two or three command lines, each one a real invocation
# (tests/resolver/cli/test_examples.py parses every one, and fails for a verb without examples).
EXAMPLES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("serve",): (
        "fraudwall serve                                        # 127.0.0.1:5300, upstreams of /etc/resolv.conf",
        "fraudwall serve --listen 127.0.0.1:5300 --upstream 192.0.2.53:53 --admin 127.0.0.1:9553",
        "fraudwall serve --config /etc/fraudwall/fraudwall.toml --warning-listen 192.0.2.10:80",
    ),
    ("report", "log"): (
        "fraudwall report log --since 30m",
        "fraudwall report log --client 192.0.2.7 --name '*.example.net'",
        "fraudwall report log --since 7d --json",
    ),
    ("report", "at-risk"): (
        "fraudwall report at-risk",
        "fraudwall report at-risk --since 7d --json",
    ),
    ("report", "mistakes"): (
        "fraudwall report mistakes                              # open reports, newest first",
        "fraudwall report mistakes --ref FW-7K2D-9XQ4           # what that page showed",
        "fraudwall report mistakes --allow 3                    # allow the name of report #3",
    ),
    ("import",): (
        "fraudwall import --list phishing phishing-domains.txt  # each name and the names below it",
        "fraudwall import --list urlhaus https://urlhaus.abuse.ch/downloads/hostfile/ --format hosts --exact",
        "fraudwall import --list openphish feed.txt --force     # accept a large change",
    ),
    ("lists",): (
        "fraudwall lists",
        "fraudwall lists remove openphish                       # the list and all its entries",
        "fraudwall lists --db /var/lib/fraudwall/blocklists.db",
    ),
    ("export",): (
        "fraudwall export --list phishing --format rpz --output phishing.rpz",
        "fraudwall export --list phishing --format hosts",
    ),
    ("quarantine",): (
        "fraudwall quarantine                                   # what imports held back",
        "fraudwall quarantine --confirm login-example.com       # enforce it after all",
    ),
    ("check",): (
        "fraudwall check paypa1.com                             # what the resolver answers, and why",
        "fraudwall check paypa1.com --client 192.0.2.7          # as that client's [[policy]] sees it",
        "fraudwall check icbc-tuikuan.example.com 192.0.2.66 --json",
    ),
    ("block",): (
        "fraudwall block paypa1-login.example.net --reason 'helpdesk ticket 42'   # and the names below it",
        "fraudwall block shop.example.net --exact               # that name only",
        "fraudwall block 192.0.2.66 198.51.100.0/24             # answers pointing there",
    ),
    ("allow",): (
        "fraudwall allow intranet.example.org --reason 'our own site'",
        "fraudwall allow login.example.com --exact",
    ),
    ("unblock",): (
        "fraudwall unblock paypa1-login.example.net",
        "fraudwall unblock intranet.example.org 192.0.2.66",
    ),
    ("score",): (
        "fraudwall score paypa1.com icbc-tuikuan.example.com",
        "fraudwall score --stdin < names.txt",
    ),
    ("ca", "init"): (
        "fraudwall ca init                                      # prints how to install ca.crt on clients",
        "fraudwall ca init --dir /var/lib/fraudwall/ca --force  # a new CA: every client installs it again",
    ),
}


class VersionAction(argparse.Action):
    """`--version`: the installed version, read only when asked (importlib.metadata takes ~17 ms to import,
    at every command's start otherwise), and which scorer runs, compiled or pure Python (`make native`)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show program's version number and exit", **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from fraudwall.resolver.version import fraudwall_version
        from fraudwall.scoring import implementation
        # To stdout, as argparse's own version action does; the version alone on the first line, for scripts.
        print(f"fraudwall {fraudwall_version()}\nscorer: {implementation()}")
        parser.exit()


class HelpFormatter(argparse.HelpFormatter):
    """A one-paragraph description is filled to the terminal; a text broken into lines (notes, examples) keeps them."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" not in text.strip():
            return super()._fill_text(text, width, indent)
        return "".join(indent + line for line in text.splitlines(keepends=True))


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: with `verb`, only that verb's module registers its verbs (a verb no module
    has, or none, gets them all, so that help and errors list every verb)."""
    parser = argparse.ArgumentParser(prog="fraudwall", description="A DNS firewall against online fraud.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action=VersionAction)
    for flag, options in COMMON_OPTIONS.items():
        parser.add_argument(flag, default=None, **options)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    modules = [name for name, names in COMMAND_MODULES.items() if verb in names] or list(COMMAND_MODULES)
    for name in modules:
        importlib.import_module(name).add_parsers(subparsers)
    for path, verb, _shown in verbs(parser):
        _take_common_options(verb)
        verb.formatter_class = HelpFormatter
        if path in EXAMPLES:
            examples = "examples:\n" + "".join(f"  {line}\n" for line in EXAMPLES[path])
            verb.epilog = f"{verb.epilog.rstrip()}\n\n{examples}" if verb.epilog else examples
    return parser


def verbs(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), shown: bool = True
          ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, bool]]:
    """Every parser below `parser`, nested ones too: (its path, it, whether `--help` lists it).

    A verb added without help= is an old spelling kept working, not listed (argparse lists only those with help).
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest for choice in action._choices_actions}
            for name, verb in action.choices.items():
                yield (*path, name), verb, shown and name in listed
                yield from verbs(verb, (*path, name), shown and name in listed)


def _take_common_options(verb: argparse.ArgumentParser) -> None:
    """Give `verb` the common options, defaulting to nothing: the value given before the verb then survives
    (a subcommand's defaults overwrite what the parent parsed), and one given after it wins."""
    for flag, options in COMMON_OPTIONS.items():
        declared = verb._option_string_actions.get(flag)
        if declared is not None:
            declared.default = argparse.SUPPRESS
        else:
            verb.add_argument(flag, default=argparse.SUPPRESS, **options)


def verb_of(argv: list[str]) -> str | None:
    """The verb `argv` asks for: its first word that is neither an option nor the value of a common one."""
    words = iter(argv)
    for word in words:
        if word in COMMON_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(verb_of(argv))
    args = parser.parse_args(argv)
    try:
        args.config = config_module.load(args.config_file)
        return args.run(args)
    except config_module.ConfigError as error:
        print(f"fraudwall: config error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, sqlite3.Error) as error:
        # The last resort: each verb says what went wrong where; what one missed is still one line.
        print(f"fraudwall: error: {_place(error, args)}", file=sys.stderr)
        return 2


def _place(error: OSError | sqlite3.Error, args: argparse.Namespace) -> str:
    """The error as one line, naming the file it concerns when it is known."""
    if isinstance(error, OSError):
        return f"{error.filename}: {error.strerror}" if error.filename else str(error)
    return f"{getattr(args, 'db', None) or 'a database'}: {error}"
