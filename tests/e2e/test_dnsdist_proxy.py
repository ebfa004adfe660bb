"""The real client behind dnsdist: the shipped dnsdist.conf (Debian's dnsdist) in front of `fraudwall
serve --proxy-from`, clients on their own loopback addresses asking with kdig and dnspython.

dnsdist sends from 127.0.0.9 (its `source`), the one trusted sender; the start-up probe of
peers.py asks from 127.0.0.1, an untrusted sender's plain DNS, which is still answered.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from fraudwall.resolver.dns.codes import Transport
from fraudwall.resolver.dns.proxy import build_header
from tests.e2e.peers import fraudwall_binary, free_port, start_fraudwall, wait_for

ROOT = Path(__file__).resolve().parents[2]
DNSDIST_CONF = ROOT / "deploy" / "dnsdist" / "dnsdist.conf"
DNSDIST_SOURCE = "127.0.0.9"
DENIED = "127.0.0.4"          # [access] deny: refused, though dnsdist (allowed) relays its queries
BLOCKED = "safe-account.example.org"   # the demo list blocks its subdomains: logged without an upstream
HEALTH = "icbc-tuikuan.example.com"    # dnsdist's health check name here (blocked, answered at once)



def dnsdist_config(directory: Path, backend_ports: list[int], port: int, console: int) -> Path:
    """The shipped config on loopback: fraudwall backends, quick health checks, sent from
    DNSDIST_SOURCE, the console key made by the install line the file's header gives."""
    text = DNSDIST_CONF.read_text()
    keys = directory / "conf.d"
    keys.mkdir()
    install = next(line[len("--   "):] for line in text.splitlines() if "openssl rand" in line)
    subprocess.run(["sh", "-c", install.replace("/etc/dnsdist/conf.d", str(keys))], check=True, timeout=30)
    table = "".join(f'  {{ name = "fraudwall-{number}", address = "127.0.0.1:{backend}" }},\n'
                    for number, backend in enumerate(backend_ports, 1))
    text = re.sub(r"local fraudwall_hosts = \{.*?\n\}", f"local fraudwall_hosts = {{\n{table}}}", text, flags=re.S)
    text = re.sub(r'setLocal\("[^"]+"\)', f'setLocal("127.0.0.1:{port}")', text)
    text = re.sub(r'addLocal\("[^"]+"\)', "", text)
    text = re.sub(r'controlSocket\("[^"]+"\)', f'controlSocket("127.0.0.1:{console}")', text)
    text = text.replace('includeDirectory("/etc/dnsdist/conf.d")', f'includeDirectory("{keys}")')
    text = text.replace('checkName = "a.root-servers.net."', f'checkName = "{HEALTH}."')
    text = text.replace("checkInterval = 5", "checkInterval = 1").replace("rise = 2", "rise = 1")
    text = text.replace("maxCheckFailures = 3", "maxCheckFailures = 1")
    assert "useProxyProtocol = true," in text
    text = text.replace("useProxyProtocol = true,", f'useProxyProtocol = true, source = "{DNSDIST_SOURCE}",')
    path = directory / "dnsdist.conf"
    path.write_text(text)
    return path


def ask(port: int, name: str, source: str, tcp: bool = False, query: dns.message.Message | None = None,
        timeout: float = 2.0):
    query = query if query is not None else dns.message.make_query(name, "A")
    exchange = dns.query.tcp if tcp else dns.query.udp
    return exchange(query, "127.0.0.1", port=port, source=source, timeout=timeout)


