"""What an operator sees of a running `fraudwall serve`: Prometheus metrics, the query log and at-risk clients.

A real Prometheus scrapes fraudwall's admin listener every second and evaluates the repository's
recording rules and alerts (deploy/prometheus/alerts.yml); the numbers are read back through
Prometheus' HTTP API, as Grafana would. The query log and the at-risk report are read through the
real `fraudwall log` and `fraudwall report at-risk` commands, and the at-risk webhook is a local
HTTP server.

Each kind of traffic comes from its own loopback address, so that the counts can be told apart:
127.0.0.1 is the readiness probe, 127.0.0.2 the mixed traffic of the metrics tests, 127.0.0.3 the
client who keeps running into fraud names.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import dnsclient
from tests.e2e.peers import (
    Process,
    fraudwall_binary,
    free_port,
    serve_expecting_failure,
    start_fraudwall,
)

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]
ALERTS = REPOSITORY / "deploy" / "prometheus" / "alerts.yml"
DEPLOY_README = REPOSITORY / "deploy" / "README.md"
DEMO_LIST = REPOSITORY / "blocklists" / "data" / "demo-blocklist.txt"
JOB = "fraudwall"   # the job name the alerts use (FraudwallDown: up{job="fraudwall"})

TRAFFIC_CLIENT = "127.0.0.2"
AT_RISK_CLIENT = "127.0.0.3"
ALLOWED = "www.example.org"
PRIMING_NAME = "v4only.example.org"
BLOCKED = "icbc-tuikuan.example.com"
LOOKALIKE = "paypa1.com"   # `fraudwall score paypa1.com`: block, rule homoglyph (of paypal.com)
# Distinct names of the demo list (blocklists/data/demo-blocklist.txt); the fifth makes the client at risk.
FRAUD_NAMES = ("taobao-refund.example.com", "paypal-verify.example.net", "apple-id-unlock.example.net",
               "login.safe-account.example.org")
FIFTH_FRAUD_NAME = "fraud-demo.example.org"
# A question whose name runs past the end of the message: FORMERR.
MALFORMED = bytes.fromhex("beef 0100 0001 0000 0000 0000") + b"\x07example\x03co"

# Documented in deploy/README.md, read by the BlocklistStale alert and the dashboard.
BLOCKLIST_METRIC_PREFIX = "fraudwall_blocklist_"

POLL_SECONDS = 20.0
PROMETHEUS_START_SECONDS = 20.0


# ----------------------------------------------------------------------------------------------
# helpers

def ask(port: int, name: str, rdtype: str = "A", source: str = TRAFFIC_CLIENT) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0)
    return dns.query.udp(query, "127.0.0.1", port=port, source=source, timeout=2.0)


def raw_from(port: int, payload: bytes, source: str) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(2.0)
        sock.sendto(payload, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def fetch(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def scrape(admin_port: int) -> str:
    return fetch(f"http://127.0.0.1:{admin_port}/metrics")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples called `name` in an exposition text, with their labels."""
    return [(sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def total(text: str, name: str, **labels: str) -> float:
    return sum(value for sample_labels, value in samples(text, name)
               if all(sample_labels.get(key) == wanted for key, wanted in labels.items()))


def wait_for(what: str, check: Callable[[], object], timeout: float = POLL_SECONDS, every: float = 0.25) -> object:
    """`check()` until it returns something truthy; fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:g} s (last: {last!r})", pytrace=False)
        time.sleep(every)


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([fraudwall_binary(), *arguments], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


# ----------------------------------------------------------------------------------------------
# Prometheus

class Prometheus:
    """A real Prometheus on a free loopback port, scraping one fraudwall every second."""

    def __init__(self, binary: str, directory: Path, admin_port: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / "prometheus.yml"
        config.write_text(f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {ALERTS}
scrape_configs:
  - job_name: {JOB}
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{admin_port}"]
""")
        self.log_path = directory / "prometheus.stderr"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=directory, start_new_session=True)
        deadline = time.monotonic() + PROMETHEUS_START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
            try:
                if "Ready" in fetch(f"{self.url}/-/ready", timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus not ready within {PROMETHEUS_START_SECONDS} s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, path: str, **parameters: str) -> dict:
        url = f"{self.url}/api/v1/{path}"
        if parameters:
            url += "?" + urllib.parse.urlencode(parameters)
        document = json.loads(fetch(url))
        assert document["status"] == "success", document
        return document["data"]

    def query(self, expression: str) -> list[tuple[dict[str, str], float]]:
        """An instant query: (labels, value) for each series of the vector."""
        data = self.api("query", query=expression)
        assert data["resultType"] == "vector", data
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def value(self, expression: str) -> float | None:
        """The single value of an expression (None when the vector is empty)."""
        result = self.query(expression)
        assert len(result) <= 1, f"{expression}: more than one series: {result}"
        return result[0][1] if result else None

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(5)


