"""Shared by the deploy tests: where the files are, and the tools that check them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import peers_required, require_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def need(binary: str, package: str) -> str:
    """`binary`'s path; else a skip (a failure under FRAUDWALL_REQUIRE_PEERS=1) naming its Debian package.

    tests/conftest.py's require_binary names the package from its own table, which does not
    know these tools, so the message is made here when the binary is missing.
    """
    if shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin:/usr/local/sbin"):
        return require_binary(binary)
    message = f"{binary} is not installed: apt-get install {package} (or run `make test` as root)"
    if peers_required():
        pytest.fail(f"{message}; FRAUDWALL_REQUIRE_PEERS=1 makes a missing peer a failure", pytrace=False)
    pytest.skip(message)


def need_yaml():
    """PyYAML, a test-only dependency of these tests."""
    try:
        import yaml
    except ImportError:
        message = "PyYAML is not installed: .venv/bin/pip install pyyaml"
        if peers_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return yaml


@pytest.fixture(name="deploy")
def deploy_fixture() -> Path:
    return DEPLOY