@contextlib.contextmanager
def dnsdist_in_front(dnsdist: str, directory: Path, backend_ports: list[int]):
    """dnsdist on a free port in front of the backends, once it answers through them: (its port, its config)."""
    port, console = free_port(), free_port()
    config = dnsdist_config(directory, backend_ports, port, console)
    process = subprocess.Popen([dnsdist, "--supervised", "--disable-syslog", "-C", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def answered() -> bool:
        assert process.poll() is None, process.stderr.read()
        try:
            return ask(port, HEALTH, "127.0.0.1").rcode() == dns.rcode.NOERROR
        except (OSError, dns.exception.DNSException):
            return False

    try:
        wait_for("dnsdist answering through fraudwall", answered, 15)
        yield port, config
    finally:
        process.terminate()
        process.wait(timeout=10)


def start_behind_dnsdist(directory: Path, *flags: str, **config: object):
    return start_fraudwall(directory, ["127.0.0.1:9"], "--proxy-from", f"{DNSDIST_SOURCE}/32", *flags, **config)


@pytest.fixture(scope="module")
def behind_dnsdist(require_binary, tmp_path_factory):
    """(dnsdist's port, fraudwall, its config, its admin port, dnsdist's config)."""
    dnsdist = require_binary("dnsdist")
    require_binary("kdig")
    directory = tmp_path_factory.mktemp("proxied")
    admin = free_port()
    server = start_behind_dnsdist(directory / "fraudwall", "--admin", f"127.0.0.1:{admin}", deny=(f"{DENIED}/32",))
    try:
        with dnsdist_in_front(dnsdist, directory, [server.port]) as (port, config):
            yield port, server, directory / "fraudwall" / "fraudwall.toml", admin, config
    finally:
        server.stop()


def logged(config: Path) -> set[tuple[str, str]]:
    """(client, name) of each query in fraudwall's query log, as `fraudwall report log --json` shows it."""
    done = subprocess.run([fraudwall_binary(), "report", "log", "--config", str(config), "--json"],
                          capture_output=True, text=True, timeout=30, cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return {(entry["client"], entry["name"]) for entry in map(json.loads, done.stdout.splitlines())}


def at_risk(config: Path) -> set[str]:
    """The clients `fraudwall report at-risk --json` names."""
    done = subprocess.run([fraudwall_binary(), "report", "at-risk", "--config", str(config), "--json"],
                          capture_output=True, text=True, timeout=30, cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return {json.loads(line)["client"] for line in done.stdout.splitlines()}


def test_each_client_behind_dnsdist_is_logged_under_its_own_address(behind_dnsdist):
    port, _, config, _, _ = behind_dnsdist
    for client in ("127.0.0.2", "127.0.0.3"):
        for transport in ("udp", "tcp"):
            done = subprocess.run(["kdig", "-b", client, "@127.0.0.1", "-p", str(port),
                                   "+tcp" if transport == "tcp" else "+notcp",
                                   "+timeout=2", "+retry=0", "+short", f"{transport}.{BLOCKED}"],
                                  capture_output=True, text=True, timeout=30)
            assert done.stdout.split() == ["0.0.0.0"], done.stdout + done.stderr
    wanted = {(client, f"{transport}.{BLOCKED}") for client in ("127.0.0.2", "127.0.0.3") for transport in ("udp", "tcp")}
    wait_for("the clients in the query log", lambda: wanted <= logged(config))
    names = {name for _, name in wanted}
    assert {entry for entry in logged(config) if entry[1] in names} == wanted, \
        "a query was logged under dnsdist's address, not its client's"


def test_kdigs_own_proxy_header_from_the_trusted_address_is_read(behind_dnsdist):
    """Another implementation's header (Knot's kdig +proxy), sent straight to fraudwall."""
    _, server, config, _, _ = behind_dnsdist
    for transport in ("notcp", "tcp"):
        done = subprocess.run(["kdig", "-b", DNSDIST_SOURCE, "@127.0.0.1", "-p", str(server.port), f"+{transport}",
                               "+proxy=127.0.0.77-127.0.0.1", "+timeout=2", "+retry=0", "+short",
                               f"kdig-{transport}.{BLOCKED}"], capture_output=True, text=True, timeout=30)
        assert done.stdout.split() == ["0.0.0.0"], done.stdout + done.stderr
    wanted = {("127.0.0.77", f"kdig-{transport}.{BLOCKED}") for transport in ("notcp", "tcp")}
    wait_for("kdig's client in the query log", lambda: wanted <= logged(config))


def test_an_access_rule_refuses_the_real_client_through_dnsdist(behind_dnsdist):
    port, *_ = behind_dnsdist
    for tcp in (False, True):
        assert ask(port, f"www.{BLOCKED}", DENIED, tcp).rcode() == dns.rcode.REFUSED
        assert ask(port, f"www.{BLOCKED}", "127.0.0.2", tcp).rcode() == dns.rcode.NOERROR


def test_a_reply_kept_for_one_client_is_not_replayed_to_another_behind_the_same_dnsdist(behind_dnsdist):
    port, *_ = behind_dnsdist
    query = dns.message.make_query(f"replay.{BLOCKED}", "A")   # the same bytes each time: replayable
    for _ in range(3):
        assert ask(port, "", "127.0.0.2", query=query).rcode() == dns.rcode.NOERROR
    assert ask(port, "", DENIED, query=query).rcode() == dns.rcode.REFUSED


def test_a_proxy_header_sent_directly_from_an_untrusted_address_is_refused(behind_dnsdist):
    _, server, _, admin, _ = behind_dnsdist
    query = dns.message.make_query(f"forged.{BLOCKED}", "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.2", 0))
        sock.settimeout(0.5)
        sock.sendto(build_header(DNSDIST_SOURCE, 53, "127.0.0.1", server.port) + query, ("127.0.0.1", server.port))
        with pytest.raises(socket.timeout):
            sock.recv(4096)
    with socket.create_connection(("127.0.0.1", server.port), timeout=2, source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(build_header("192.0.2.7", 53, "127.0.0.1", server.port, Transport.TCP)
                     + len(query).to_bytes(2, "big") + query)
        assert sock.recv(4096) == b"", "the connection was not closed"
    # plain DNS from the same address is answered as before
    assert ask(server.port, f"plain.{BLOCKED}", "127.0.0.2").rcode() == dns.rcode.NOERROR

    def counted() -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()

    wait_for("the refusals on /metrics", lambda: all(
        f'fraudwall_proxy_refused_total{{reason="untrusted",transport="{t}"}} 1.0' in counted() for t in ("udp", "tcp")))


def test_the_console_works_with_the_key_made_at_install(behind_dnsdist, require_binary):
    *_, config = behind_dnsdist
    done = subprocess.run([require_binary("dnsdist"), "-C", str(config), "-c", "-e", "showServers()"],
                          capture_output=True, text=True, timeout=30)
    assert "fraudwall-1" in done.stdout and " up " in done.stdout, done.stdout + done.stderr


def test_two_hosts_behind_dnsdist_log_the_real_clients_and_one_stopped_loses_no_query(require_binary, tmp_path):
    dnsdist = require_binary("dnsdist")
    hosts = [start_behind_dnsdist(tmp_path / f"fraudwall{n}") for n in (1, 2)]
    configs = [tmp_path / f"fraudwall{n}" / "fraudwall.toml" for n in (1, 2)]
    clients = [f"127.0.2.{n}" for n in range(1, 21)]
    try:
        with dnsdist_in_front(dnsdist, tmp_path, [host.port for host in hosts]) as (port, _):
            for client in clients:
                assert ask(port, f"two.{BLOCKED}", client).rcode() == dns.rcode.NOERROR
            wanted = {(client, f"two.{BLOCKED}") for client in clients}
            wait_for("every client in one of the query logs", lambda: wanted <= logged(configs[0]) | logged(configs[1]))
            assert logged(configs[0]) & wanted and logged(configs[1]) & wanted, "dnsdist used one host only"
            hosts[0].stop()
            deadline = time.monotonic() + 10
            while True:   # dnsdist marks the host down after its next failed check; then nothing is lost
                answers = []
                for client in clients:
                    try:
                        answers.append(ask(port, f"after.{BLOCKED}", client, timeout=0.5).rcode())
                    except dns.exception.Timeout:
                        answers.append(None)
                if answers == [dns.rcode.NOERROR] * len(clients):
                    break
                assert time.monotonic() < deadline, f"queries lost with one host down: {answers}"
            for client in clients:
                assert ask(port, f"after.{BLOCKED}", client, tcp=True).rcode() == dns.rcode.NOERROR
    finally:
        for host in hosts:
            host.stop()


PER_CLIENT = """
[ratelimit]
qps = 0.5
burst = 3
action = "refuse"
exempt = ["127.0.0.1/32", "127.0.0.9/32"]

[atrisk]
distinct_names = 3

[[policy]]
name = "guests"
clients = ["127.0.0.5/32"]
sinkhole = { policy = "nxdomain" }
"""


def test_rate_limits_policies_and_at_risk_are_per_client_behind_dnsdist(require_binary, tmp_path):
    dnsdist = require_binary("dnsdist")
    host = start_behind_dnsdist(tmp_path / "fraudwall", extra=PER_CLIENT)
    try:
        with dnsdist_in_front(dnsdist, tmp_path, [host.port]) as (port, _):
            flood = [ask(port, f"flood{n}.{BLOCKED}", "127.0.0.6").rcode() for n in range(8)]
            assert flood[:3] == [dns.rcode.NOERROR] * 3 and dns.rcode.REFUSED in flood[3:], flood
            assert ask(port, f"calm.{BLOCKED}", "127.0.0.2").rcode() == dns.rcode.NOERROR   # a bucket of its own
            assert ask(port, f"guest.{BLOCKED}", "127.0.0.5").rcode() == dns.rcode.NXDOMAIN  # its policy's answer
            assert ask(port, f"guest.{BLOCKED}", "127.0.0.2").answer[0][0].address == "0.0.0.0"
            for name in ("icbc-tuikuan.example.com", "taobao-refund.example.com", "paypal-verify.example.net"):
                assert ask(port, name, "127.0.0.7").rcode() == dns.rcode.NOERROR
            wait_for("127.0.0.7 at risk", lambda: "127.0.0.7" in at_risk(tmp_path / "fraudwall" / "fraudwall.toml"))
            # the flooding 127.0.0.6 reached 3 blocked names too; dnsdist's own address never
            assert DNSDIST_SOURCE not in at_risk(tmp_path / "fraudwall" / "fraudwall.toml")
    finally:
        host.stop()
