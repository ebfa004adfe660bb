"""The commands in README.md and deploy/README.md, run as written, so the docs cannot drift from the code.

Each fenced shell block is read line by line. `fraudwall` lines (also `.venv/bin/fraudwall` and the
deploy README's `sudo -u fraudwall /opt/fraudwall/.venv/bin/fraudwall`) run this checkout's
fraudwall against a temporary state directory and a temporary copy of the deploy config; `dig` and
`kdig` lines ask a `fraudwall serve` started as `make serve` starts it, on a free loopback port,
and must get the answer and the EDE their comment promises; `fraudwall serve` lines must parse
and build a config (their addresses are the lab's, not this machine's). Other lines (make,
systemctl, install, promtool, docker ...) are left to tests/deploy or to a real host.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.peers import Process, fraudwall_binary, free_port

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(```|~~~) ?(?:sh|shell|bash)\n(.*?)^\1", re.M | re.S)
PROMPT = "$ "
# A comment that promises an answer: `# ...: 0.0.0.0, EDE 15 "listed in demo (...)"`.
PROMISE = re.compile(r'(?P<address>\d+\.\d+\.\d+\.\d+), EDE (?P<code>\d+) "(?P<text>[^"]*?)(?: \.\.\.)?"')
SUDO = ("sudo", "-u", "fraudwall")
PRODUCTION_BINARY = "/opt/fraudwall/.venv/bin/fraudwall"
PRODUCTION_CONFIG = "/etc/fraudwall/fraudwall.toml"
PRODUCTION_STATE = "/var/lib/fraudwall"


def shell_lines(document: Path) -> list[tuple[str, str]]:
    """(command, its comment) for each line of the document's shell blocks."""
    lines = []
    for match in FENCE.finditer(document.read_text()):
        for line in match.group(2).splitlines():
            line = line.removeprefix(PROMPT).strip()
            if not line or line.startswith("#"):
                continue
            words = shlex.split(line, comments=True)
            comment = line.split(" #", 1)[1].strip() if " #" in line else ""
            lines.append((shlex.join(words), comment))
    return lines


def fraudwall_argv(command: str) -> list[str] | None:
    """The arguments after `fraudwall` when the line runs fraudwall; None otherwise."""
    words = shlex.split(command)
    if tuple(words[:3]) == SUDO:
        words = words[3:]
    if words and (words[0] in ("fraudwall", PRODUCTION_BINARY) or words[0].endswith(".venv/bin/fraudwall")):
        return words[1:]
    return None


class Runner:
    """Runs the documented lines in order, in one environment (an `export` line changes it)."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory = directory
        self.port = port
        self.env = {**os.environ, "FRAUDWALL_STATE_DIR": str(directory / ".state")}
        self.ran: list[str] = []

    def run(self, command: str, comment: str) -> subprocess.CompletedProcess | None:
        words = shlex.split(command)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            self.env[name] = value.replace("$PWD", str(self.directory))
            return None
        argv = fraudwall_argv(command)
        if argv is not None:
            return self.fraudwall(command, argv)
        if words[0] in ("dig", "kdig"):
            return self.query(command, words, comment)
        return None

    def fraudwall(self, command: str, argv: list[str]) -> subprocess.CompletedProcess | None:
        argv = [self.production(word) for word in argv]
        if argv[0] == "serve":
            self.parses(command, argv)
            return None
        done = subprocess.run([fraudwall_binary(), *argv], capture_output=True, text=True, timeout=60,
                              env=self.env, cwd=self.directory)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        self.ran.append(command)
        return done

    def production(self, word: str) -> str:
        """The deploy config's paths, in this test's directory."""
        if word == PRODUCTION_CONFIG:
            config = self.directory / "etc" / "fraudwall.toml"
            if not config.exists():
                config.parent.mkdir(parents=True)
                text = (ROOT / "deploy" / "config" / "fraudwall.toml").read_text()
                config.write_text(text.replace(PRODUCTION_STATE, str(self.directory / "var")))
            return str(config)
        return word.replace(PRODUCTION_STATE, str(self.directory / "var"))

    def parses(self, command: str, argv: list[str]) -> None:
        from fraudwall.resolver.cli import build_parser
        from fraudwall.resolver.cli.serve import with_flags
        from fraudwall.resolver.config import load

        args = build_parser().parse_args(argv)
        with_flags(load(args.config_file), args)
        self.ran.append(command)

    def query(self, command: str, words: list[str], comment: str) -> subprocess.CompletedProcess | None:
        promise = PROMISE.search(comment)
        if promise is None:
            return None   # forwarded upstream: this test has no upstream to forward to
        if shutil.which(words[0]) is None:
            pytest.skip(f"{words[0]} is not installed")
        # The documented port is make serve's; the served instance listens on a free one.
        words = [f"{self.port}" if word == "5300" else word for word in words]
        patience = {"dig": ["+time=2", "+tries=1"], "kdig": ["+timeout=2", "+retry=0"]}[words[0]]
        done = subprocess.run([*words, *patience], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert re.search(rf"\sIN\s+A\s+{re.escape(promise['address'])}\b", done.stdout), f"{command}\n{done.stdout}"
        assert f"EDE: {promise['code']}" in done.stdout and promise["text"] in done.stdout, f"{command}\n{done.stdout}"
        self.ran.append(command)
        return done


@pytest.fixture
def served(tmp_path, monkeypatch):
    """`fraudwall serve` as `make serve` runs it (the bundled config, state in .state/), on a free port."""
    port = free_port()
    monkeypatch.setenv("FRAUDWALL_STATE_DIR", str(tmp_path / ".state"))   # the Makefile's serve target
    argv = [fraudwall_binary(), "serve", "--listen", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:9",
            "--admin", ""]
    server = Process("fraudwall", argv, port, tmp_path, "icbc-tuikuan.example.com").start()
    yield port
    assert server.terminate() == 0


def test_the_readme_commands_work_as_written(tmp_path, served):
    runner = Runner(tmp_path, served)
    outputs = {}
    for command, comment in shell_lines(ROOT / "README.md"):
        done = runner.run(command, comment)
        if done is not None:
            outputs[command] = done.stdout
    assert len(runner.ran) >= 8, runner.ran
    check = next(text for command, text in outputs.items() if " check " in command)
    assert check.startswith("blocked icbc-tuikuan.example.com by list demo: ")
    ca = next(text for command, text in outputs.items() if command.endswith("ca init"))
    assert f"created {tmp_path / '.state' / 'ca' / 'ca.crt'}" in ca
    assert "no open reports" in outputs["fraudwall report mistakes"] or "no reports" in outputs["fraudwall report mistakes"]


def test_the_deploy_readme_commands_work_as_written(tmp_path):
    from fraudwall.blocklists.store import connect_catalogue

    runner = Runner(tmp_path)
    # What the unit's first start leaves: the store its config names (the feeds are fetched later).
    (tmp_path / "var").mkdir()
    connect_catalogue(tmp_path / "var" / "blocklists.db").close()
    outputs = {command: done.stdout for command, comment in shell_lines(ROOT / "deploy" / "README.md")
               if (done := runner.run(command, comment)) is not None}
    assert len(runner.ran) >= 3, runner.ran
    ca = next(text for command, text in outputs.items() if " ca init " in command)
    assert f"created {tmp_path / 'var' / 'ca' / 'ca.crt'}" in ca
    lists = next(text for command, text in outputs.items() if " lists " in command)
    assert lists.startswith(f"store {tmp_path / 'var' / 'blocklists.db'}, generation ")
