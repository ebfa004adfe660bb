"""The example config, the systemd unit, compose and dnsdist: loaded or checked by the real tools."""

from __future__ import annotations

import configparser
import ipaddress
import re
import subprocess

import pytest

from fraudwall.resolver import config
from fraudwall.resolver.config import parse_hostport
from tests.deploy.conftest import DEPLOY, need, need_yaml

EXAMPLE = DEPLOY / "config" / "fraudwall.toml"
UNIT = DEPLOY / "systemd" / "fraudwall.service"
DNSDIST = DEPLOY / "dnsdist" / "dnsdist.conf"


# ---------------------------------------------------------------- the example config

def test_example_config_loads_with_fraudwalls_own_loader():
    loaded = config.load(EXAMPLE)
    addresses = [ipaddress.ip_address(parse_hostport(listen, 53)[0]) for listen in loaded.server.listen]
    assert any(not address.is_loopback for address in addresses), "listens on loopback only"
    assert all(parse_hostport(listen, 53)[1] == 53 for listen in loaded.server.listen)
    assert loaded.blocklists.db.startswith("/var/lib/fraudwall/")
    assert loaded.blocklists.parsed_feeds()
    assert loaded.scorer.mode == "block"
    assert all(":" in server for server in loaded.upstream.servers)     # real upstreams, not resolv.conf


def test_example_config_is_not_an_open_resolver():
    for network in config.load(EXAMPLE).access.allow:
        assert ipaddress.ip_network(network, strict=False).prefixlen >= 8, network


def test_example_config_answers_on_the_sinkhole_address_it_listens_on():
    loaded = config.load(EXAMPLE)
    hosts = {parse_hostport(listen, 53)[0] for listen in loaded.server.listen}
    assert loaded.sinkhole.ipv4 in hosts


# ---------------------------------------------------------------- systemd

def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_runs_the_example_config_unprivileged_in_its_state_directory():
    service = unit()["Service"]
    assert service["ExecStart"] == "/opt/fraudwall/.venv/bin/fraudwall serve --config /etc/fraudwall/fraudwall.toml"
    assert service["User"] == "fraudwall"
    assert service["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert service["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["PrivateTmp"] == "yes"
    assert service["RestrictAddressFamilies"].split() == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert service["Restart"] == "on-failure"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["TimeoutStopSec"]
    # the store the example config names is in the only writable place
    state = f"/var/lib/{service['StateDirectory']}"
    assert service["ReadWritePaths"] == state
    assert config.load(EXAMPLE).blocklists.db.startswith(state + "/")


@pytest.fixture(name="verifiable_unit")
def verifiable_unit_fixture(tmp_path):
    """The unit with ExecStart pointing at this checkout's fraudwall (/opt/fraudwall is not installed here)."""
    binary = DEPLOY.parent / ".venv" / "bin" / "fraudwall"
    if not binary.exists():
        pytest.skip(f"{binary} is missing: run `make venv`")
    path = tmp_path / "fraudwall.service"
    path.write_text(UNIT.read_text().replace("/opt/fraudwall/.venv/bin/fraudwall", str(binary)))
    return path


def test_systemd_analyze_verify_is_silent(verifiable_unit):
    analyze = need("systemd-analyze", "systemd")
    result = subprocess.run([analyze, "verify", str(verifiable_unit)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == "", "systemd-analyze verify warns: " + result.stderr


def test_systemd_exposure_is_low(verifiable_unit):
    analyze = need("systemd-analyze", "systemd")
    result = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(verifiable_unit)],
                            capture_output=True, text=True, timeout=30)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


# ---------------------------------------------------------------- compose and the image

def test_compose_runs_fraudwall_prometheus_and_grafana_from_these_files():
    yaml = need_yaml()
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"fraudwall", "prometheus", "grafana"}
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["grafana"]["image"].startswith("grafana/grafana")

    build = services["fraudwall"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"

    declared = set(compose.get("volumes", {}))
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target, *_ = volume.split(":")
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared, f"{name} uses volume {source}, not declared"
            assert target.startswith("/")

    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services["fraudwall"]["volumes"]}
    config_path = services["fraudwall"]["command"][services["fraudwall"]["command"].index("--config") + 1]
    assert mounts[config_path] == "./config/fraudwall.toml"
    store = config.load(EXAMPLE).blocklists.db
    assert any(store.startswith(target + "/") and source in declared for target, source in mounts.items()), \
        "the store is not on a volume: it would be lost with the container"


