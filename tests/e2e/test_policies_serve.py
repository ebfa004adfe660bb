"""One verdict, one explanation, and policies per client network, against a real `fraudwall serve` and NSD.

Clients are told apart by their loopback source address (127.0.0.1 the default policy, 127.0.0.2
the security team with mode "off", 127.0.0.3 guests answered NXDOMAIN, 127.0.0.4 staff warned),
queried with dnspython and with `kdig -b`, as a lab admin would. `fraudwall check` is run as a
command against the same store and config and must say what the resolver answered.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from fraudwall.resolver.observe.querylog import QueryLog
from tests.e2e.dnsclient import TIMEOUT, ede_codes, rdata
from tests.e2e.peers import ZONE_TEXT, Process, fraudwall_binary, free_port, start_fraudwall, start_nsd

pytestmark = pytest.mark.e2e

LISTED = "listed.example.org"          # blocked by the operator, with a reason, once the server runs
LISTED_ADDRESS = "192.0.2.50"
LOOKALIKE_ALIAS = "cname2.example.org"   # on no list: its CNAME leads to a homoglyph of paypal.com
ZONE = ZONE_TEXT + f"listed IN A {LISTED_ADDRESS}\ncname2 IN CNAME www.paypa1.com.\n"
REASON = "reported by helpdesk ticket 42"
POLICIES = """
[[policy]]
name = "security"
clients = ["127.0.0.2/32"]
mode = "off"

[[policy]]
name = "guests"
clients = ["127.0.0.3/32"]
sinkhole = { policy = "nxdomain" }

