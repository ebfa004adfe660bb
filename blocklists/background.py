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


WARM_CHUNK = 1 << 20


def warm_page_cache(files: list, stop) -> int:
    """Read `files` through once, at background priority, so that the kernel's page cache holds them:
    bytes read. After a reboot a 25 M-name store is cold, and a name asked for the first time costs a
    disk read per B-tree page (~140 µs against ~30 warm, a 12 M-name segment here); read in order, the
    whole segment takes a second per 500 MB. posix_fadvise(WILLNEED) returns at once but fills far less.
    Runs on a thread of the supervisor (`stop`, a threading.Event, ends it early): only that thread is
    lowered (setpriority on its own thread id), and the workers share the pages the kernel keeps."""
    import threading

    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    buffer = bytearray(WARM_CHUNK)
    read = 0
    for path in files:
        try:
            with open(path, "rb", buffering=0) as stream:
                while not stop.is_set():
                    size = stream.readinto(buffer)
                    if not size:
                        break
                    read += size
        except OSError:
            continue   # replaced by an import meanwhile: its new files were written through the cache
        if stop.is_set():
            break
    return read
