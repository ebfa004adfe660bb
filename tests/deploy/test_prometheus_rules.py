"""The scrape config, the rules and the alerts' unit tests, checked by promtool itself."""

from __future__ import annotations

import subprocess

import pytest

from fraudwall.resolver.config import AdminSettings
from tests.deploy.conftest import DEPLOY, need, need_yaml

PROMETHEUS = DEPLOY / "prometheus"
ALERTS = ("FraudwallDown", "UpstreamDown", "HighServfailRatio", "BlocklistStale", "BlockRateSpike",
          "AtRiskClients", "SlowQueries")


@pytest.fixture(name="promtool", scope="module")
def promtool_fixture() -> str:
    return need("promtool", "prometheus")


def promtool_run(promtool: str, *args: str, cwd=PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_scrape_config_is_valid(promtool):
    result = promtool_run(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_rules_are_valid(promtool):
    result = promtool_run(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass(promtool):
    result = promtool_run(promtool, "test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("change, alert", [
    ("> 0.05\n", "HighServfailRatio"),   # threshold raised: the 9 % case no longer fires
    ("> 0.2\n", "BlockRateSpike"),       # floor raised past the spike
])
def test_alert_unit_tests_catch_a_broken_alert(promtool, tmp_path, change, alert):
    """The unit tests are not vacuous: a rule that no longer fires where it should fails them."""
    yaml = need_yaml()
    rules = (PROMETHEUS / "alerts.yml").read_text()
    assert rules.count(change) == 1
    (tmp_path / "alerts.yml").write_text(rules.replace(change, "> 100\n"))
    # only this alert's cases, to keep the test fast
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    tests["tests"] = [case for case in tests["tests"]
                      if any(check["alertname"] == alert for check in case.get("alert_rule_test", []))]
    assert tests["tests"]
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(tests))
    result = promtool_run(promtool, "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert f"alertname: {alert}" in result.stdout + result.stderr


def test_scrape_config_targets_the_admin_listener():
    yaml = need_yaml()
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["alerts.yml"]
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "fraudwall")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job.get("scrape_interval", "15s") == "15s"
    # fraudwall's own default admin address, not CoreDNS's 9153
    assert [AdminSettings().listen] in [group["targets"] for group in job["static_configs"]]


def test_every_alert_is_actionable_and_tested():
    """Each alert: for, severity, summary and description; a firing case and a quiet case in the unit tests."""
    yaml = need_yaml()
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    alerts = {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}
    assert sorted(alerts) == sorted(ALERTS)
    for name, rule in alerts.items():
        assert rule.get("for"), f"{name} has no for:"
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert len(rule["annotations"]["summary"]) > 10, name
        assert len(rule["annotations"]["description"]) > 80, name

    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired, quiet = set(), set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
            for expected in check["exp_alerts"]:
                assert expected["exp_labels"]["severity"] == alerts[check["alertname"]]["labels"]["severity"]
    assert fired == set(ALERTS), f"alerts never shown firing: {set(ALERTS) - fired}"
    assert quiet == set(ALERTS), f"alerts never shown quiet: {set(ALERTS) - quiet}"