[[policy]]
name = "staff"
clients = ["127.0.0.4/32"]
mode = "warn"
"""
DEFAULT, SECURITY, GUESTS, STAFF = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"
DEADLINE = 10.0


def run_cli(*arguments: object) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *map(str, arguments)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)


def ask(server: Process, name: str, source: str = DEFAULT, message: dns.message.Message | None = None):
    message = message or dns.message.make_query(name, "A", use_edns=0)
    return dns.query.udp(message, "127.0.0.1", port=server.port, timeout=TIMEOUT, source=source)


def ede_texts(reply: dns.message.Message) -> list[str]:
    return [option.text for option in reply.options if option.otype == 15]


def kdig(server: Process, name: str, source: str) -> str:
    done = subprocess.run(["kdig", "-b", source, "@127.0.0.1", "-p", str(server.port), name, "A", "+edns"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(what: str, probe) -> object:
    deadline = time.monotonic() + DEADLINE
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {DEADLINE:g} s", pytrace=False)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(nsd_binary: str, require_binary, tmp_path_factory: pytest.TempPathFactory):
    require_binary("kdig")
    directory = tmp_path_factory.mktemp("policies")
    nsd = start_nsd(nsd_binary, directory / "nsd", zone_text=ZONE)
    admin = free_port()
    server = start_fraudwall(directory / "fraudwall", [f"127.0.0.1:{nsd.port}"], "--admin", f"127.0.0.1:{admin}",
                             scorer="block", extra=POLICIES)
    config = directory / "fraudwall" / "fraudwall.toml"
    blocked = run_cli("--config", config, "block", LISTED, "--exact", "--reason", REASON)
    assert blocked.returncode == 0, blocked.stderr
    wait_for("the operator's block in force", lambda: ede_codes(ask(server, LISTED)) == [15])
    try:
        yield server, config, admin
    finally:
        server.stop()
        nsd.stop()


def test_two_client_networks_get_two_answers_for_one_listed_name(served):
    server, _, _ = served
    default = ask(server, LISTED)
    assert rdata(default, "A") == ["0.0.0.0"]
    assert ede_texts(default) == [f"listed in manual (cli): {REASON} (policy default)"]
    assert rdata(ask(server, LISTED, SECURITY), "A") == [LISTED_ADDRESS]       # mode off: the real answer
    guest = ask(server, LISTED, GUESTS)
    assert guest.rcode() == dns.rcode.NXDOMAIN and ede_texts(guest) == [f"listed in manual (cli): {REASON} (policy guests)"]
    assert rdata(ask(server, LISTED, STAFF), "A") == [LISTED_ADDRESS]          # mode warn: answered, logged
    # The same, as an admin would ask with kdig from each source address.
    assert "status: NOERROR" in kdig(server, LISTED, SECURITY) and LISTED_ADDRESS in kdig(server, LISTED, SECURITY)
    assert "status: NXDOMAIN" in kdig(server, LISTED, GUESTS)
    assert "0.0.0.0" in kdig(server, LISTED, DEFAULT)


def test_a_kept_reply_is_never_replayed_to_a_client_of_another_policy(served):
    server, _, _ = served
    message = dns.message.make_query(LISTED, "A", use_edns=0)   # the same bytes every time
    for _ in range(3):                                          # asked again: the reply is kept
        assert rdata(ask(server, LISTED, message=message), "A") == ["0.0.0.0"]
    assert rdata(ask(server, LISTED, SECURITY, message), "A") == [LISTED_ADDRESS]
    assert rdata(ask(server, LISTED, message=message), "A") == ["0.0.0.0"]


def test_a_cached_answer_of_one_policy_is_not_another_policys(served):
    server, _, _ = served
    unfiltered = ask(server, LOOKALIKE_ALIAS, SECURITY)      # answered and cached for the security team
    assert unfiltered.rcode() == dns.rcode.NOERROR and [rrset.rdtype for rrset in unfiltered.answer]
    for _ in range(2):
        blocked = ask(server, LOOKALIKE_ALIAS)
        assert rdata(blocked, "A") == ["0.0.0.0"] and ede_codes(blocked) == [17]
    assert ede_texts(blocked)[0].startswith("alias www.paypa1.com scored 0.9")


def test_check_says_what_the_resolver_answered_for_each_client(served):
    server, config, _ = served
    for name, client in ((LISTED, DEFAULT), (LISTED, GUESTS), ("paypa1.com", DEFAULT), ("paypa1.com", GUESTS)):
        done = run_cli("--config", config, "check", name, "--client", client, "--json")
        assert done.returncode == 0, done.stderr
        record = json.loads(done.stdout)
        assert record["verdict"] == "blocked"
        assert [record["reason"]] == ede_texts(ask(server, name, client))
    for client, verdict in ((SECURITY, "unfiltered"), (STAFF, "warned")):
        record = json.loads(run_cli("--config", config, "check", LISTED, "--client", client, "--json").stdout)
        assert (record["verdict"], record["policy"]) == (verdict, {SECURITY: "security", STAFF: "staff"}[client])
    text = run_cli("--config", config, "check", "paypa1.com").stdout
    assert text.startswith("blocked paypa1.com by the scorer (homoglyph); EDE 17: scored 0.9")
    assert text.rstrip().endswith("(policy default)")


def test_the_doh_canary_is_nxdomain(served):
    server, _, _ = served
    assert ask(server, "use-application-dns.net").rcode() == dns.rcode.NXDOMAIN


def test_the_policy_reaches_the_query_log_and_the_metrics(served):
    server, config, admin = served
    ask(server, LISTED, GUESTS)
    ask(server, LISTED, STAFF)
    querylog = config.parent / "store" / "querylog.db"

    def logged():
        log = QueryLog(querylog)
        try:
            rows = {(entry.client, entry.verdict, entry.policy) for entry in log.read(0) if entry.name == LISTED}
        finally:
            log.close()
        wanted = {(GUESTS, "blocked", "guests"), (STAFF, "warned", "staff"), (SECURITY, "unfiltered", "security")}
        return wanted <= rows

    ask(server, LISTED, SECURITY)
    wait_for("the policies in the query log", logged)
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    assert 'fraudwall_blocked_total{list="manual",policy="guests",reason="name"}' in metrics
    assert 'fraudwall_warned_total{list="manual",policy="staff",reason="name"}' in metrics


def test_a_wrong_policy_table_is_one_line_naming_it(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text('[[policy]]\nname = "guests"\nclients = ["192.0.2.300/24"]\n')
    done = run_cli("--config", config, "check", "example.org")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"fraudwall: config error: {config}: [[policy]] 1 clients: '192.0.2.300/24' is not an IP network"]
