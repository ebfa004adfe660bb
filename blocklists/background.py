"""Background work (import workers, feed imports, followed-zone refreshes) yields the CPU to the resolver.

nice(2) alone does not do it. With the kernel's autogroups (`kernel.sched_autogroup_enabled`, on by
default in Debian's kernels) the CPU is first shared between sessions, and a nice value only orders
the processes of one session: an admin's `fraudwall import` at nice 19 still took half the CPU from a
`fraudwall serve` in another session, and queries waited up to 400 ms during a re-import
(benchmarks/reload.py). So a background process also leaves its session for one of its own and
gives that session's autogroup the same nice value. Where autogroups are off (or the process runs
in a cgroup of its own), only the nice value counts, and it is set as well.
"""

from __future__ import annotations

import contextlib
import os

NICENESS = 19


def yield_cpu() -> None:
    """Lower this process to background priority; each step is best effort (never raises)."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    with contextlib.suppress(OSError):
        os.setsid()    # fails for a process group leader, which keeps its session's share
    with contextlib.suppress(OSError):
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(NICENESS))
