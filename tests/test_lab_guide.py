"""docs/lab-network.md, block by block, so the lab guide cannot drift from the code and the peers.

Every fenced block of the guide has a comment above it saying how it is checked:

* `<!-- check: unbound-checkconf | dnsmasq | kea | nft | dnsdist-hosts | promtool-config | promtool-rules -->`:
  a file (its path in the fence's `title=`), checked by its own program when that is installed
  (`unbound-checkconf`, `dnsmasq --test`, `kea-dhcp4 -t`, `nft -c`, `dnsdist --check-config` on the
  deploy config with the guide's host table, `promtool check config` / `check rules`); a missing
  program skips that block's test, naming it;
* `<!-- check: fraudwall-config HOST -->`: keys set over deploy/config/fraudwall.toml, loaded by
  fraudwall's own loader, so a key that does not exist fails;
* `<!-- check: shell HOST -->`: each line run in order. `fraudwall` lines run through test_docs'
  Runner against a scratch copy of HOST's config and store; the checkers above and `cp` run with
  the guide's paths (/etc, /opt/fraudwall) mapped to a scratch root and this checkout; what only a
  lab host can do (apt-get, systemctl, dig at a lab address ...) is listed in HOST_ONLY with why;
  any other program fails the test;
* `<!-- check: none, REASON -->`: not checkable here, and why.

A block without a comment fails the test. Then: the machines of the guide agree with each other
(dnsdist's backends are the hosts' listen addresses, DHCP hands out dnsdist, fraudwall-2 follows
fraudwall-1's transfer server, Prometheus scrapes each admin listener ...); the capacity figures are
those of benchmarks/RESULTS.md; and the two fraudwall hosts run as the guide configures them, on
127.0.0.11 and 127.0.0.12, fraudwall-2 enforcing what the operator blocked on fraudwall-1.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest

from fraudwall.resolver.dns.codec import Malformed, read_query
from tests.conftest import PACKAGES, peers_required
from tests.e2e.peers import Process, answers, fraudwall_binary, free_port, wait_for
from tests.test_docs import PRODUCTION_CONFIG, PRODUCTION_STATE, Runner, fraudwall_argv

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "lab-network.md"
DEPLOY_CONFIG = ROOT / "deploy" / "config" / "fraudwall.toml"
DEPLOY_DNSDIST = ROOT / "deploy" / "dnsdist" / "dnsdist.conf"
CHECK = re.compile(r"<!-- check: (?P<check>.+?) -->")
FENCE = re.compile(r"^(?P<fence>```|~~~)(?P<info>.*)$")
HOSTS_TABLE = re.compile(r"^local fraudwall_hosts = \{\n.*?^\}\n", re.M | re.S)

# The program that checks each kind of file block, and the Debian package it comes in.
CHECKERS = {
    "unbound-checkconf": ("unbound-checkconf", "unbound"),
    "dnsmasq": ("dnsmasq", "dnsmasq-base"),
    "kea": ("kea-dhcp4", "kea-dhcp4-server"),
    "nft": ("nft", "nftables"),
    "dnsdist-hosts": ("dnsdist", "dnsdist"),
    "promtool-config": ("promtool", "prometheus"),
    "promtool-rules": ("promtool", "prometheus"),
}
# Peers the Makefile installs for the tests: missing, they fail under FRAUDWALL_REQUIRE_PEERS=1.
TEST_PEERS = {"unbound-checkconf", "dnsmasq", "dnsdist", "promtool", "kdig", "dig"}
# Shell lines that only a lab machine can run, and why they are not run here.
HOST_ONLY = {
    "apt-get": "installs packages from the Debian mirrors",
    "systemctl": "starts the lab host's services (no systemd here)",
    "install": "creates the lab host's directories with the fraudwall user's ownership",
    "chown": "needs the fraudwall user of a lab host",
    "scp": "copies between lab hosts",
    "dig": "asks a lab address (a fraudwall host's: run against the hosts on loopback below)",
    "kdig": "asks a lab address (a fraudwall host's: run against the hosts on loopback below)",
}
# How each checker is run on a file; the guide's shell line must say the same.
CHECK_ARGS = {
    "unbound-checkconf": [],
    "dnsmasq": ["--test", "-C"],
    "kea-dhcp4": ["-t"],
    "nft": ["-c", "-f"],
    "dnsdist": ["--check-config", "-C"],
}


@dataclass(frozen=True)
class Block:
    check: str
    info: str
    body: str
    line: int

    @property
    def kind(self) -> str:
        return re.split(r"[ ,]", self.check, maxsplit=1)[0]

    @property
    def host(self) -> str:
        return self.check.split()[1] if len(self.check.split()) > 1 else ""

    @property
    def title(self) -> str:
        match = re.search(r"title=(\S+)", self.info)
        return match.group(1) if match else ""


def blocks(text: str) -> list[Block]:
    """Every fenced block of the guide, with the check comment above it ('' when there is none)."""
    found = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index].rstrip("\n"))
        if opening is None:
            index += 1
            continue
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        tag = CHECK.fullmatch(before.strip())
        end = next(number for number in range(index + 1, len(lines))
                   if lines[number].rstrip("\n") == opening["fence"])
        found.append(Block(tag["check"] if tag else "", opening["info"], "".join(lines[index + 1:end]), index + 1))
        index = end + 1
    return found


GUIDE_BLOCKS = blocks(GUIDE.read_text())


def file_blocks(kind: str) -> list[Block]:
    return [block for block in GUIDE_BLOCKS if block.kind == kind]


def checker(kind_or_program: str) -> str:
    """The checking program's path; a skip naming it and its package when it is not installed here."""
    program, package = CHECKERS.get(kind_or_program, (kind_or_program, PACKAGES.get(kind_or_program, "")))
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is not None and program == "nft" and not nft_works(path):
        pytest.skip("nft -c cannot check a ruleset here (it needs CAP_NET_ADMIN): the firewall block is not checked")
    if path is None:
        message = f"{program} is not installed (Debian package {package}): its blocks of the guide are not checked"
        if peers_required() and program in TEST_PEERS:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def nft_works(nft: str) -> bool:
    """Whether `nft -c` checks a ruleset here: it asks the kernel, which needs CAP_NET_ADMIN."""
    done = subprocess.run([nft, "-c", "-f", "-"], input="table inet fraudwall_probe {}\n", capture_output=True,
                          text=True, timeout=30)
    return done.returncode == 0


