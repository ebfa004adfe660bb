"""Fixtures shared by the server tests."""

from __future__ import annotations

import pytest

from fraudwall.resolver.server import udp
from fraudwall.resolver.server.datagrams import datagrams_for


@pytest.fixture(params=["batched", "plain"])
def datagram_io(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a UDP test over both ways of moving datagrams: recvmmsg/sendmmsg, and one call a datagram
    (what a system without them gets)."""
    if request.param == "plain":
        monkeypatch.setattr(udp, "datagrams_for", lambda sock, batched=True: datagrams_for(sock, False))
    return request.param
