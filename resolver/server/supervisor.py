"""What the supervisor decides, without processes or signals: which worker to start, stop or restart, and when
to give up.

The shell (`processes.py`) forks, signals and reaps; it tells a `Supervisor` what happened (`started`,
`ready`, `exited`, `reload`, `stop`) and carries out what `actions(now)` returns. Each worker has a slot
(worker 0 serves /metrics): a slot whose worker died unasked is started again after a back-off, 0.5 s
doubling up to 30 s, back to 0.5 s once a worker of that slot had served a minute. More than 5 such deaths
within a minute, or a worker that exits with code 1 before it served (its config cannot work), and the
supervisor gives up: it stops the others and exits 1, so that systemd (`Restart=on-failure`) sees it.
A worker asked to stop that is still there 10 s after its grace gets SIGKILL: a hung worker must not
keep the supervisor from exiting, nor its memory after a reload.

A reload replaces the workers one slot at a time: the new worker starts beside the old one (both read the
same sockets), and the old one is told to stop only once the new one serves, so no query goes unanswered.
A new worker that exits with code 1 before it served means the new config does not work: the supervisor
goes back to the last config a worker served with.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

FIRST_DELAY = 0.5        # seconds before the first restart of a slot
MOST_DELAY = 30.0        # the back-off doubles up to this
STABLE_AFTER = 60.0      # a worker that served this long resets its slot's back-off
MOST_CRASHES = 5         # more unasked deaths than this ...
CRASH_WINDOW = 60.0      # ... within this many seconds, and the supervisor gives up
STOP_MARGIN = 10.0       # seconds past its grace a worker asked to stop gets, then SIGKILL
START_FAILED = 1         # a worker's exit code when it cannot start with its config (store, log, CA)


@dataclass(frozen=True)
class Start:
    """Fork a worker for `slot` running config `generation`; report it with `started` (or `not_started`)."""
    slot: int
    generation: int


@dataclass(frozen=True)
class Stop:
    """Ask a worker to finish what it has in flight and exit (SIGTERM)."""
    pid: int


@dataclass(frozen=True)
class Kill:
    """A worker asked to stop is still there after its grace and the margin: SIGKILL."""
    pid: int


@dataclass(frozen=True)
class Exit:
    """Every worker is gone: the supervisor exits with `code`."""
    code: int
    reason: str


Action = Start | Stop | Kill | Exit


@dataclass
class _Worker:
    pid: int
    slot: int
    generation: int
    started_at: float
    ready_at: float | None = None


@dataclass
class _Slot:
    serving: _Worker | None = None      # the worker answering for this slot (it may still be starting)
    successor: _Worker | None = None    # its replacement under a new config, starting beside it
    launching: bool = False             # a Start was handed out and not reported yet
    failures: int = 0                   # unasked deaths in a row
    restart_at: float | None = None     # not before then (back-off); None: no death to wait for


class Supervisor:
    def __init__(self, workers: int, grace: float = 3.0) -> None:
        self.slots = [_Slot() for _ in range(workers)]
        self.workers: dict[int, _Worker] = {}
        self.target = 0          # the config generation the workers should run
        self.proven = 0          # the newest generation a worker served with: where a failed reload goes back to
        self.restarts = 0        # workers started again after an unasked death
        self._crashes: deque[float] = deque()
        self._to_stop: list[int] = []
        self._told: dict[int, float | None] = {}   # asked to stop (when; None once killed): exit expected
        self._stop_within = grace + STOP_MARGIN
        self._ending: Exit | None = None    # stopping everything, then exiting with this
        self._exited = False

    # ---- events

    def started(self, slot: int, generation: int, pid: int, now: float) -> None:
        place = self.slots[slot]
        place.launching = False
        worker = _Worker(pid, slot, generation, now)
        self.workers[pid] = worker
        if place.serving is None:
            place.serving = worker
        else:
            place.successor = worker

    def not_started(self, slot: int, now: float) -> str:
        """The fork itself failed (no memory, too many processes): like a death, try again after a back-off."""
        self.slots[slot].launching = False
        return self._died(self.slots[slot], None, now, f"worker {slot} could not be started")

    def ready(self, pid: int, now: float) -> str | None:
        """The worker serves; a successor takes over from the worker it replaces. Returns what to log."""
        worker = self.workers.get(pid)
        if worker is None or worker.ready_at is not None:
            return None
        worker.ready_at = now
        self.proven = max(self.proven, worker.generation)
        place = self.slots[worker.slot]
        if place.successor is worker:
            old = place.serving
            place.serving, place.successor = worker, None
            if old is not None:
                self._to_stop.append(old.pid)
                return f"worker {worker.slot} (pid {pid}) serves the new config; stopping pid {old.pid}"
        return None

    def exited(self, pid: int, code: int, now: float) -> str:
        """A worker is gone, with `code` as `os.waitstatus_to_exitcode` gives it. Returns what to log."""
        worker = self.workers.pop(pid, None)
        if worker is None:
            return f"process {pid} exited with code {code}"
        place = self.slots[worker.slot]
        how = _how(code)
        if pid in self._told or self._ending is not None:
            self._told.pop(pid, None)
            if place.serving is worker:
                place.serving = None
            if place.successor is worker:
                place.successor = None
            return f"worker {worker.slot} (pid {pid}) {how}"
        what = f"worker {worker.slot} (pid {pid}) {how}"
        failed_to_start = worker.ready_at is None and code == START_FAILED
        successor = place.successor is worker
        if successor:
            place.successor = None
        else:
            place.serving = None
        if failed_to_start and worker.generation > self.proven:
            # The new config does not work (a file it names, an address): the old one still does.
            self.target = self.proven
            what = (f"{what} before it served with the new config (generation {worker.generation}); "
                    f"going back to the config in force (generation {self.proven})")
            return what if successor else self._died(place, worker, now, what)
        if failed_to_start and not successor:
            self._end(1, f"worker {worker.slot} could not start")
            return f"{what} before it served; giving up"
        return self._died(place, worker, now, what)

    def reload(self, generation: int) -> None:
        """Run config `generation` from now on: every slot's worker is replaced, one slot at a time."""
        if self._ending is None:
            self.target = generation

    def stop(self) -> None:
        """SIGTERM or SIGINT: every worker finishes what it has in flight, then the supervisor exits 0."""
        if self._ending is None:
            self._end(0, "stopped")

    # ---- decisions

    def actions(self, now: float) -> list[Action]:
        """What to do now; call again after each event and when `wake_at()` comes."""
        if self._ending is not None:
            return [*self._kills(now), *self._wind_down(now)]
        actions: list[Action] = [*self._kills(now), *(Stop(pid) for pid in self._to_stop if pid in self.workers)]
        self._told.update(dict.fromkeys(self._to_stop, now))
        self._to_stop.clear()
        replacing = any(place.successor is not None or (place.launching and place.serving is not None)
                        for place in self.slots)
        for slot, place in enumerate(self.slots):
            if place.launching or (place.restart_at is not None and now < place.restart_at):
                continue
            serving = place.serving
            if serving is None:
                if place.restart_at is not None:
                    self.restarts += 1
                actions.append(self._launch(slot, place))
            elif (not replacing and place.successor is None and serving.generation != self.target
                  and serving.ready_at is not None):
                # One slot at a time: the others keep serving while this one's successor starts.
                actions.append(self._launch(slot, place))
                replacing = True
        return actions

    def wake_at(self) -> float | None:
        """When a back-off ends or a worker's time to stop runs out: `actions()` has something to do then."""
        times = [told + self._stop_within for told in self._told.values() if told is not None]
        if self._ending is None:
            times += [place.restart_at for place in self.slots if place.restart_at is not None and not place.launching]
        return min(times, default=None)

    def generations(self) -> set[int]:
        """The config generations still needed: the one to run and the one to go back to."""
        return {self.target, self.proven}

    # ---- internals

    def _launch(self, slot: int, place: _Slot) -> Start:
        place.launching = True
        place.restart_at = None
        return Start(slot, self.target)

    def _died(self, place: _Slot, worker: _Worker | None, now: float, what: str) -> str:
        self._crashes.append(now)
        while self._crashes and self._crashes[0] <= now - CRASH_WINDOW:
            self._crashes.popleft()
        if len(self._crashes) > MOST_CRASHES:
            self._end(1, f"{len(self._crashes)} workers died within {CRASH_WINDOW:g} s")
            return f"{what}; {len(self._crashes)} deaths within {CRASH_WINDOW:g} s: giving up"
        served_long = worker is not None and worker.ready_at is not None and now - worker.ready_at >= STABLE_AFTER
        place.failures = 1 if served_long else place.failures + 1
        delay = min(FIRST_DELAY * 2 ** (place.failures - 1), MOST_DELAY)
        place.restart_at = now + delay
        return f"{what}; starting it again in {delay:g} s"

    def _end(self, code: int, reason: str) -> None:
        self._ending = Exit(code, reason)
        self._to_stop.clear()

    def _kills(self, now: float) -> list[Action]:
        late = [pid for pid, told in self._told.items() if told is not None and now >= told + self._stop_within]
        for pid in late:
            self._told[pid] = None   # killed: its exit is still expected, once
        return [Kill(pid) for pid in late]

    def _wind_down(self, now: float) -> list[Action]:
        actions: list[Action] = [Stop(pid) for pid in self.workers if pid not in self._told]
        self._told.update({pid: now for pid in self.workers if pid not in self._told})
        if not self.workers and not self._exited and not any(place.launching for place in self.slots):
            self._exited = True
            actions.append(self._ending)
        return actions


def _how(code: int) -> str:
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with code {code}"