def merged_config(block: Block) -> dict:
    """deploy/config/fraudwall.toml with the guide's keys set over it, section by section (an array
    of tables, [[lists]], as the guide writes it)."""
    document = tomllib.loads(DEPLOY_CONFIG.read_text())
    for section, table in tomllib.loads(block.body).items():
        document[section] = table if isinstance(table, list) else {**document.get(section, {}), **table}
    return document


def follows_of(document: dict) -> tuple:
    """The lists a host's config follows, as fraudwall reads them: `[[lists]]` tables with a
    `primary` or `[blocklists] follow` strings, either spelling."""
    from fraudwall.resolver.config import load

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fraudwall.toml"
        path.write_text(toml_text(document))
        return load(path).blocklists.follow


def toml_text(document: dict) -> str:
    """TOML for a config document: its sections, and arrays of tables ([[policy]]) as such."""
    out = []
    for section, tables in document.items():
        for table in tables if isinstance(tables, list) else [tables]:
            out.append(f"[[{section}]]" if isinstance(tables, list) else f"[{section}]")
            out.extend(f"{key} = {toml_value(value)}" for key, value in table.items())
            out.append("")
    return "\n".join(out)


def toml_value(value: object) -> str:
    """A value of a fraudwall config in TOML: JSON's strings, numbers, booleans and arrays are TOML's."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return json.dumps(value)


def host_configs() -> dict[str, dict]:
    return {block.host: merged_config(block) for block in file_blocks("fraudwall-config")}


# ---------------------------------------------------------------- every block says how it is checked

def test_every_block_says_how_it_is_checked():
    known = {*CHECKERS, "fraudwall-config", "shell", "none"}
    for block in GUIDE_BLOCKS:
        assert block.check, f"docs/lab-network.md:{block.line}: a block without <!-- check: ... --> above it"
        assert block.kind in known, f"docs/lab-network.md:{block.line}: unknown check {block.check!r}"
        if block.kind == "none":
            assert len(block.check) > len("none, ") + 10, f"docs/lab-network.md:{block.line}: say why not"
        if block.kind in CHECKERS or block.kind == "fraudwall-config":
            assert block.title.startswith("/"), f"docs/lab-network.md:{block.line}: title=PATH names the file"
        if block.kind in ("shell", "fraudwall-config"):
            assert block.host, f"docs/lab-network.md:{block.line}: which machine?"
    assert {block.host for block in file_blocks("fraudwall-config")} == {"fraudwall-1", "fraudwall-2"}


# ---------------------------------------------------------------- each file by its own checker

@pytest.mark.parametrize("block", file_blocks("fraudwall-config"), ids=lambda block: block.host)
def test_fraudwall_configs_load(block, tmp_path):
    from fraudwall.resolver.config import load

    path = tmp_path / "fraudwall.toml"
    path.write_text(toml_text(merged_config(block)))
    loaded = load(path)
    assert loaded.server.identity == block.host


@pytest.mark.parametrize("block", [block for block in GUIDE_BLOCKS if block.kind in CHECKERS],
                         ids=lambda block: f"{block.kind}:{block.title}")
def test_the_peers_accept_the_files(block, tmp_path):
    program = checker(block.kind)
    root = tmp_path / "root"
    path = write_file_block(block, root)
    check_file(program, block.kind, path)


def test_fraudwall_2s_unbound_is_fraudwall_1s_with_the_addresses_swapped(tmp_path):
    program = checker("unbound-checkconf")
    upstream = next(block for block in file_blocks("unbound-checkconf") if "access-control" in block.body)
    swapped = upstream.body.replace("10.20.0.11", "@A@").replace("10.20.0.12", "10.20.0.11").replace("@A@", "10.20.0.12")
    path = tmp_path / "unbound.conf"
    path.write_text(swapped)
    check_file(program, "unbound-checkconf", path)


def write_file_block(block: Block, root: Path) -> Path:
    """The block at its title's path under root; dnsdist's is the deploy config with the guide's host table."""
    path = root / block.title.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if block.kind == "dnsdist-hosts":
        conf_d = path.parent / "conf.d"
        conf_d.mkdir(exist_ok=True)
        text = DEPLOY_DNSDIST.read_text()
        assert HOSTS_TABLE.search(text), "deploy/dnsdist/dnsdist.conf has no fraudwall_hosts table"
        text = HOSTS_TABLE.sub(lambda _: block.body, text)
        path.write_text(text.replace('includeDirectory("/etc/dnsdist/conf.d")', f'includeDirectory("{conf_d}")'))
    elif block.kind == "kea":
        # kea-dhcp4 -t opens the interfaces it is to serve: the lab's lab0 is loopback here.
        path.write_text(block.body.replace('"lab0"', '"lo"'))
    else:
        path.write_text(block.body)
    if block.kind == "promtool-config":
        # The rule files it names: the deploy rules (the guide copies them) and the guide's own.
        shutil.copy(ROOT / "deploy" / "prometheus" / "alerts.yml", path.parent / "alerts.yml")
        for rules in file_blocks("promtool-rules"):
            write_file_block(rules, root)
    return path