# ----------------------------------------------------------------------------------------------
# fixtures

class Webhook:
    """The at-risk webhook: a local HTTP server that keeps every JSON document POSTed to /hook."""

    def __init__(self) -> None:
        events: list[dict] = []
        paths: list[str] = []
        self.events, self.paths = events, paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                paths.append(self.path)
                events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def prometheus_binary(require_binary) -> str:
    return require_binary("prometheus")


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


class Observed:
    def __init__(self, server: Process, admin_port: int, db: Path, upstream: str) -> None:
        self.server = server
        self.port = server.port
        self.admin_port = admin_port
        self.db = db
        self.upstream = upstream


@pytest.fixture(scope="module")
def observed(nsd: Process, webhook: Webhook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    """`fraudwall serve` with the admin listener, the scorer blocking, a store (and so a query log) and a webhook."""
    directory = tmp_path_factory.mktemp("observed")
    db = directory / "store" / "blocklists.db"
    admin_port = free_port()
    upstream = f"127.0.0.1:{nsd.port}"
    server = start_fraudwall(directory, [upstream], "--admin", f"127.0.0.1:{admin_port}", "--db", str(db),
                             scorer="block",
                             extra=f'\n[atrisk]\nwebhook = "{webhook.url}"\ncheck_seconds = 1\n')
    # One query of each kind before Prometheus first scrapes: every series the tests read exists
    # from the first scrape on, so that rate() sees the later traffic as an increase.
    for name in (PRIMING_NAME, PRIMING_NAME, BLOCKED, LOOKALIKE):
        ask(server.port, name)
    raw_from(server.port, MALFORMED, TRAFFIC_CLIENT)
    yield Observed(server, admin_port, db, upstream)
    server.stop()


@pytest.fixture(scope="module")
def prometheus(prometheus_binary: str, observed: Observed,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    server = Prometheus(prometheus_binary, tmp_path_factory.mktemp("prometheus"), observed.admin_port)
    yield server
    server.stop()


class Traffic:
    """What the metrics tests sent, and the counts Prometheus had seen before."""

    def __init__(self, before: dict[str, float], replies: dict[str, object]) -> None:
        self.before = before
        self.replies = replies


# Expressions read before and after the traffic; each must grow by exactly the number given.
EXPECTED_GROWTH = {
    'sum(fraudwall_queries_total{result="answered"})': 1,      # ALLOWED, forwarded
    'sum(fraudwall_queries_total{result="cached"})': 2,        # ALLOWED twice more
    'sum(fraudwall_queries_total{result="blocked",qtype="A"})': 1,
    'sum(fraudwall_queries_total{result="scored"})': 1,
    'sum(fraudwall_queries_total{result="formerr",qtype="none"})': 1,
    'sum(fraudwall_blocked_total{list="demo",reason="name"})': 1,
    'sum(fraudwall_blocked_total{list="homoglyph",reason="scorer"})': 1,
    'sum(fraudwall_scorer_verdicts_total{verdict="block",rule="homoglyph"})': 1,
    'sum(fraudwall_cache_hits_total)': 2,
}


@pytest.fixture(scope="module")
def traffic(prometheus: Prometheus, observed: Observed) -> Traffic:
    """Once Prometheus has scraped fraudwall: an allowed name thrice, a listed name, a look-alike, a bad packet."""
    wait_for("Prometheus scraping fraudwall (up == 1)",
             lambda: prometheus.value(f'up{{job="{JOB}"}}') == 1)
    # A scrape that began after everything earlier was answered: the counts before are complete.
    now = time.time()
    wait_for("a fresh scrape", lambda: (prometheus.value(f'timestamp(up{{job="{JOB}"}})') or 0) > now)
    before = {expression: prometheus.value(expression) or 0.0 for expression in EXPECTED_GROWTH}
    replies = {
        "allowed": [ask(observed.port, ALLOWED) for _ in range(3)],
        "blocked": ask(observed.port, BLOCKED),
        "lookalike": ask(observed.port, LOOKALIKE),
        "malformed": raw_from(observed.port, MALFORMED, TRAFFIC_CLIENT),
    }
    return Traffic(before, replies)


# ----------------------------------------------------------------------------------------------
# tests

def test_query_log_and_at_risk_client(observed: Observed, prometheus: Prometheus, webhook: Webhook):
    db = str(observed.db)
    assert (observed.db.parent / "querylog.db").exists(), "the query log is not beside the store"
    # Four distinct fraud names (one of them twice): not yet at risk.
    for name in (*FRAUD_NAMES, FRAUD_NAMES[0]):
        assert dnsclient.rdata(ask(observed.port, name, source=AT_RISK_CLIENT), "A") == ["0.0.0.0"]
    time.sleep(2.5)   # the batch writer (every second) and two at-risk checks (check_seconds = 1)
    assert webhook.events == []
    assert total(scrape(observed.admin_port), "fraudwall_at_risk_clients") == 0
    quiet = run_cli("report", "at-risk", "--db", db)
    assert quiet.returncode == 0 and "no client at risk" in quiet.stdout, quiet

    # The fifth distinct name within the day makes the client one to call back.
    assert dnsclient.rdata(ask(observed.port, FIFTH_FRAUD_NAME, source=AT_RISK_CLIENT), "A") == ["0.0.0.0"]
    wait_for("the webhook's at-risk event", lambda: webhook.events, timeout=10)
    event = webhook.events[0]
    assert webhook.paths == ["/hook"]
    assert event["event"] == "fraudwall.at_risk" and event["client"] == AT_RISK_CLIENT
    assert sorted(event["names"]) == sorted((*FRAUD_NAMES, FIFTH_FRAUD_NAME))
    assert "5 distinct fraud names" in event["trigger"]
    assert {attempt["list"] for attempt in event["attempts"]} == {"demo"}
    wait_for("fraudwall_at_risk_clients == 1 on /metrics",
             lambda: total(scrape(observed.admin_port), "fraudwall_at_risk_clients") == 1, timeout=5)

    # The query log, through the CLI.
    listed = run_cli("log", "--db", db, "--json", "--client", AT_RISK_CLIENT)
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    # In the order asked; a repeat within one write batch may be one row with a count.
    assert list(dict.fromkeys(entry["name"] for entry in entries)) == [*FRAUD_NAMES, FIFTH_FRAUD_NAME]
    asked = {name: sum(entry.get("count", 1) for entry in entries if entry["name"] == name)
             for name in (*FRAUD_NAMES, FIFTH_FRAUD_NAME)}
    assert asked == {**dict.fromkeys((*FRAUD_NAMES, FIFTH_FRAUD_NAME), 1), FRAUD_NAMES[0]: 2}
    for entry in entries:
        assert entry["client"] == AT_RISK_CLIENT and entry["qtype"] == "A"
        assert entry["verdict"] == "blocked" and entry["label"] == "demo"
        assert re.fullmatch(r"listed in demo \(demo-blocklist\.txt:\d+\)", entry["reason"]), entry
    everything = [json.loads(line) for line in run_cli("log", "--db", db, "--json").stdout.splitlines()]
    clients = {entry["client"] for entry in everything}
    assert {AT_RISK_CLIENT, TRAFFIC_CLIENT} <= clients   # the filter above did filter
    scored = [entry for entry in everything if entry["name"] == LOOKALIKE]
    assert scored and {(e["client"], e["verdict"], e["label"]) for e in scored} == {
        (TRAFFIC_CLIENT, "scored", "homoglyph")}

    by_name = run_cli("log", "--db", db, "--json", "--name", "*.example.net")
    assert sorted(json.loads(line)["name"] for line in by_name.stdout.splitlines()) == [
        "apple-id-unlock.example.net", "paypal-verify.example.net"]
    text = run_cli("log", "--db", db, "--client", AT_RISK_CLIENT)
    assert text.returncode == 0 and FIFTH_FRAUD_NAME in text.stdout and "listed in demo" in text.stdout
    wrong = run_cli("log", "--db", db, "--since", "1x")
    assert wrong.returncode != 0
    assert "--since" in wrong.stderr and "'1x'" in wrong.stderr and "Traceback" not in wrong.stderr, wrong.stderr

    # The at-risk report, through the CLI: who, why, and what they tried to reach.
    report = run_cli("report", "at-risk", "--db", db)
    assert report.returncode == 0, report.stderr
    assert f"{AT_RISK_CLIENT}: 5 distinct fraud names blocked within 24 h" in report.stdout
    for name in (*FRAUD_NAMES, FIFTH_FRAUD_NAME):
        assert name in report.stdout
    assert TRAFFIC_CLIENT not in report.stdout   # two fraud names: not at risk
    as_json = [json.loads(line) for line in run_cli("report", "at-risk", "--db", db, "--json").stdout.splitlines()]
    assert [(client["client"], sorted(client["names"])) for client in as_json] == [
        (AT_RISK_CLIENT, sorted((*FRAUD_NAMES, FIFTH_FRAUD_NAME)))]

    # Prometheus sees it too: the AtRiskClients alert of alerts.yml is pending (it fires after 1 minute).
    def at_risk_alert() -> list[dict]:
        return [alert for alert in prometheus.api("alerts")["alerts"]
                if alert["labels"].get("alertname") == "AtRiskClients"]

    alerts = wait_for("the AtRiskClients alert in Prometheus", at_risk_alert, timeout=10)
    assert alerts[0]["state"] in ("pending", "firing") and alerts[0]["labels"]["severity"] == "warning"

    # Still one event: a client is told about once per window, not on every check.
    assert dnsclient.rdata(ask(observed.port, "x." + FIFTH_FRAUD_NAME, source=AT_RISK_CLIENT), "A") == ["0.0.0.0"]
    time.sleep(2.5)
    assert len(webhook.events) == 1


def test_prometheus_reads_the_query_counts(prometheus: Prometheus, traffic: Traffic):
    # What the clients got, first: the counts below are about these answers.
    for reply in traffic.replies["allowed"]:
        assert dnsclient.rdata(reply, "A") == ["192.0.2.10"]
    assert dnsclient.rdata(traffic.replies["blocked"], "A") == ["0.0.0.0"]
    assert dnsclient.rdata(traffic.replies["lookalike"], "A") == ["0.0.0.0"]
    malformed = traffic.replies["malformed"]
    assert malformed is not None and dnsclient.rcode_of(malformed) == dnsclient.FORMERR

    def grown() -> dict[str, tuple[float, float]] | None:
        now = {expression: prometheus.value(expression) or 0.0 for expression in EXPECTED_GROWTH}
        if all(now[e] - traffic.before[e] >= growth for e, growth in EXPECTED_GROWTH.items()):
            return {e: (traffic.before[e], now[e]) for e in EXPECTED_GROWTH}
        return None

    seen = wait_for("every count of the traffic in Prometheus", grown)
    time.sleep(1.2)   # one more scrape: nothing may be counted twice
    for expression, growth in EXPECTED_GROWTH.items():
        before, _ = seen[expression]
        assert (prometheus.value(expression) or 0.0) - before == growth, expression

    # The version the operator runs, as `fraudwall --version` says it.
    version = run_cli("--version").stdout.splitlines()[0].split()[-1]
    build = prometheus.query(f'fraudwall_build_info{{job="{JOB}"}}')
    assert [(labels["version"], value) for labels, value in build] == [(version, 1.0)]
    assert prometheus.value(f'up{{job="{JOB}"}}') == 1


def test_metrics_endpoint_is_a_valid_exposition_without_clients_or_names(observed: Observed, traffic: Traffic):
    text = scrape(observed.admin_port)
    families = list(text_string_to_metric_families(text))   # raises on a malformed exposition
    assert families
    for family in families:
        assert family.documentation.strip(), f"{family.name} has no HELP text"
    # Every metric the operator's documentation promises is exported, with HELP and TYPE lines.
    section = DEPLOY_README.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = sorted(set(re.findall(r"^\| `(fraudwall_[a-z_]+)`", section, re.MULTILINE)))
    assert len(documented) >= 15
    for name in documented:
        if name.startswith(BLOCKLIST_METRIC_PREFIX):
            continue   # not exported yet: test_blocklist_metrics_for_the_stale_alert_are_exported
        assert f"\n# HELP {name} " in "\n" + text, f"{name} (deploy/README.md) has no HELP line on /metrics"
        assert f"\n# TYPE {name} " in "\n" + text, f"{name} (deploy/README.md) has no TYPE line on /metrics"

    # Labels say what kind of query it was, never who asked nor what name: that stays in the query log.
    names = (ALLOWED, PRIMING_NAME, BLOCKED, LOOKALIKE, *FRAUD_NAMES, FIFTH_FRAUD_NAME)
    ip_address = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]*:")
    upstreams = set()
    for family in families:
        for sample in family.samples:
            for key, value in sample.labels.items():
                if key == "upstream":
                    upstreams.add(value)   # the resolver asked, documented: not a client
                    continue
                assert not ip_address.search(value.lower()), f"{sample.name}: {key}={value!r} is an address"
                assert not any(part in value.lower() for name in names for part in (name, name.split(".")[0])), \
                    f"{sample.name}: {key}={value!r} is a queried name"
    assert upstreams == {observed.upstream}
    assert TRAFFIC_CLIENT not in text and AT_RISK_CLIENT not in text
    assert total(text, "fraudwall_queries_total", result="cached") >= 2


def test_blocklist_metrics_for_the_stale_alert_are_exported(observed: Observed):
    text = scrape(observed.admin_port)
    # The demo list has six entries, imported into the fresh store when serve started.
    assert total(text, "fraudwall_blocklist_entries", list="demo") == 6
    stamps = {labels.get("list"): value
              for labels, value in samples(text, "fraudwall_blocklist_last_import_timestamp_seconds")}
    assert "demo" in stamps
    # Just imported: no list may look stale to the alert (a 0 for a list never imported would).
    assert all(0 <= time.time() - value < 3600 for value in stamps.values()), stamps
    fill = total(text, "fraudwall_blocklist_filter_fill_ratio")
    assert 0 < fill < 1
    assert 0 <= total(text, "fraudwall_blocklist_filter_false_positive_ratio") < 0.01


def listening_pids(port: int) -> set[int]:
    """The processes holding a UDP socket bound to 127.0.0.1:`port` (read from /proc, no ss needed)."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    with open("/proc/net/udp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == wanted:
                inodes.add(fields[9])
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(entry.name))
                    break
        except OSError:
            continue
    return pids


def test_two_workers_counts_add_up(nsd: Process, tmp_path: Path):
    admin_port = free_port()
    db = tmp_path / "store" / "blocklists.db"
    # The store exists before the workers start: two workers creating a new store at once race
    # (reported separately: one of them may die with "database is locked").
    imported = run_cli("import", str(DEMO_LIST), "--list", "demo", "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    server = start_fraudwall(tmp_path / "workers", [f"127.0.0.1:{nsd.port}"], "--workers", "2",
                             "--admin", f"127.0.0.1:{admin_port}", "--db", str(db))
    try:
        # The supervisor holds the sockets too (it hands them to the workers it starts).
        wait_for("both workers listening", lambda: len(listening_pids(server.port) - {server.pid}) == 2 or None,
                 timeout=10, every=0.1)
        queries = 60
        # A fresh socket (a fresh source port) each: both workers read the shared socket.
        for index in range(queries):
            reply = ask(server.port, f"n{index}.{FIFTH_FRAUD_NAME}", source="127.0.0.1")
            assert dnsclient.rdata(reply, "A") == ["0.0.0.0"]

        def counted() -> float:
            return total(scrape(admin_port), "fraudwall_queries_total", qtype="A", result="blocked")

        started = time.monotonic()
        wait_for(f"{queries} queries counted on /metrics", lambda: counted() >= queries, timeout=3.5, every=0.1)
        assert time.monotonic() - started < 3.5
        time.sleep(1.2)   # a snapshot later: still exactly what was sent
        assert counted() == queries
        assert total(scrape(admin_port), "fraudwall_blocked_total", list="demo", reason="name") >= queries
    finally:
        try:
            server.terminate(timeout=5)   # SIGTERM: the workers go, and the parent removes the snapshot folder
        except subprocess.TimeoutExpired:
            pass
        server.stop()


def test_a_second_serve_on_a_taken_admin_port_exits_with_a_message(tmp_path: Path):
    admin = f"127.0.0.1:{free_port()}"
    first = start_fraudwall(tmp_path / "first", ["127.0.0.1:9"], "--admin", admin,
                            "--db", str(tmp_path / "first" / "blocklists.db"))
    try:
        code, stderr = serve_expecting_failure(tmp_path / "second", "--listen", f"127.0.0.1:{free_port()}",
                                               "--admin", admin, "--db", str(tmp_path / "second" / "blocklists.db"))
        # An address the operator chose and cannot have is a usage error, as a bad flag is (exit 2).
        assert code == 2
        assert f"--admin {admin}: cannot serve /metrics there" in stderr
    finally:
        first.stop()


def test_recording_rules_and_alerts_are_evaluated(prometheus: Prometheus, traffic: Traffic):
    """Last in the module: the rule group runs every 15 s, so the earlier tests gave it time."""
    groups = prometheus.api("rules")["groups"]
    assert {group["name"] for group in groups} == {"fraudwall.rules", "fraudwall.alerts"}
    wait_for("a first evaluation of every rule group",
             lambda: all(not rule.get("lastEvaluation", "0001").startswith("0001")
                         for group in prometheus.api("rules")["groups"] for rule in group["rules"]), timeout=30)
    for group in prometheus.api("rules")["groups"]:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (group["name"], rule["name"], rule.get("lastError"))

    def recorded() -> bool:
        blocked = prometheus.query(f'fraudwall:queries:rate5m{{job="{JOB}",result="blocked"}}')
        cached = prometheus.query(f'fraudwall:queries:rate5m{{job="{JOB}",result="cached"}}')
        by_list = prometheus.query(f'fraudwall:blocked:rate5m{{job="{JOB}",list="demo",reason="name"}}')
        ratio = prometheus.query(f'fraudwall:cache_hits:ratio_rate5m{{job="{JOB}"}}')
        return all(series and series[0][1] > 0 for series in (blocked, cached, by_list, ratio))

    wait_for("recording rules of alerts.yml with the traffic's rates", recorded, timeout=35, every=0.5)
    ratio = prometheus.value(f'fraudwall:cache_hits:ratio_rate5m{{job="{JOB}"}}')
    assert 0 < ratio <= 1
    servfail = prometheus.value(f'fraudwall:queries_servfail:ratio_rate5m{{job="{JOB}"}}')
    assert servfail == 0   # no query failed: the "or ... * 0" branch of the rule gives 0, not nothing
    # fraudwall is up: FraudwallDown stays quiet.
    assert not [alert for alert in prometheus.api("alerts")["alerts"]
                if alert["labels"].get("alertname") == "FraudwallDown"]
