"""Newly observed domains in a real `fraudwall serve` over a real NSD: the first query for a domain with a
middling score is answered, logged as newly observed and counted; the same domain asked again (of either
of two workers), or after a restart (the memory is on disk, as on the next day), is not new any more.
`fraudwall check` agrees, and asking it changes nothing."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import dnsclient
from tests.e2e.peers import Process, fraudwall_binary, free_port, start_fraudwall

pytestmark = pytest.mark.e2e

MIDDLING = "account-verify.example.org"   # scores ~0.5: under the scorer's warn_threshold, over [nod]'s 0.3
LATER = "verify-now.example.net"          # ~0.35: a domain first asked for after the restart
SENTINELS = iter(("taobao-refund.example.com", "paypal-verify.example.net", "apple-id-unlock.example.net",
                  "fraud-demo.example.org"))   # listed in the demo list: blocked, so always logged
DEADLINE = 20.0


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *arguments], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


def logged(config: Path, name: str) -> list[dict]:
    done = run_cli("log", "--config", str(config), "--json", "--name", name)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def poll(what: str, check, timeout: float = DEADLINE):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:g} s", pytrace=False)
        time.sleep(0.2)
    return value


def settled(server: Process, config: Path) -> None:
    """Every query asked so far is in the query log: a blocked name asked last has been written."""
    sentinel = next(SENTINELS)
    dnsclient.udp(server.port, sentinel)
    poll(f"{sentinel} in the query log", lambda: logged(config, sentinel))


def newly_observed(admin_port: int, action: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "fraudwall_newly_observed_total" and sample.labels.get("action") == action)


def checked(config: Path, name: str) -> dict:
    done = run_cli("check", "--config", str(config), name, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_first_seen_domain_is_warned_once_and_remembered_across_a_restart(nsd: Process, tmp_path: Path):
    directory = tmp_path / "fraudwall"
    config = directory / "fraudwall.toml"
    admin_port = free_port()
    # Two workers: each query goes to either (SO_REUSEPORT), and both share one memory.
    server = start_fraudwall(directory, [f"127.0.0.1:{nsd.port}"], "--admin", f"127.0.0.1:{admin_port}",
                             "--workers", "2", scorer="block")
    try:
        # Before any query: check says it is new, and asking it does not make it seen.
        assert checked(config, MIDDLING)["newly_observed"] is True
        assert checked(config, MIDDLING)["verdict"] == "warned"

        reply = dnsclient.udp(server.port, MIDDLING)
        assert dnsclient.rcode(reply) == dnsclient.NXDOMAIN     # answered as NSD answers it: a warning only
        rows = poll("the newly observed warning in the query log", lambda: logged(config, MIDDLING))
        assert [(row["verdict"], row["label"]) for row in rows] == [("warned", "newly-observed")]
        assert rows[0]["reason"].startswith("newly observed: example.org is new to this network; scored 0.")
        assert "'account', 'verify'" in rows[0]["reason"]   # the scorer's strongest reason follows

        for _ in range(6):                                     # asked again, of both workers: seen now
            dnsclient.udp(server.port, MIDDLING)
        dnsclient.udp(server.port, "login." + "example.org")   # another name of the same domain
        settled(server, config)
        assert sum(row.get("count", 1) for row in logged(config, "*example.org")
                   if row["label"] == "newly-observed") == 1
        # The worker serving /metrics adds the other's counts from its snapshot (written every second).
        assert poll("fraudwall_newly_observed_total{action=\"warn\"}", lambda: newly_observed(admin_port, "warn")) == 1
        record = checked(config, MIDDLING)
        assert (record["newly_observed"], record["verdict"]) == (False, "allowed")
    finally:
        server.stop()

    # The next start (the next day, as far as the memory goes): the domain is still known.
    admin_port = free_port()
    server = start_fraudwall(directory, [f"127.0.0.1:{nsd.port}"], "--admin", f"127.0.0.1:{admin_port}",
                             scorer="block")
    try:
        dnsclient.udp(server.port, MIDDLING)
        dnsclient.udp(server.port, LATER)
        settled(server, config)
        assert len([row for row in logged(config, MIDDLING) if row["label"] == "newly-observed"]) == 1
        later = logged(config, LATER)
        assert [(row["verdict"], row["label"]) for row in later] == [("warned", "newly-observed")]
        assert later[0]["reason"].startswith("newly observed: example.net is new to this network; scored 0.")
        assert poll("fraudwall_newly_observed_total{action=\"warn\"}", lambda: newly_observed(admin_port, "warn")) == 1
    finally:
        server.stop()
