"""The `fraudwall` command as a user runs it: --version, --help, config errors, signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import pytest

from tests.e2e.dnsclient import SERVFAIL, ede_codes, query, rdata, udp
from tests.e2e.peers import fraudwall_binary, free_port, port_is_free, write_fraudwall_config

pytestmark = pytest.mark.e2e


def run_fraudwall(*argv: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *argv], capture_output=True, text=True, timeout=timeout)


def serve_with(config: Path, port: int, *flags: str) -> subprocess.CompletedProcess:
    return run_fraudwall("serve", "--config", str(config), "--listen", f"127.0.0.1:{port}", *flags)


def test_version():
    result = run_fraudwall("--version")

    assert result.returncode == 0
    version, scorer = result.stdout.splitlines()
    assert version == "fraudwall 0.1.0" and scorer in ("scorer: compiled (mypyc)", "scorer: pure Python")


def test_serve_help_lists_the_flags():
    result = run_fraudwall("serve", "--help")

    assert result.returncode == 0
    for flag in ("--config", "--listen", "--upstream", "--sinkhole-ipv4", "--sinkhole-ipv6", "--workers"):
        assert flag in result.stdout


def test_unknown_key_is_a_config_error_naming_file_and_key(tmp_path):
    config = write_fraudwall_config(tmp_path, ["127.0.0.1:9"], extra="\n[allowlist]\nnaems = []\n")
    port = free_port()

    result = serve_with(config, port)

    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "[allowlist]" in result.stderr and "'naems'" in result.stderr
    assert "listening" not in result.stderr
    assert port_is_free(port)


def test_wrong_type_is_a_config_error_naming_file_and_key(tmp_path):
    config = write_fraudwall_config(tmp_path, ["127.0.0.1:9"])
    config.write_text(config.read_text().replace("size = 10000", 'size = "big"'))
    port = free_port()

    result = serve_with(config, port)

    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "[cache] size" in result.stderr and "integer" in result.stderr
    assert "listening" not in result.stderr
    assert port_is_free(port)


def test_config_error_comes_before_binding_even_when_the_port_is_taken(tmp_path):
    """A config error is reported as such (exit 2), not hidden behind a bind failure."""
    config = write_fraudwall_config(tmp_path, ["127.0.0.1:9"], timeout=99)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        result = serve_with(config, taken.getsockname()[1])

    assert result.returncode == 2
    assert "[upstream] timeout" in result.stderr


def test_bad_flag_value_is_a_config_error(tmp_path):
    config = write_fraudwall_config(tmp_path, ["127.0.0.1:9"])

    result = serve_with(config, free_port(), "--sinkhole-ipv4", "not-an-address")

    assert result.returncode == 2
    assert "ipv4" in result.stderr and "not-an-address" in result.stderr


def test_upstream_that_is_the_listen_address_is_refused(tmp_path):
    port = free_port()
    config = write_fraudwall_config(tmp_path, [f"127.0.0.1:{port}"])

    result = serve_with(config, port)

    assert result.returncode == 2
    assert "loop" in result.stderr


def test_port_in_use_exits_nonzero_with_a_message(tmp_path):
    config = write_fraudwall_config(tmp_path, ["127.0.0.1:9"])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = serve_with(config, taken.getsockname()[1])

    assert result.returncode == 1
    assert "cannot listen" in result.stderr


def test_sigterm_stops_the_server_with_exit_code_0(nsd, start_own_fraudwall):
    fraudwall = start_own_fraudwall([f"127.0.0.1:{nsd.port}"])
    assert rdata(udp(fraudwall.port, "www.example.org", "A"), "A") == ["192.0.2.10"]

    assert fraudwall.terminate() == 0
    assert port_is_free(fraudwall.port)


def test_sigterm_lets_a_udp_query_in_flight_get_its_answer(start_own_fraudwall):
    """The upstream never answers, so the query is still in flight when SIGTERM comes; within the
    shutdown grace period the client still gets its SERVFAIL instead of silence."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    fraudwall = start_own_fraudwall([f"127.0.0.1:{silent.getsockname()[1]}"], timeout=0.5)
    with silent, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2.0)
        client.sendto(query("www.example.org", "A", use_edns=0).to_wire(), ("127.0.0.1", fraudwall.port))
        time.sleep(0.15)
        fraudwall.signal(signal.SIGTERM)
        try:
            wire = client.recv(65535)
        except socket.timeout:
            wire = None
        code = fraudwall.terminate()

    assert code == 0
    assert wire is not None, "the query in flight at SIGTERM got no answer"
    reply = dns.message.from_wire(wire)
    assert reply.rcode() == SERVFAIL
    assert ede_codes(reply) == [22]


def test_sigterm_lets_a_tcp_query_in_flight_get_its_answer(start_own_fraudwall):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    fraudwall = start_own_fraudwall([f"127.0.0.1:{silent.getsockname()[1]}"], timeout=0.5)
    wire = query("www.example.org", "A", use_edns=0).to_wire()
    with silent, socket.create_connection(("127.0.0.1", fraudwall.port), timeout=2.0) as client:
        client.sendall(len(wire).to_bytes(2, "big") + wire)
        time.sleep(0.15)
        fraudwall.signal(signal.SIGTERM)
        reply = dns.query.receive_tcp(client, expiration=time.time() + 2.0)[0]
        code = fraudwall.terminate()

    assert code == 0
    assert reply.rcode() == SERVFAIL
    assert ede_codes(reply) == [22]