def check_file(program: str, kind: str, path: Path) -> None:
    if kind.startswith("promtool"):
        argv = [program, "check", "config" if kind == "promtool-config" else "rules", str(path)]
    else:
        argv = [program, *CHECK_ARGS[Path(program).name], str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}{done.stderr}"


# ---------------------------------------------------------------- the shell lines, in order

class Lab:
    """The guide's machines: a scratch root for their files, a Runner per fraudwall host."""

    def __init__(self, directory: Path) -> None:
        self.root = directory / "root"
        self.runners: dict[str, Runner] = {}
        self.checked: list[str] = []
        self.named: set[str] = set()   # the files the guide's shell lines check
        self.not_here: list[str] = []
        self.outputs: dict[tuple[str, str], str] = {}
        for block in GUIDE_BLOCKS:
            if block.kind in CHECKERS:
                write_file_block(block, self.root)
        for host, document in host_configs().items():
            home = directory / host
            config = home / "etc" / "fraudwall.toml"
            config.parent.mkdir(parents=True)
            config.write_text(toml_text(document).replace(PRODUCTION_STATE, str(home / "var")))
            (home / "var").mkdir()
            self.runners[host] = Runner(home)

    def first_start(self, host: str) -> None:
        """What the unit's first start leaves on the host: the store its config names and the query log."""
        from fraudwall.blocklists.store import connect_catalogue
        from fraudwall.resolver.observe.querylog import QueryLog

        state = self.runners[host].directory / "var"
        connect_catalogue(state / "blocklists.db").close()
        QueryLog(state / "querylog.db").connection.close()

    def transferred(self, host: str, command: str) -> None:
        """What a refresh of a followed list leaves in the follow folder: the primary's zone, which
        is what `fraudwall export --format rpz` writes on the primary (one renderer for both)."""
        follow_dir = self.runners[host].directory / "var" / "follow"
        follow_dir.mkdir(exist_ok=True)
        for follow in follows_of(host_configs()[host]):
            primary = next(name for name, config in host_configs().items()
                           if config.get("xfr", {}).get("listen") == follow.primary)
            self.runners[primary].run(f"fraudwall export --list {follow.zone.split('.')[0]} --format rpz "
                                      f"--output {follow_dir / follow.name}.zone --config {PRODUCTION_CONFIG}", "")

    def path(self, word: str) -> str:
        if word.startswith("/opt/fraudwall/"):
            return str(ROOT / word.removeprefix("/opt/fraudwall/"))
        if word.startswith("/etc/"):
            return str(self.root / word.lstrip("/"))
        return word

    def run(self, host: str, command: str, comment: str) -> None:
        words = shlex.split(command)
        if fraudwall_argv(command) is not None:
            assert host in self.runners, f"{command}: a fraudwall line on {host}, which runs no fraudwall"
            if "follow/" in command:
                self.transferred(host, command)
            done = self.runners[host].run(command, comment)
            if done is not None:
                self.outputs[host, command] = done.stdout
            return
        program = words[0]
        if program in HOST_ONLY:
            if words[:2] == ["systemctl", "enable"] and words[-1] == "fraudwall":
                self.first_start(host)
            self.not_here.append(command)
            return
        if program == "cp":
            subprocess.run(["cp", *map(self.path, words[1:])], check=True, timeout=30)
            return
        kind = {"unbound-checkconf": "unbound-checkconf", "dnsmasq": "dnsmasq", "kea-dhcp4": "kea",
                "nft": "nft", "dnsdist": "dnsdist-hosts", "promtool": "promtool-config"}.get(program)
        assert kind is not None, f"{command}: neither run by this test nor in HOST_ONLY"
        self.named.add(words[-1])
        path = self.path(words[-1])
        assert Path(path).is_file(), f"{command}: {words[-1]} is not a file the guide writes"
        if program == "nft" and "-c" not in words:
            return   # applying the ruleset: the line before checks the same file with -c
        if program == "promtool":
            kind = {"config": "promtool-config", "rules": "promtool-rules"}[words[2]]
        else:
            assert words[1:-1] == CHECK_ARGS[program], f"{command}: check with {CHECK_ARGS[program]}"
        located = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
        if located is None or (program == "nft" and not nft_works(located)):
            self.not_here.append(command)   # its block's own test skips, naming the program
            return
        check_file(located, kind, Path(path))
        self.checked.append(command)