def test_compose_prometheus_finds_its_rules_and_grafana_finds_prometheus():
    yaml = need_yaml()
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in prometheus["volumes"]}
    config_file = next(arg.split("=", 1)[1] for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert mounts["./prometheus/prometheus.yml"] == config_file
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    folder = config_file.rsplit("/", 1)[0]
    for rule_file in scrape["rule_files"]:
        assert f"{folder}/{rule_file}" in mounts.values(), f"{rule_file} is not mounted next to {config_file}"
    # host networking everywhere: the scrape target and the datasource are on loopback
    assert {service.get("network_mode") for service in compose["services"].values()} == {"host"}
    listen = next(arg.split("=", 1)[1] for arg in prometheus["command"] if arg.startswith("--web.listen-address="))
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == f"http://{listen}"


def test_dockerfile_installs_fraudwall_from_this_repository():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install --no-cache-dir ." in dockerfile
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (DEPLOY.parent / source).exists(), f"COPY {source}: not in the repository"
    assert re.search(r"^USER fraudwall$", dockerfile, re.M)


# ---------------------------------------------------------------- dnsdist

def test_dnsdist_accepts_the_config():
    dnsdist = need("dnsdist", "dnsdist")
    result = subprocess.run([dnsdist, "--check-config", "-C", str(DNSDIST)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_dnsdist_sends_to_fraudwall_hosts_of_the_example_config():
    text = DNSDIST.read_text()
    loaded = config.load(EXAMPLE)
    backends = re.findall(r'address = "([^"]+)"', text)
    assert len(backends) >= 2
    assert backends[0] in loaded.server.listen                 # the example host is one of them
    # dnsdist's own address must be allowed by fraudwall, or every query comes back REFUSED
    local = parse_hostport(re.search(r'setLocal\("([^"]+)"\)', text).group(1), 53)[0]
    assert any(ipaddress.ip_address(local) in ipaddress.ip_network(network) for network in loaded.access.allow)
    assert "newPacketCache(" not in re.sub(r"--[^\n]*", "", text)
    assert 'controlSocket("127.0.0.1:' in text


def test_dnsdist_sends_proxy_headers_to_hosts_that_read_them():
    code = re.sub(r"--[^\n]*", "", DNSDIST.read_text())
    loaded = config.load(EXAMPLE)
    assert "useProxyProtocol = true" in code
    # every address dnsdist listens on (and so sends from, on the lab network) is a trusted PROXY sender
    for local in re.findall(r'(?:setLocal|addLocal)\("([^"]+)"\)', code):
        address = ipaddress.ip_address(parse_hostport(local, 53)[0])
        assert any(address in ipaddress.ip_network(network) for network in loaded.server.proxy_from), local


def test_dnsdist_ships_no_console_key_and_the_install_step_makes_one(tmp_path):
    dnsdist = need("dnsdist", "dnsdist")
    text = DNSDIST.read_text()
    assert "setKey(" not in re.sub(r"--[^\n]*", "", text), "a fixed console key is shipped"
    # The install lines at the top of the file, run against a scratch directory.
    steps = [line[len("--   "):] for line in text.splitlines()
             if line.startswith("--   ") and "console-key.conf" in line and "openssl" in line]
    assert len(steps) == 1, steps
    subprocess.run(["sh", "-c", steps[0].replace("/etc/dnsdist/conf.d", str(tmp_path))], check=True, timeout=30)
    key_file = tmp_path / "console-key.conf"
    assert key_file.stat().st_mode & 0o007 == 0, oct(key_file.stat().st_mode)
    assert re.fullmatch(r'setKey\("[A-Za-z0-9+/]{43}="\)\n', key_file.read_text())
    scratch = tmp_path / "dnsdist.conf"
    scratch.write_text(text.replace('includeDirectory("/etc/dnsdist/conf.d")', f'includeDirectory("{tmp_path}")'))
    result = subprocess.run([dnsdist, "--check-config", "-C", str(scratch)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
    assert "does not exist" not in result.stdout + result.stderr
