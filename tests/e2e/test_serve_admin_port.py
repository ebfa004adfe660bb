"""The real `fraudwall serve` with /metrics's port taken: the default port costs a warning and DNS is
answered; a port the operator chose stops it with one line naming --admin."""

import errno
import socket

import pytest
from fraudwall.resolver.config import AdminSettings

from tests.e2e.peers import Process, fraudwall_binary, free_port, serve_expecting_failure, wait_for


@pytest.fixture
def listening():
    """Listen on an address (or find it taken already, which is the same to `serve`)."""
    held = []

    def hold(address: str) -> None:
        host, port = address.rsplit(":", 1)
        holder = socket.socket()
        held.append(holder)
        try:
            holder.bind((host, int(port)))
            holder.listen(1)
        except OSError as error:
            assert error.errno == errno.EADDRINUSE, error

    yield hold
    for holder in held:
        holder.close()


def test_a_taken_default_metrics_port_is_a_warning_and_dns_is_answered(tmp_path, listening):
    default = AdminSettings().listen
    listening(default)
    port = free_port()
    config = tmp_path / "fraudwall.toml"
    config.write_text(f'[server]\nlisten = ["127.0.0.1:{port}"]\nlog_level = "warning"\nshutdown_grace = 1.0\n'
                      f'[upstream]\nservers = ["127.0.0.1:9"]\n'
                      f'[blocklists]\ndb = "{tmp_path / "store" / "blocklists.db"}"\nfiles = ["demo"]\n')
    server = Process("fraudwall", [fraudwall_binary(), "serve", "--config", str(config)], port, tmp_path,
                     "icbc-tuikuan.example.com").start()   # answers the blocked demo name: serving
    try:
        # The banner is written by the worker once it serves: it may come a moment after the first answer.
        wait_for("the worker's banner", lambda: "metrics: off (--admin ADDR:PORT" in server.log())
        assert f"fraudwall: warning: /metrics is off: the default {default} is taken" in server.log()
    finally:
        assert server.terminate() == 0


def test_a_taken_metrics_port_the_operator_chose_stops_serve_naming_admin(tmp_path, listening):
    taken = f"127.0.0.1:{free_port()}"
    listening(taken)
    code, stderr = serve_expecting_failure(tmp_path, "--listen", f"127.0.0.1:{free_port()}", "--admin", taken)
    assert code == 2
    assert stderr.strip().startswith(f"fraudwall: error: --admin {taken}: cannot serve /metrics there:")
    assert len(stderr.strip().splitlines()) == 1, stderr