def shell_commands(block: Block) -> list[tuple[str, str]]:
    commands = []
    for line in block.body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        comment = line.split(" #", 1)[1].strip() if " #" in line else ""
        commands.append((shlex.join(shlex.split(line, comments=True)), comment))
    return commands


def test_the_shell_lines_run_as_written(tmp_path):
    lab = Lab(tmp_path)
    for block in file_blocks("shell"):
        for command, comment in shell_commands(block):
            lab.run(block.host, command, comment)
    ran = [command for runner in lab.runners.values() for command in runner.ran]
    assert len(ran) >= 9, ran
    # every file of the guide is checked by a line of it, so the reader checks it too
    assert lab.named == {block.title for block in GUIDE_BLOCKS if block.kind in CHECKERS}
    # What the runs left: fraudwall-1's CA and the operator's entries there; fraudwall-2 following them.
    one = lab.runners["fraudwall-1"].directory
    assert (one / "var" / "ca" / "ca.crt").is_file()
    outputs = {host: "".join(text for (on, _), text in lab.outputs.items() if on == host) for host in lab.runners}
    assert "blocked www.paypa1-login.example.net by list manual: " in outputs["fraudwall-1"]
    assert "allowed: intranet-login.example.org" in outputs["fraudwall-1"]
    assert "lab-manual follows manual.rpz.fraudwall. at 10.20.0.11:5354: no transfer yet" in outputs["fraudwall-2"]
    assert "list lab-manual (created): 2 names" in outputs["fraudwall-2"]   # the held zone, accepted
    # the client's CA line (not run here) installs the file under the name `ca init` gave it
    client = next(block for block in GUIDE_BLOCKS if block.kind == "none" and "update-ca-certificates" in block.body)
    target = re.search(r"^cp ca\.crt (\S+)$", client.body, re.M)[1]
    assert f"cp ca.crt {target} " in outputs["fraudwall-1"], "the guide's client line differs from what ca init says"


