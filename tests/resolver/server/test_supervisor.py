"""The supervisor's decisions, fed exits and a clock: restarts with back-off, giving up, reloads one slot at a
time; the config a SIGHUP reads; the checks before --user switches."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from fraudwall.resolver.config import Config, ConfigError, UpstreamSettings
from fraudwall.resolver.server.privileges import become, check_can_become
from fraudwall.resolver.server.worker import reread_config
from fraudwall.resolver.server.supervisor import Exit, Kill, Start, Stop, Supervisor

KILLED = -signal.SIGKILL


class Pids:
    """Plays the shell: carries out Start with a new pid each time, and keeps the other actions."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.next_pid = 100
        self.now = 0.0

    def act(self) -> list:
        done = []
        for action in self.supervisor.actions(self.now):
            if isinstance(action, Start):
                self.next_pid += 1
                self.supervisor.started(action.slot, action.generation, self.next_pid, self.now)
                done.append(("start", action.slot, action.generation, self.next_pid))
            else:
                done.append(action)
        return done

    def serve(self, *pids: int) -> None:
        for pid in pids:
            self.supervisor.ready(pid, self.now)


def started(supervisor_workers: int = 2) -> tuple[Supervisor, Pids]:
    supervisor = Supervisor(supervisor_workers)
    shell = Pids(supervisor)
    assert shell.act() == [("start", slot, 0, 101 + slot) for slot in range(supervisor_workers)]
    shell.serve(*range(101, 101 + supervisor_workers))
    return supervisor, shell


def test_a_killed_worker_is_started_again_after_a_back_off_that_doubles():
    supervisor, shell = started()
    assert "killed by signal 9" in supervisor.exited(102, KILLED, shell.now)
    assert shell.act() == []                       # not at once: a crash loop must not spin
    assert supervisor.wake_at() == 0.5
    shell.now = 0.5
    assert shell.act() == [("start", 1, 0, 103)]
    assert supervisor.restarts == 1
    shell.serve(103)
    shell.now = 1.0
    supervisor.exited(103, KILLED, shell.now)
    assert supervisor.wake_at() == 2.0             # 1 s: doubled
    shell.now = 2.0
    assert shell.act() == [("start", 1, 0, 104)]
    assert supervisor.restarts == 2


def test_the_back_off_stops_at_thirty_seconds_and_resets_after_a_minute_of_service():
    supervisor = Supervisor(1)
    shell = Pids(supervisor)
    shell.act()
    delays = []
    for _ in range(8):
        shell.serve(shell.next_pid)
        shell.now += 40.0                           # apart enough never to give up, too short to reset
        supervisor.exited(shell.next_pid, KILLED, shell.now)
        delays.append(supervisor.wake_at() - shell.now)
        shell.now = supervisor.wake_at()
        shell.act()
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30]
    shell.serve(shell.next_pid)
    shell.now += 61.0                               # it served a minute: the next death starts over
    supervisor.exited(shell.next_pid, KILLED, shell.now)
    assert supervisor.wake_at() - shell.now == 0.5


def test_the_other_workers_keep_serving_while_one_is_restarted():
    supervisor, shell = started(3)
    supervisor.exited(102, KILLED, shell.now)
    assert not any(isinstance(action, Stop) for action in shell.act())
    assert set(supervisor.workers) == {101, 103}


def test_more_than_five_deaths_within_a_minute_and_it_gives_up_with_exit_1():
    supervisor, shell = started()
    for round_ in range(3):
        message = ""
        for pid in list(supervisor.workers):
            message = supervisor.exited(pid, KILLED, shell.now)
        if round_ < 2:
            shell.now = supervisor.wake_at()
            shell.act()
            shell.serve(*supervisor.workers)
    assert "6 deaths within 60 s: giving up" in message
    assert shell.act() == [Exit(1, "6 workers died within 60 s")]


def test_giving_up_stops_the_survivors_first_and_exits_once_they_are_gone():
    supervisor, shell = started(2)
    pid = 102
    for _ in range(5):
        supervisor.exited(pid, KILLED, shell.now)    # slot 1 dies as soon as it serves ...
        shell.now = supervisor.wake_at()
        [(_, _, _, pid)] = shell.act()
        shell.serve(pid)
    assert "giving up" in supervisor.exited(pid, KILLED, shell.now)   # ... the sixth time is too many
    assert shell.now == 15.5                         # 0.5 + 1 + 2 + 4 + 8: within the minute
    assert shell.act() == [Stop(101)]
    supervisor.exited(101, 0, shell.now)
    assert shell.act() == [Exit(1, "6 workers died within 60 s")]


