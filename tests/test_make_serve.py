"""`make serve` from a checkout keeps everything it writes in the checkout's .state/, even as root:
the production config's /var/lib/fraudwall is never touched by a demo."""

import shutil
import subprocess
from pathlib import Path

import pytest
from fraudwall.blocklists.store import default_db_path
from fraudwall.resolver.observe.querylog import log_path
from fraudwall.resolver.warning.certificates import default_ca_dir
from fraudwall.resolver.warning.reports import reports_path

CHECKOUT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_runs_serve_with_the_checkouts_state_directory():
    dry_run = subprocess.run(["make", "-n", "-C", str(CHECKOUT), "serve"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    assert f"FRAUDWALL_STATE_DIR={CHECKOUT}/.state " in dry_run
    assert ".state/" in (CHECKOUT / ".gitignore").read_text().splitlines()


def test_the_state_directory_moves_the_store_log_reports_and_ca_even_for_root(monkeypatch, tmp_path):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setenv("FRAUDWALL_STATE_DIR", str(tmp_path / ".state"))
    state = tmp_path / ".state"
    assert default_db_path() == state / "blocklists.db"
    assert log_path("", "") == state / "querylog.db"
    assert reports_path("").parent == state
    assert default_ca_dir() == state / "ca"


def test_without_it_root_keeps_the_system_path(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.delenv("FRAUDWALL_STATE_DIR", raising=False)
    assert str(default_db_path()) == "/var/lib/fraudwall/blocklists.db"