# ---------------------------------------------------------------- the machines agree

def lab_address(listen: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    host = listen.rsplit(":", 1)[0].strip("[]")
    return ipaddress.ip_address(host)


def inside(address: str, networks: list[str]) -> bool:
    return any(ipaddress.ip_address(address) in ipaddress.ip_network(network) for network in networks)


def test_the_machines_of_the_guide_agree_with_each_other():
    configs = host_configs()
    dnsdist = file_blocks("dnsdist-hosts")[0].body
    backends = dict(re.findall(r'name = "([^"]+)", address = "([^"]+)"', dnsdist))
    assert set(backends) == set(configs)
    deploy = DEPLOY_DNSDIST.read_text()
    dnsdist_addresses = [local.rsplit(":", 1)[0].strip("[]")
                         for local in re.findall(r'(?:setLocal|addLocal)\("([^"]+)"\)', deploy)]
    unbound = file_blocks("unbound-checkconf")[0].body
    for host, config in configs.items():
        assert backends[host] in config["server"]["listen"], f"dnsdist sends {host}'s queries elsewhere"
        for address in dnsdist_addresses:
            assert inside(address, config["server"]["proxy_from"]), f"{host} does not read {address}'s PROXY header"
            assert inside(address, config["access"]["allow"]), f"{host} refuses dnsdist at {address}"
        assert config["upstream"]["servers"][0] == "127.0.0.1:5335" and "interface: 127.0.0.1@5335" in unbound
        other = next(other for other in configs if other != host)
        other_address = str(lab_address(configs[other]["server"]["listen"][0]))
        assert f"{other_address}:5335" in config["upstream"]["servers"], f"{host}'s second upstream"
        assert config["sinkhole"]["ipv4"] == str(lab_address(config["server"]["listen"][0]))
    one, two = configs["fraudwall-1"], configs["fraudwall-2"]
    # fraudwall-1's Unbound (the file as written) lets fraudwall-2 in
    assert f"access-control: {lab_address(two['server']['listen'][0])}/32 allow" in unbound
    # fraudwall-2 follows fraudwall-1's manual zone: at its transfer server, which allows it and notifies
    # it on its DNS port; fraudwall-2 publishes nothing
    follows = follows_of(two)
    assert [(follow.zone, follow.primary) for follow in follows] == [("manual.rpz.fraudwall", one["xfr"]["listen"])]
    address_two = str(lab_address(two["server"]["listen"][0]))
    assert inside(address_two, one["xfr"]["allow"])
    assert one["xfr"]["notify"] == [f"{address_two}:53"] and f"{address_two}:53" in two["server"]["listen"]
    assert "xfr" not in two and not follows_of(one)
    assert two["blocklists"]["feeds"] == one["blocklists"]["feeds"], "each host imports the same feeds"
    # DHCP hands out dnsdist, and only dnsdist
    dnsmasq = file_blocks("dnsmasq")[0].body
    assert re.findall(r"^dhcp-option=option:dns-server,(.*)$", dnsmasq, re.M) == [dnsdist_addresses[0]]
    assert re.findall(r"^dhcp-option=option6:dns-server,\[(.*)\]$", dnsmasq, re.M) == [dnsdist_addresses[1]]
    assert re.search(r"^port=0$", dnsmasq, re.M), "the DHCP server must not answer DNS itself"
    kea = json.loads(file_blocks("kea")[0].body)
    options = {option["name"]: option["data"] for subnet in kea["Dhcp4"]["subnet4"] for option in subnet["option-data"]}
    assert options["domain-name-servers"] == dnsdist_addresses[0]
    # the router lets exactly the recursive resolvers (the Unbounds on the fraudwall hosts) out on 53 and 853
    nft = file_blocks("nft")[0].body
    sets = {family: set(re.findall(r"[0-9a-f.:]+", elements))
            for family, elements in re.findall(r"set resolvers_(v4|v6) \{.*?elements = \{([^}]*)\}", nft, re.S)}
    listens = [lab_address(listen) for config in configs.values() for listen in config["server"]["listen"]
               if not lab_address(listen).is_loopback]
    assert sets["v4"] == {str(address) for address in listens if address.version == 4}
    assert sets["v6"] == {str(address) for address in listens if address.version == 6}
    assert "{ 53, 853 }" in nft
    # Prometheus scrapes each host's admin listener, and each host lets the monitor in
    scrape = yaml_load(file_blocks("promtool-config")[0].body)
    targets = {target for job in scrape["scrape_configs"] if job["job_name"] == "fraudwall"
               for group in job["static_configs"] for target in group["targets"]}
    assert targets == {config["admin"]["listen"] for config in configs.values()}
    monitor = {frozenset(config["admin"]["allow"]) for config in configs.values()}
    assert len(monitor) == 1 and any(not ipaddress.ip_network(n).is_loopback for n in next(iter(monitor)))


def yaml_load(text: str) -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)