def test_deaths_spread_over_more_than_a_minute_never_give_up():
    supervisor = Supervisor(1)
    shell = Pids(supervisor)
    shell.act()
    for _ in range(20):
        shell.serve(shell.next_pid)
        shell.now += 13.0
        supervisor.exited(shell.next_pid, KILLED, shell.now)
        shell.now = supervisor.wake_at()
        assert not any(isinstance(action, Exit) for action in shell.act())


def test_a_worker_that_fails_at_start_up_ends_the_service_with_exit_1():
    supervisor = Supervisor(2)
    shell = Pids(supervisor)
    shell.act()
    shell.serve(102)
    assert "exited with code 1 before it served; giving up" in supervisor.exited(101, 1, shell.now)
    assert shell.act() == [Stop(102)]
    supervisor.exited(102, 0, shell.now)
    assert shell.act() == [Exit(1, "worker 0 could not start")]


def test_a_worker_that_exits_with_1_after_it_served_is_restarted():
    supervisor, shell = started(1)
    supervisor.exited(101, 1, shell.now)   # an uncaught error while serving: a crash, not a bad config
    shell.now = supervisor.wake_at()
    assert shell.act() == [("start", 0, 0, 102)]


def test_stop_asks_every_worker_once_and_exits_0_when_the_last_is_gone():
    supervisor, shell = started(2)
    supervisor.stop()
    assert shell.act() == [Stop(101), Stop(102)]
    assert shell.act() == []
    assert "exited with code 0" in supervisor.exited(101, 0, shell.now)
    assert shell.act() == []
    supervisor.exited(102, -signal.SIGKILL, shell.now)     # whatever the last one did
    assert shell.act() == [Exit(0, "stopped")]
    assert shell.act() == []


def test_a_worker_dying_while_stopping_is_not_restarted():
    supervisor, shell = started(2)
    supervisor.exited(102, KILLED, shell.now)
    supervisor.stop()
    shell.now = 10.0
    assert shell.act() == [Stop(101)]
    assert supervisor.wake_at() == 23.0            # no restart: only the deadline for 101 to be gone


def test_a_worker_that_does_not_stop_within_its_grace_and_ten_seconds_is_killed():
    supervisor = Supervisor(2, grace=3.0)
    shell = Pids(supervisor)
    shell.act()
    shell.serve(101, 102)
    supervisor.stop()
    assert shell.act() == [Stop(101), Stop(102)]
    supervisor.exited(101, 0, shell.now)
    shell.now = 12.9
    assert shell.act() == []
    assert supervisor.wake_at() == 13.0
    shell.now = 13.0
    assert shell.act() == [Kill(102)]              # hung: it would keep the supervisor (and systemd) waiting
    assert shell.act() == [] and supervisor.wake_at() is None
    supervisor.exited(102, KILLED, shell.now)
    assert shell.act() == [Exit(0, "stopped")]


def test_an_old_worker_that_hangs_after_a_reload_is_killed_too():
    supervisor, shell = started(1)
    supervisor.reload(1)
    shell.act()
    supervisor.ready(102, shell.now)
    assert shell.act() == [Stop(101)]
    shell.now = 13.0
    assert shell.act() == [Kill(101)]
    assert supervisor.exited(101, KILLED, shell.now) == "worker 0 (pid 101) was killed by signal 9"
    assert supervisor.restarts == 0 and set(supervisor.workers) == {102}


def test_a_reload_starts_each_successor_beside_its_old_worker_one_slot_at_a_time():
    supervisor, shell = started(2)
    supervisor.reload(1)
    assert shell.act() == [("start", 0, 1, 103)]
    assert shell.act() == []                       # slot 1 waits until slot 0's successor serves
    assert "stopping pid 101" in supervisor.ready(103, shell.now)
    assert shell.act() == [Stop(101), ("start", 1, 1, 104)]
    supervisor.exited(101, 0, shell.now)           # asked to: not a death
    supervisor.ready(104, shell.now)
    assert shell.act() == [Stop(102)]
    supervisor.exited(102, 0, shell.now)
    assert shell.act() == [] and supervisor.restarts == 0
    assert {worker.generation for worker in supervisor.workers.values()} == {1}


def test_with_one_worker_the_old_one_serves_until_its_successor_does():
    supervisor, shell = started(1)
    supervisor.reload(1)
    assert shell.act() == [("start", 0, 1, 102)]
    assert set(supervisor.workers) == {101, 102}
    supervisor.ready(102, shell.now)
    assert shell.act() == [Stop(101)]


def test_a_new_config_that_fails_at_start_up_is_abandoned_and_the_old_workers_stay():
    supervisor, shell = started(2)
    supervisor.reload(1)
    shell.act()
    message = supervisor.exited(103, 1, shell.now)
    assert "going back to the config in force (generation 0)" in message
    assert shell.act() == [] and set(supervisor.workers) == {101, 102}
    assert supervisor.target == 0 and supervisor.generations() == {0}
    supervisor.reload(2)                           # a fixed config is taken as usual
    assert shell.act() == [("start", 0, 2, 104)]


