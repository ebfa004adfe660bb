"""The worker's interpreter, tuned for answering queries while other threads work.

A worker's event loop shares the GIL with its log and lists threads. Two things made queries wait
tens of milliseconds behind work that is not theirs:

* one C call that never lets the GIL go: dropping a cache of 100 000 answers at once (~15 ms), a
  full collection walking every container that lives long (~20 ms for 40 000 of them);
* the GIL's switch interval: a thread that wants it waits up to 5 ms (the default) before the
  holder is asked to let go.

`discard` empties a big container one item at a time on a thread: its loop checks for a waiting
thread between items, so the event loop gets the GIL back within one switch interval, which
`settle` makes short.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable

# Container allocations between two collections of the young generation. A forwarded query makes a
# few dozen containers (futures, tasks, closures): collecting after every 700 of them took a quarter
# of a forwarded query's time (28 of 130 us); after every 10,000 it takes a few us.
GC_YOUNG_THRESHOLD = 10_000
# Seconds a thread holding the GIL keeps it while another waits for it (the default is 0.005).
SWITCH_INTERVAL = 0.0005


def settle() -> None:
    """Tune the collector and the GIL once start-up is done.

    What start-up built (modules, the brand index, the suffix list, the lists' snapshot) lives as
    long as the worker: frozen, the collector never walks it again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)
    sys.setswitchinterval(SWITCH_INTERVAL)


def discard(containers: Iterable[object]) -> None:
    """Empty each dict, set or list one item at a time (for a thread: see the module's docstring)."""
    for container in containers:
        if isinstance(container, dict):
            popitem = container.popitem
            while container:
                popitem()
        elif isinstance(container, (set, list)):
            pop = container.pop
            while container:
                pop()
