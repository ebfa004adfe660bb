"""The supervisor's shell: forks the workers, reaps them, and turns signals into events for `Supervisor`.

The listening sockets are bound before any worker is forked (`listeners.py`) and stay open here, so a
worker started again inherits the same ones. The shell waits in one `select` on a pipe that the
signals write to (`signal.set_wakeup_fd`) and on a pipe per starting worker, on which the worker says
that it serves.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Callable, Generic, TypeVar

from fraudwall.resolver.observe.metrics import SnapshotFolder
from fraudwall.resolver.server.supervisor import Exit, Kill, Start, Stop, Supervisor

log = logging.getLogger("fraudwall")

Settings = TypeVar("Settings")
READY = b"\x01"
CRASHED = 1     # a worker's exit code when an error escaped it


class WorkerProcesses(Generic[Settings]):
    """`workers` forked processes running `run_worker(slot, settings, ready)`, kept running until SIGTERM.

    `reread()` is called on SIGHUP: new settings, or None when they cannot be had (it says why); the
    workers are then replaced one slot at a time. A worker asked to stop has `grace` seconds (and a
    margin) before SIGKILL. `announce()` runs once, when the first worker serves.
    """

    def __init__(self, workers: int, settings: Settings,
                 run_worker: Callable[[int, Settings, Callable[[], None]], int],
                 reread: Callable[[], Settings | None], snapshots: SnapshotFolder, grace: float = 3.0,
                 announce: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.monotonic,
                 tick: Callable[[], float | None] = lambda: None,
                 fork_guard: AbstractContextManager = nullcontext()) -> None:
        self.supervisor = Supervisor(workers, grace)
        self.settings: dict[int, Settings] = {0: settings}
        self.generation = 0
        self.run_worker = run_worker
        self.reread = reread
        self.snapshots = snapshots
        self.announce = announce
        self.clock = clock
        self.tick = tick
        self.fork_guard = fork_guard
        self.asked: set[int] = set()        # pids sent SIGTERM: their exit is expected
        self.ready_pipes: dict[int, int] = {}   # pid -> read end of its ready pipe
        self.restarts_written = -1
        self.announced = False

    def run(self) -> int:
        """Start the workers and keep them running; the exit code once every worker is gone."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self.wake = (wake_read, wake_write)
        self.selector = selectors.DefaultSelector()
        self.selector.register(wake_read, selectors.EVENT_READ)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
        previous = {signum: signal.signal(signum, _write_to_wakeup_fd) for signum in handled}
        try:
            while True:
                code = self._act()
                if code is not None:
                    return code
                wake_at = self.supervisor.wake_at()
                timeout = None if wake_at is None else max(0.0, wake_at - self.clock())
                background = self.tick()
                if background is not None:
                    timeout = background if timeout is None else min(timeout, background)
                for key, _ in self.selector.select(timeout):
                    if key.fd == wake_read:
                        self._signals()
                    else:
                        self._read_ready(key.data)
                self._reap()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_wakeup)
            for fd in (*self.ready_pipes.values(), wake_read, wake_write):
                os.close(fd)
            self.selector.close()

    # ---- actions

    def _act(self) -> int | None:
        for action in self.supervisor.actions(self.clock()):
            if isinstance(action, Start):
                self._start(action)
            elif isinstance(action, Stop):
                self.asked.add(action.pid)
                _signal(action.pid, signal.SIGTERM)
            elif isinstance(action, Kill):
                log.error("supervisor: pid %d did not stop when asked: killing it", action.pid)
                _signal(action.pid, signal.SIGKILL)
            elif isinstance(action, Exit):
                log.log(logging.ERROR if action.code else logging.INFO, "supervisor: %s; exiting with code %d",
                        action.reason, action.code)
                return action.code
        if self.supervisor.restarts != self.restarts_written:
            self.restarts_written = self.supervisor.restarts
            self._retire(None)
        return None

    def _start(self, action: Start) -> None:
        settings = self.settings[action.generation]
        ready_read, ready_write = os.pipe()
        try:
            with self.fork_guard:
                pid = os.fork()
        except OSError as error:
            os.close(ready_read)
            os.close(ready_write)
            log.error("supervisor: %s: %s", self.supervisor.not_started(action.slot, self.clock()), error.strerror)
            return
        if pid == 0:
            os.close(ready_read)
            self._become_worker(action.slot, settings, ready_write)
        os.close(ready_write)
        os.set_blocking(ready_read, False)
        self.ready_pipes[pid] = ready_read
        self.selector.register(ready_read, selectors.EVENT_READ, pid)
        self.supervisor.started(action.slot, action.generation, pid, self.clock())

    def _become_worker(self, slot: int, settings: Settings, ready_write: int) -> None:
        """In the forked child: shed the supervisor's signals and pipes, run the worker, never return."""
        code = CRASHED
        try:
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            # Until the worker's loop handles it: a hangup of the terminal must not kill a starting worker.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            self.selector.close()
            for fd in (*self.ready_pipes.values(), *self.wake):
                os.close(fd)

            def ready() -> None:
                os.write(ready_write, READY)
                os.close(ready_write)

            code = self.run_worker(slot, settings, ready)
        except BaseException:  # noqa: BLE001 - whatever it was, this process must not run the supervisor's code
            log.exception("worker %d failed", slot)
        finally:
            os._exit(code)

    # ---- events

    def _signals(self) -> None:
        try:
            received = os.read(self.wake[0], 512)
        except BlockingIOError:
            return
        for signum in received:
            if signum in (signal.SIGTERM, signal.SIGINT):
                log.info("supervisor: %s: stopping the workers", signal.Signals(signum).name)
                self.supervisor.stop()
            elif signum == signal.SIGHUP:
                self._reload()

    def _reload(self) -> None:
        settings = self.reread()
        if settings is None:
            return
        self.generation += 1
        self.settings[self.generation] = settings
        self.supervisor.reload(self.generation)
        needed = self.supervisor.generations()
        self.settings = {generation: kept for generation, kept in self.settings.items() if generation in needed}
        log.info("supervisor: SIGHUP: config re-read; replacing the workers one at a time")

    def _read_ready(self, pid: int) -> None:
        fd = self.ready_pipes.get(pid)
        if fd is None:
            return
        try:
            said = os.read(fd, 1)
        except BlockingIOError:
            return
        self.selector.unregister(fd)
        os.close(fd)
        del self.ready_pipes[pid]
        if said != READY:
            return   # it closed the pipe without serving: its exit says why
        message = self.supervisor.ready(pid, self.clock())
        if message:
            log.info("supervisor: %s", message)
        if not self.announced:
            self.announced = True
            self.announce()

    def _reap(self) -> None:
        # The workers only, by pid: the background work's import children are reaped by their own `Popen`.
        for pid in list(self.supervisor.workers):
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if reaped == 0:
                continue
            self._read_ready(pid)   # a worker that said it serves and died at once did serve
            expected = pid in self.asked
            self.asked.discard(pid)
            message = self.supervisor.exited(pid, os.waitstatus_to_exitcode(status), self.clock())
            log.log(logging.INFO if expected else logging.ERROR, "supervisor: %s", message)
            self._retire(pid)

    def _retire(self, pid: int | None) -> None:
        try:
            self.snapshots.retire(pid, self.supervisor.restarts)
        except OSError as error:
            log.warning("supervisor: metrics of worker %s not kept: %s", pid, error)


def _write_to_wakeup_fd(signum: int, frame: object) -> None:
    """Nothing: `set_wakeup_fd` already wrote the signal's number to the pipe the loop selects on."""


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass   # gone already: it is reaped like any other