def test_a_reload_during_a_reload_replaces_the_workers_with_the_newest_config():
    supervisor, shell = started(2)
    supervisor.reload(1)
    shell.act()
    supervisor.ready(103, shell.now)
    supervisor.reload(2)
    assert shell.act() == [Stop(101), ("start", 0, 2, 104)]   # slot 0 runs generation 1: replaced again
    supervisor.ready(104, shell.now)
    assert shell.act() == [Stop(103), ("start", 1, 2, 105)]
    supervisor.ready(105, shell.now)
    assert shell.act() == [Stop(102)]
    assert supervisor.generations() == {2}


def test_a_slot_restarted_after_a_crash_during_a_reload_gets_the_new_config():
    supervisor, shell = started(2)
    supervisor.exited(102, KILLED, shell.now)
    supervisor.reload(1)
    actions = shell.act()
    assert actions == [("start", 0, 1, 103)]
    shell.now = supervisor.wake_at()
    assert shell.act() == [("start", 1, 1, 104)]


def test_a_fork_that_fails_is_tried_again_after_a_back_off():
    supervisor = Supervisor(1)
    shell = Pids(supervisor)
    [start] = supervisor.actions(0.0)
    assert "could not be started; starting it again in 0.5 s" in supervisor.not_started(start.slot, 0.0)
    assert supervisor.actions(0.1) == []
    assert supervisor.actions(0.5) == [Start(0, 0)]
    assert shell  # the shell is unused: the fork never happened


# ---- SIGHUP: the config read again (`service.reread_config`)

RUNNING = Config(upstream=UpstreamSettings(servers=("192.0.2.53",)))


def test_a_reload_takes_the_new_config_but_keeps_the_addresses_bound_at_start(caplog):
    changed = RUNNING.replace("server", listen=("127.0.0.1:5301",)).replace("sinkhole", ipv4="192.0.2.99")
    config, upstreams = reread_config(lambda: changed, RUNNING)
    assert config.sinkhole.ipv4 == "192.0.2.99"
    assert config.server.listen == RUNNING.server.listen
    assert [str(upstream) for upstream in upstreams] == ["192.0.2.53:53"]
    assert "SIGHUP: [server] listen changed: it takes effect when fraudwall is restarted" in caplog.text


def test_a_reload_with_a_broken_config_keeps_the_one_in_force_and_says_why(caplog):
    def broken() -> Config:
        raise ConfigError("fraudwall.toml: [cache] size: must be an integer, not 'x'")

    assert reread_config(broken, RUNNING) is None
    assert "SIGHUP: keeping the config in force: fraudwall.toml: [cache] size: must be an integer" in caplog.text


def test_a_reload_whose_upstream_is_fraudwall_itself_is_broken_too(caplog):
    looping = RUNNING.replace("upstream", servers=("127.0.0.1:5300",))
    assert reread_config(lambda: looping, RUNNING) is None
    assert "queries would loop" in caplog.text


# ---- --user (`privileges.py`)

def test_only_root_may_switch_to_another_user(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ConfigError, match=r"\[server\] user: only root can switch to 'nobody' \(running as uid 1000\)"):
        check_can_become("nobody")
    check_can_become("")   # no user: nothing to check


def test_becoming_the_user_one_already_is_does_nothing(monkeypatch):
    nobody = pwd.getpwnam("nobody").pw_uid
    monkeypatch.setattr(os, "geteuid", lambda: nobody)
    for call in ("setuid", "setgid", "setgroups"):
        monkeypatch.setattr(os, call, lambda *args, call=call: pytest.fail(f"{call} called"))
    check_can_become("nobody")
    become("nobody")   # systemd's User=nobody: its filter would refuse the set*id calls


def test_a_user_who_could_not_read_the_code_it_would_run_is_refused_before_anything_starts(monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("only root can switch to [server] user")
    closed = Path(tempfile.mkdtemp(prefix="fraudwall-closed-", dir="/tmp"))   # /tmp: open to everyone
    try:
        (closed / "lib").mkdir()
        closed.chmod(0o700)
        monkeypatch.setattr("fraudwall.resolver.server.privileges.running_from",
                            lambda: (("the installed packages", str(closed / "lib")),))
        with pytest.raises(ConfigError, match=rf"\[server\] user: 'nobody' cannot reach the installed packages "
                                              rf"\({closed / 'lib'}\): {closed} is closed to it"):
            check_can_become("nobody", starts_python=True)
        check_can_become("nobody")   # only forked workers, with what is loaded already: nothing to read anew
        closed.chmod(0o755)
        check_can_become("nobody", starts_python=True)
    finally:
        shutil.rmtree(closed)
