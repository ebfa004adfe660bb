"""The supervisor of a real `fraudwall serve`: a killed worker comes back while the others answer, a worker
that keeps dying ends the service with a failure, a second instance cannot take the port, `--user` drops
root, and SIGHUP applies a new config without dropping a query (and keeps the old one when the new is broken).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest

from tests.e2e import dnsclient
from tests.e2e.peers import Process, fraudwall_binary, free_port, serve_expecting_failure, write_fraudwall_config
from tests.e2e.test_observability import DEMO_LIST, run_cli, scrape, total, wait_for

pytestmark = pytest.mark.e2e

BLOCKED = "icbc-tuikuan.example.com"     # in the demo list: answered without an upstream
ALLOWED = "www.example.org"              # 192.0.2.10 at the test NSD
NEW_SINKHOLE = "192.0.2.99"
DEADLINE = 15.0


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, oldest first (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(fields[19]), int(entry.name)))   # field 22, the start time
    return [child for _, child in sorted(found)]


def blocked_address(port: int) -> list[str]:
    """A query from a fresh socket (any worker may read it); raises dns.exception.Timeout when unanswered."""
    reply = dns.query.udp(dnsclient.query(BLOCKED), "127.0.0.1", port=port, timeout=2.0)
    return dnsclient.rdata(reply, "A")


def serve(directory: Path, upstream: int, *flags: str, owner: str = "", **config: object) -> Process:
    """`fraudwall serve` with its own store; with `owner`, the store is made beforehand (the demo list
    imported, as an operator would) and handed to that user."""
    db = directory / "store" / "blocklists.db"
    if owner:
        imported = run_cli("import", str(DEMO_LIST), "--list", "demo", "--db", str(db))
        assert imported.returncode == 0, imported.stderr
        for path in (db.parent, *db.parent.rglob("*")):
            shutil.chown(path, owner)
    path = write_fraudwall_config(directory, [f"127.0.0.1:{upstream}"], **config)  # type: ignore[arg-type]
    port = free_port()
    argv = [fraudwall_binary(), "serve", "--config", str(path), "--listen", f"127.0.0.1:{port}",
            "--listen", f"[::1]:{port}", "--db", str(db), *flags]
    return Process("fraudwall", argv, port, directory, BLOCKED).start()


@pytest.fixture
def servers():
    started: list[Process] = []
    yield started
    for server in started:
        server.stop()


def test_a_killed_worker_is_started_again_while_the_other_answers(nsd, servers, tmp_path):
    admin = free_port()
    server = serve(tmp_path, nsd.port, "--workers", "2", "--admin", f"127.0.0.1:{admin}")
    servers.append(server)
    workers = wait_for("two workers", lambda: len(children(server.pid)) == 2 and children(server.pid), timeout=10)
    first = workers[0]   # worker 0: it serves /metrics too
    os.kill(first, signal.SIGKILL)
    # The other worker reads the same socket: nothing goes unanswered meanwhile.
    assert all(blocked_address(server.port) == ["0.0.0.0"] for _ in range(40))
    replaced = wait_for("a new worker beside the survivor",
                        lambda: len(now := children(server.pid)) == 2 and first not in now and now, timeout=10)
    assert workers[1] in replaced
    assert server.process.poll() is None, server.log()
    assert "worker 0 (pid %d) was killed by signal 9; starting it again in 0.5 s" % first in server.log()
    # The new worker 0 serves /metrics on the same socket, with the restart counted.
    wait_for("the restart on /metrics", lambda: _restarts(admin) == 1, timeout=10)
    assert dnsclient.rdata(dnsclient.tcp(server.port, ALLOWED), "A") == ["192.0.2.10"]
    assert server.terminate() == 0, server.log()


def _restarts(admin: int) -> float | None:
    try:
        return total(scrape(admin), "fraudwall_worker_restarts_total")
    except OSError:
        return None   # worker 0 is starting: the kernel holds the connection, or it is refused


def test_workers_that_keep_dying_end_the_service_with_a_failure(nsd, servers, tmp_path):
    server = serve(tmp_path, nsd.port, "--workers", "2")
    servers.append(server)
    killed: set[int] = set()
    deadline = time.monotonic() + 30
    while server.process.poll() is None:
        assert time.monotonic() < deadline, f"still running after killing {len(killed)} workers:\n{server.log()}"
        for pid in children(server.pid):
            if pid not in killed:
                killed.add(pid)
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)   # a poll interval, not a wait for timing
    assert server.process.returncode == 1, server.log()   # systemd's Restart=on-failure takes over
    assert "giving up" in server.log()
    assert len(killed) == 6                                 # more than five deaths within a minute


def test_a_second_serve_on_the_same_address_fails_and_the_first_answers_everything(nsd, servers, tmp_path):
    first = serve(tmp_path / "first", nsd.port)
    servers.append(first)
    address = f"127.0.0.1:{first.port}"
    # Another store and another sinkhole: any query it answered would show.
    code, message = serve_expecting_failure(tmp_path / "second", "--listen", address, "--db",
                                            str(tmp_path / "second" / "blocklists.db"), "--sinkhole-ipv4", "192.0.2.7")
    assert code == 1
    assert f"cannot listen on {address} (UDP): Address already in use" in message
    assert len(message.strip().splitlines()) == 1, message
    assert [blocked_address(first.port) for _ in range(20)] == [["0.0.0.0"]] * 20


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_started_as_root_with_user_nobody_the_service_runs_as_nobody(nsd, servers):
    # Not under pytest's tmp_path: its parent is root's alone, and nobody must reach the store.
    directory = Path(tempfile.mkdtemp(prefix="fraudwall-user-"))
    try:
        directory.chmod(0o755)
        # The store is made beforehand and given to nobody, as `chown -R fraudwall /var/lib/fraudwall` would:
        # here the interpreter lives in root's home, so nobody could not load the importer's modules.
        server = serve(directory, nsd.port, "--workers", "2", "--user", "nobody", owner="nobody")
        servers.append(server)
        workers = wait_for("two workers", lambda: len(children(server.pid)) == 2 and children(server.pid), timeout=10)
        for pid in (server.pid, *workers):
            uid_line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                            if line.startswith("Uid:"))
            assert uid_line.split()[1:] == ["65534"] * 4, (pid, uid_line)   # real, effective, saved, filesystem
        assert blocked_address(server.port) == ["0.0.0.0"]
        assert dnsclient.rdata(dnsclient.udp(server.port, ALLOWED), "A") == ["192.0.2.10"]
        querylog = directory / "store" / "querylog.db"     # made by the server, as nobody
        assert querylog.stat().st_uid == 65534
        assert querylog.stat().st_mode & 0o027 == 0, oct(querylog.stat().st_mode)
        assert server.terminate() == 0, server.log()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_sighup_with_a_broken_config_keeps_the_old_one_and_says_why(nsd, servers, tmp_path):
    server = serve(tmp_path, nsd.port)
    servers.append(server)
    workers = children(server.pid)
    config = tmp_path / "fraudwall.toml"
    config.write_text(config.read_text().replace('ipv4 = "0.0.0.0"', f'ipv4 = "{NEW_SINKHOLE}.1"'))
    server.signal(signal.SIGHUP)
    server.signalled = False
    wait_for("the reason in the log", lambda: "SIGHUP: keeping the config in force" in server.log(), timeout=5)
    assert f"{config}: [sinkhole] ipv4: '{NEW_SINKHOLE}.1' is not an IPv4 address" in server.log()
    assert [blocked_address(server.port) for _ in range(10)] == [["0.0.0.0"]] * 10
    assert children(server.pid) == workers           # nothing was restarted
    assert server.terminate() == 0, server.log()


def test_sighup_with_a_config_its_new_worker_cannot_start_with_keeps_the_old_one(nsd, servers, tmp_path):
    server = serve(tmp_path, nsd.port)
    servers.append(server)
    workers = children(server.pid)
    config = tmp_path / "fraudwall.toml"
    # It loads, but the new worker cannot open its query log there: it exits before it serves.
    config.write_text(config.read_text().replace('ipv4 = "0.0.0.0"', f'ipv4 = "{NEW_SINKHOLE}"')
                      + '\n[querylog]\npath = "/proc/fraudwall-nowhere/querylog.db"\n')
    server.signal(signal.SIGHUP)
    server.signalled = False
    wait_for("the way back in the log", lambda: "going back to the config in force" in server.log(), timeout=10)
    assert "cannot open the query log /proc/fraudwall-nowhere/querylog.db" in server.log()
    assert [blocked_address(server.port) for _ in range(10)] == [["0.0.0.0"]] * 10
    assert children(server.pid) == workers
    assert server.process.poll() is None
    assert server.terminate() == 0, server.log()


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_applies_a_new_config_without_dropping_a_query(workers, nsd, servers, tmp_path):
    server = serve(tmp_path, nsd.port, "--workers", str(workers))
    servers.append(server)
    old = wait_for("the workers", lambda: len(children(server.pid)) == workers and children(server.pid), timeout=10)
    config = tmp_path / "fraudwall.toml"
    config.write_text(config.read_text().replace('ipv4 = "0.0.0.0"', f'ipv4 = "{NEW_SINKHOLE}"'))
    answers: list[str] = []
    unanswered = 0
    deadline = time.monotonic() + DEADLINE
    server.signal(signal.SIGHUP)
    server.signalled = False
    # Queries one after another, each waited for, until the new workers alone answer (bounded in time).
    while time.monotonic() < deadline:
        try:
            answers += blocked_address(server.port)
        except dns.exception.Timeout:
            unanswered += 1
        if len(answers) % 20 == 0 and answers[-20:] == [NEW_SINKHOLE] * 20:
            current = children(server.pid)
            if not set(old) & set(current) and len(current) == workers:
                break
    assert unanswered == 0, f"{unanswered} queries unanswered during the reload:\n{server.log()}"
    assert answers[-20:] == [NEW_SINKHOLE] * 20, f"the new sinkhole never answered:\n{server.log()}"
    assert set(answers) <= {"0.0.0.0", NEW_SINKHOLE}
    assert server.process.poll() is None
    assert server.terminate() == 0, server.log()
