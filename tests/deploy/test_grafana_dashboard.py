"""The Grafana dashboard: valid, laid out, and asking only for metrics fraudwall exports."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.conftest import DEPLOY, need_yaml

DASHBOARD = DEPLOY / "grafana" / "fraudwall-dashboard.json"

# The metrics fraudwall exports (deploy/README.md, "Metrics"): name -> kind.
METRICS = {
    "fraudwall_queries_total": "counter",
    "fraudwall_blocked_total": "counter",
    "fraudwall_warned_total": "counter",
    "fraudwall_scorer_verdicts_total": "counter",
    "fraudwall_query_duration_seconds": "histogram",
    "fraudwall_upstream_requests_total": "counter",
    "fraudwall_upstream_duration_seconds": "histogram",
    "fraudwall_cache_hits_total": "counter",
    "fraudwall_cache_misses_total": "counter",
    "fraudwall_cache_entries": "gauge",
    "fraudwall_cache_stale_answers_total": "counter",
    "fraudwall_upstream_overload_total": "counter",
    "fraudwall_blocklist_entries": "gauge",
    "fraudwall_blocklist_filter_fill_ratio": "gauge",
    "fraudwall_blocklist_filter_false_positive_ratio": "gauge",
    "fraudwall_blocklist_last_import_timestamp_seconds": "gauge",
    "fraudwall_blocklist_generation": "gauge",
    "fraudwall_warning_page_views_total": "counter",
    "fraudwall_warning_reports_total": "counter",
    "fraudwall_at_risk_clients": "gauge",
    "fraudwall_build_info": "gauge",
    "fraudwall_worker_restarts_total": "counter",
    "fraudwall_ratelimit_limited_total": "counter",
    "fraudwall_ratelimit_clients": "gauge",
    "fraudwall_proxy_refused_total": "counter",
    "fraudwall_newly_observed_total": "counter",
    "fraudwall_xfr_secondary_transfers_total": "counter",
    "fraudwall_xfr_transfers_total": "counter",
    "fraudwall_xfr_notifies_total": "counter",
}
SERIES = {name for name, kind in METRICS.items() if kind != "histogram"} | {
    f"{name}{suffix}" for name, kind in METRICS.items() if kind == "histogram" for suffix in ("_bucket", "_sum", "_count")}
PROMETHEUS_OWN = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless",
            "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric and recording-rule names in a PromQL expression (not functions, labels, keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)                        # strings
    text = re.sub(r"\{[^}]*\}", "", text)                                    # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                                   # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w:$.])[A-Za-z_:][\w:]*", text):
        after = text[match.end():].lstrip()
        if after.startswith("(") or match.group().lower() in KEYWORDS:
            continue                                                         # a function or aggregation
        names.add(match.group())
    return names


def recording_rules() -> dict[str, str]:
    yaml = need_yaml()
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return {rule["record"]: rule["expr"] for group in groups for rule in group["rules"] if "record" in rule}


@pytest.fixture(name="dashboard", scope="module")
def dashboard_fixture() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))          # collapsed rows hold their panels
    return found


def targets(dashboard: dict) -> list[tuple[str, dict]]:
    return [(panel["title"], target) for panel in panels(dashboard) for target in panel.get("targets", [])]


def test_metric_name_extraction():
    assert metric_names('sum by (result) (rate(fraudwall_queries_total{instance=~"$i", result="blocked"}[$__rate_interval]))') \
        == {"fraudwall_queries_total"}
    assert metric_names("fraudwall:blocked:rate10m > 3 * (fraudwall:blocked:rate10m offset 1h) and up == 0") \
        == {"fraudwall:blocked:rate10m", "up"}
    assert metric_names("histogram_quantile(0.9, sum by (upstream, le) (x_bucket))") == {"x_bucket"}


def test_dashboard_is_importable(dashboard):
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"]
    assert dashboard.get("id") is None                 # an id would clash with an existing dashboard on import
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"


def test_every_panel_and_query_uses_the_datasource_variable(dashboard):
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_panel_ids_are_unique_and_panels_do_not_overlap(dashboard):
    all_panels = panels(dashboard)
    ids = [panel["id"] for panel in all_panels]
    assert len(ids) == len(set(ids))
    boxes = []
    for panel in all_panels:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        box = (grid["x"], grid["y"], grid["x"] + grid["w"], grid["y"] + grid["h"])
        for other_title, other in boxes:
            overlap = box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
            assert not overlap, f"{panel['title']!r} overlaps {other_title!r}"
        boxes.append((panel["title"], box))


def test_queries_use_only_exported_metrics_and_recorded_rules(dashboard):
    known = SERIES | PROMETHEUS_OWN | set(recording_rules())
    for title, target in targets(dashboard):
        unknown = metric_names(target["expr"]) - known
        assert not unknown, f"panel {title!r} asks for {sorted(unknown)}, which fraudwall does not export"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["definition"]).group(1)
            assert not metric_names(selector) - known, variable["name"]


def test_recording_rules_use_only_exported_metrics():
    rules = recording_rules()
    for name, expr in rules.items():
        assert not metric_names(expr) - SERIES - set(rules), name


def test_every_exported_metric_is_on_a_panel(dashboard):
    """Each metric fraudwall exports shows up somewhere, directly or through a recording rule."""
    rules = recording_rules()
    used: set[str] = set()
    pending = [name for _, target in targets(dashboard) for name in metric_names(target["expr"])]
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending.extend(metric_names(rules.get(name, "")))
    for name, kind in METRICS.items():
        wanted = f"{name}_bucket" if kind == "histogram" else name
        assert wanted in used, f"no panel shows {name}"


@pytest.mark.parametrize("title, words", [
    ("Queries per second by result", ["result"]),
    ("Blocked by list", ["list"]),
    ("Blocked by reason", ["reason"]),
    ("Top blocked reasons and lists", ["topk"]),
    ("Scorer verdicts by rule", ["verdict", "rule"]),
    ("Warned by policy and list", ["fraudwall_warned_total", "policy"]),
    ("Blocked by policy", ["fraudwall_blocked_total", "policy"]),
    ("Query latency", ["0.5", "0.9", "0.99", "histogram_quantile"]),
    ("Cache hit ratio", ["cache_hits"]),
    ("Cache entries", ["fraudwall_cache_entries"]),
    ("Upstream tries by outcome", ["outcome"]),
    ("Upstream latency p90", ["0.9", "fraudwall_upstream_duration_seconds_bucket"]),
    ("Entries per list", ["fraudwall_blocklist_entries", "fraudwall_blocklist_generation"]),
    ("Seconds since last import", ["time()", "fraudwall_blocklist_last_import_timestamp_seconds"]),
    ("Warning page views", ["lang", "scheme"]),
    ("Mistake reports", ["fraudwall_warning_reports_total"]),
    ("At-risk clients", ["fraudwall_at_risk_clients"]),
])
def test_the_panels_an_operator_looks_for(dashboard, title, words):
    matching = [panel for panel in panels(dashboard) if panel["title"] == title]
    assert matching, f"no panel titled {title!r}"
    exprs = " ".join(target["expr"] for panel in matching for target in panel["targets"])
    for word in words:
        assert word in exprs, f"{title!r}: {word!r} not in {exprs}"


def test_panels_named_in_alerts_exist(dashboard):
    """The alerts send operators to dashboard panels by title: those titles must be there."""
    titles = {panel["title"] for panel in panels(dashboard)}
    text = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    quoted = re.findall(r'dashboard\'s ("[^"]+"(?:\s+and\s+"[^"]+")*)', re.sub(r"\s+", " ", text))
    named = {name for group in quoted for name in re.findall(r'"([^"]+)"', group)}
    assert named, "the alerts name no panel"
    assert named <= titles, named - titles


def test_provisioning_loads_this_dashboard_from_prometheus():
    yaml = need_yaml()
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"].startswith("http")
    provider = yaml.safe_load((provisioning / "dashboards" / "fraudwall.yml").read_text())["providers"][0]
    assert provider["type"] == "file"
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    mounts = [volume.split(":") for volume in compose["services"]["grafana"]["volumes"]]
    dashboard_mount = next(target for source, target, *_ in mounts if source.endswith("fraudwall-dashboard.json"))
    assert dashboard_mount.startswith(provider["options"]["path"] + "/")
    assert ["./grafana/provisioning/datasources", "/etc/grafana/provisioning/datasources", "ro"] in mounts
    assert ["./grafana/provisioning/dashboards", "/etc/grafana/provisioning/dashboards", "ro"] in mounts


def test_readme_lists_exactly_these_metrics():
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`(fraudwall_[a-z_]+)`", section)) == set(METRICS)


def test_metrics_the_resolver_defines_are_documented():
    """A metric added to the resolver must be added to the README's list (and to the dashboard)."""
    from fraudwall.resolver.observe.metrics import SPECS
    for spec in SPECS:
        name = f"{spec.name}_total" if spec.kind == "counter" else spec.name
        assert name in METRICS, f"{name} is exported by fraudwall but not in deploy/README.md's Metrics"
        assert METRICS[name] == spec.kind, name
