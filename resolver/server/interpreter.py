"""The worker's interpreter, tuned for answering queries while other threads work.

A worker's event loop shares the GIL with its log and lists threads. Two things made queries wait
tens of milliseconds behind work that is not theirs:

* one C call that never lets the GIL go: dropping a cache of 100 000 answers at once (~15 ms), a
  full collection walking every container that lives long (~20 ms for 40 000 of them);
* the GIL's switch interval: a thread that wants it waits up to 5 ms (the default) before the
  holder is asked to let go.

`discard` empties big containers a slice at a time, each slice a callback of the event loop, so
the queries that came in meanwhile are answered between two slices. Not on a thread: on a busy
machine a thread holding the GIL can lose its CPU, and the event loop then waits for the scheduler
to give it back (tens of ms); the short switch interval `settle` sets bounds the other threads'
turns (the log's writes, the next list snapshot).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

# Container allocations between two collections of the young generation. A forwarded query makes a
# few dozen containers (futures, tasks, closures): collecting after every 700 of them took a quarter
# of a forwarded query's time (28 of 130 us); after every 10,000 it takes a few us.
GC_YOUNG_THRESHOLD = 10_000
# Seconds a thread holding the GIL keeps it while another waits for it (the default is 0.005).
SWITCH_INTERVAL = 0.0005
# Items dropped per turn of the event loop: ~0.5 ms of freeing cached answers.
DISCARD_SLICE = 4096


def settle() -> None:
    """Tune the collector and the GIL once start-up is done.

    What start-up built (modules, the brand index, the suffix list, the lists' snapshot) lives as
    long as the worker: frozen, the collector never walks it again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)
    sys.setswitchinterval(SWITCH_INTERVAL)


def discard(containers: Sequence[dict | set | list], items: int = DISCARD_SLICE) -> bool:
    """Drop up to `items` items of the containers; True once they are all empty."""
    for container in containers:
        pop = container.popitem if isinstance(container, dict) else container.pop
        while container:
            if not items:
                return False
            pop()
            items -= 1
    return True
