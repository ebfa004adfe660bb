"""Shared by every test folder: what to do when a real peer (nsd, unbound, ...) is not installed."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings

# In CI the property tests draw the same examples every run, so a run fails for a change, not for
# a new random draw; a developer's runs keep drawing new ones and find what CI would not.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# `make serve` keeps its state in the checkout through this variable; a developer who exported it
# must not have the tests' own stores land there (or the default-path tests see another store).
os.environ.pop("FRAUDWALL_STATE_DIR", None)

# The Debian package that ships each peer binary (the Makefile's TEST_DEBS).
PACKAGES = {
    "nsd": "nsd",
    "unbound": "unbound",
    "named": "bind9",
    "dnsperf": "dnsperf",
    "kdig": "knot-dnsutils",
    "dig": "bind9-dnsutils",
    "dnsmasq": "dnsmasq-base",
}


def peers_required() -> bool:
    """CI sets FRAUDWALL_REQUIRE_PEERS=1: there a missing peer is a failure, not a skip."""
    return os.environ.get("FRAUDWALL_REQUIRE_PEERS", "") == "1"


def require_binary(name: str) -> str:
    """The path of `name`; skips the test (fails it under FRAUDWALL_REQUIRE_PEERS=1) when absent."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    message = f"{name} is not installed: apt-get install {package} (or run `make test` as root)"
    if peers_required():
        pytest.fail(f"{message}; FRAUDWALL_REQUIRE_PEERS=1 makes a missing peer a failure", pytrace=False)
    pytest.skip(message)


@pytest.fixture(name="require_binary", scope="session")
def require_binary_fixture():
    """`require_binary("nsd")` inside a test or fixture: the binary's path, or a skip naming the package."""
    return require_binary
