"""Fixtures: one NSD and one fraudwall per test module, and factories for tests that need their own."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.e2e.peers import Process, start_fraudwall, start_nsd


@pytest.fixture(scope="session")
def nsd_binary(require_binary) -> str:
    return require_binary("nsd")


@pytest.fixture(scope="module")
def nsd(nsd_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """The authoritative server for example.org, shared by the tests of a module."""
    server = start_nsd(nsd_binary, tmp_path_factory.mktemp("nsd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fraudwall(nsd: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """`fraudwall serve` forwarding to the module's NSD, listening on 127.0.0.1 and ::1."""
    server = start_fraudwall(tmp_path_factory.mktemp("fraudwall"), [f"127.0.0.1:{nsd.port}"])
    yield server
    server.stop()


@pytest.fixture
def start_own_nsd(nsd_binary: str, tmp_path: Path) -> Iterator[Callable[[], Process]]:
    """Start an NSD that only this test uses (and may stop)."""
    started: list[Process] = []

    def start() -> Process:
        server = start_nsd(nsd_binary, tmp_path / f"nsd{len(started)}")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_own_fraudwall(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start a fraudwall that only this test uses: `start(upstreams, *flags, **config)`."""
    started: list[Process] = []

    def start(upstreams: list[str], *flags: str, **config: object) -> Process:
        server = start_fraudwall(tmp_path / f"fraudwall{len(started)}", upstreams, *flags, **config)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