def test_the_capacity_rule_uses_recorded_rules_of_the_deploy_config():
    rules = yaml_load(file_blocks("promtool-rules")[0].body)
    recorded = (ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
    for group in rules["groups"]:
        for rule in group["rules"]:
            for name in re.findall(r"fraudwall[a-z_:0-9]*", rule["expr"]):
                assert f"record: {name}" in recorded, f"{name}: not a recording rule of deploy/prometheus/alerts.yml"


def test_the_capacity_figures_are_those_of_the_benchmarks():
    text = GUIDE.read_text()
    section = text[text.index("## 10. Capacity"):]
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    table = "".join(line for line in section.splitlines(keepends=True) if line.startswith("|"))
    figures = re.findall(r"\b\d{1,3}(?:,\d{3})+\b", table)
    assert len(figures) >= 6, figures
    for figure in figures:
        assert figure in results, f"{figure}: not in benchmarks/RESULTS.md"
    for date in set(re.findall(r"\b20\d\d-\d\d-\d\d\b", section)):
        assert f"Measured {date}" in results, f"{date}: no benchmark of benchmarks/RESULTS.md was measured then"


# ---------------------------------------------------------------- the two hosts, running, on loopback

LAB_ADDRESS = re.compile(r"\b10\.20\.0\.(\d+):(\d+)\b")


def on_loopback(document: dict, host: str, ports: dict, home: Path) -> str:
    """A host's config as the guide sets it, run on this machine: each lab address 10.20.0.N on
    127.0.0.N and each of its ports on a free one, the IPv6 listeners left out, no feeds (no
    internet here), a dead upstream (the names asked are blocked ones), one worker, the state in `home`."""
    document = {section: dict(table) if isinstance(table, dict) else [dict(item) for item in table]
                for section, table in document.items()}
    document["blocklists"]["feeds"] = []
    document["upstream"]["servers"] = ["127.0.0.1:9"]
    document["server"]["workers"] = 1      # two cores here, shared by both hosts and the tests
    text = toml_text(document).replace(PRODUCTION_STATE, str(home))
    text = re.sub(r'"\[fd00:20::[0-9a-f]*\]:\d+",? ?', "", text)
    # its loopback listener too, the one the start-up probe asks
    text = text.replace('"127.0.0.1:53"', f'"127.0.0.1:{port_for(ports, (host, "lo"))}"')
    text = LAB_ADDRESS.sub(lambda m: f"127.0.0.{m[1]}:{port_for(ports, (m[1], m[2]))}", text)
    return text.replace("10.20.0.", "127.0.0.")


def port_for(ports: dict, key: tuple[str, str]) -> int:
    """The free port standing for a lab port, one that no other lab port was given."""
    while key not in ports:
        port = free_port()
        if port not in ports.values():
            ports[key] = port
    return ports[key]


def rcode_of(address: str, port: int, name: str) -> int | None:
    try:
        return dns.query.udp(dns.message.make_query(name, "A"), address, port=port, timeout=1.0).rcode()
    except (OSError, dns.exception.DNSException):
        return None



@pytest.fixture(scope="module")
def loopback_lab(tmp_path_factory):
    """fraudwall-1 and fraudwall-2 serving with the guide's configs on 127.0.0.11 and 127.0.0.12;
    the operator's block made on fraudwall-1 before either starts."""
    directory = tmp_path_factory.mktemp("lab")
    ports: dict = {}
    configs = {}
    for host, document in host_configs().items():
        (directory / host).mkdir()
        configs[host] = directory / host / "fraudwall.toml"
        configs[host].write_text(on_loopback(document, host, ports, directory / host))
    binary = fraudwall_binary()
    one = configs["fraudwall-1"]
    subprocess.run([binary, "ca", "init", "--config", one], check=True, capture_output=True, timeout=60)
    shutil.copytree(directory / "fraudwall-1" / "ca", directory / "fraudwall-2" / "ca")   # the guide's scp
    subprocess.run([binary, "block", "paypa1-login.example.net", "--reason", "helpdesk ticket 42", "--config", one],
                   check=True, capture_output=True, timeout=60)
    started = []
    try:
        for host in ("fraudwall-1", "fraudwall-2"):
            started.append(Process(host, [binary, "serve", "--config", str(configs[host])], ports[host, "lo"],
                                   directory / host, "example.org").start())
            if host == "fraudwall-1":
                xfr = ports["11", "5354"]
                wait_for("fraudwall-1's transfer server answers",
                         lambda: answers("127.0.0.11", xfr, "manual.rpz.fraudwall."), 10)
        yield {"configs": configs, "port": {"fraudwall-2": ports["12", "53"]}, "binary": binary, "ports": ports}
    finally:
        for process in reversed(started):
            try:
                assert process.terminate() == 0, process.log()
            finally:
                process.stop()


@pytest.mark.e2e
def test_fraudwall_2_enforces_fraudwall_1s_block_from_its_first_transfer(loopback_lab):
    port = loopback_lab["port"]["fraudwall-2"]
    wait_for("fraudwall-2 answers NXDOMAIN for the name blocked on fraudwall-1",
             lambda: rcode_of("127.0.0.12", port, "www.paypa1-login.example.net") == dns.rcode.NXDOMAIN, 15)
    listed = subprocess.run([loopback_lab["binary"], "lists", "--config", loopback_lab["configs"]["fraudwall-2"]],
                            capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"^lab-manual follows manual\.rpz\.fraudwall\. at 127\.0\.0\.11:\d+: serial \d+", listed, re.M), listed


def notify_is_read() -> bool:
    message = dns.message.make_query("manual.rpz.fraudwall.", "SOA")
    message.set_opcode(dns.opcode.NOTIFY)
    message.flags |= dns.flags.AA
    return not isinstance(read_query(message.to_wire()), Malformed)


@pytest.mark.skipif(not notify_is_read(), reason="resolver/dns/codec.py answers NOTIFY with NOTIMP: "
                                                 "fraudwall-2 follows at the SOA refresh (300 s) only")
@pytest.mark.e2e
def test_a_later_block_on_fraudwall_1_reaches_fraudwall_2_by_notify(loopback_lab):
    port = loopback_lab["port"]["fraudwall-2"]
    wait_for("fraudwall-2's first transfer",
             lambda: rcode_of("127.0.0.12", port, "www.paypa1-login.example.net") == dns.rcode.NXDOMAIN, 15)
    subprocess.run([loopback_lab["binary"], "block", "paypa1-verify.example.net", "--config",
                    loopback_lab["configs"]["fraudwall-1"]], check=True, capture_output=True, timeout=60)
    wait_for("fraudwall-2 blocks the new name (NOTIFY, then a transfer)",
             lambda: rcode_of("127.0.0.12", port, "paypa1-verify.example.net") == dns.rcode.NXDOMAIN, 10)


@pytest.mark.e2e
def test_the_guides_queries_to_the_fraudwall_hosts_get_what_their_comments_say(loopback_lab):
    """Each dig/kdig line of the guide that asks a fraudwall host (10.20.0.11, 10.20.0.12), asked of
    the hosts on loopback: the status and EDE its comment names. Lines asking dnsdist or Unbound
    need those (and the internet) and stay with the lab."""
    ports = loopback_lab["ports"]
    asked = []
    for block in file_blocks("shell"):
        for command, comment in shell_commands(block):
            words = shlex.split(command)
            server = next((word[1:] for word in words if word.startswith("@")), "")
            if words[0] not in ("dig", "kdig") or not re.fullmatch(r"10\.20\.0\.1[12]", server):
                continue
            program = checker(words[0])
            last = server.rsplit(".", 1)[1]
            lab_port = words[words.index("-p") + 1] if "-p" in words else "53"
            argv = [word for index, word in enumerate(words)
                    if word != "-p" and not (index and words[index - 1] == "-p") and not word.startswith("@")]
            argv = [program, *argv[1:], f"@127.0.0.{last}", "-p", str(ports[last, lab_port]), "+timeout=2", "+retry=0"]
            wait_for(f"{command}: {comment}", lambda: says(subprocess.run(argv, capture_output=True, text=True,
                                                                         timeout=30).stdout, comment), 15)
            asked.append(command)
    assert len(asked) >= 2, asked


def says(output: str, comment: str) -> bool:
    """The output shows what the comment promises: a status (NXDOMAIN ...), an EDE code, an SOA."""
    for status in re.findall(r"\b(NOERROR|NXDOMAIN|SERVFAIL|REFUSED)\b", comment):
        if f"status: {status}" not in output:
            return False
    for code in re.findall(r"\bEDE (\d+)", comment):
        if f"EDE: {code}" not in output:
            return False
    if "zone" in comment and not re.search(r"\sSOA\s", output):
        return False
    listed = re.search(r"listed in (\S+)", comment)
    return listed is None or listed[0] in output
