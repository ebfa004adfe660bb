"""Background work gives the resolver the CPU even across sessions (the kernel's autogroups)."""

import multiprocessing
import os
from pathlib import Path

import pytest

from fraudwall.blocklists.background import NICENESS, yield_cpu


def _report(queue) -> None:
    yield_cpu()
    autogroup = Path("/proc/self/autogroup")
    queue.put((os.getsid(0), os.nice(0), autogroup.read_text() if autogroup.exists() else ""))


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroups")
def test_a_background_process_leaves_the_resolvers_session_share_at_background_priority():
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_report, args=(queue,))
    child.start()
    session, nice, autogroup = queue.get(timeout=30)
    child.join(30)
    assert session != os.getsid(0)            # a session of its own: its own share of the CPU ...
    assert nice == NICENESS
    assert autogroup.strip().endswith(f"nice {NICENESS}")   # ... and that share is a background one


def test_the_store_s_segments_are_read_through_once_at_start_and_a_stop_ends_it(tmp_path):
    import threading

    from fraudwall.blocklists.background import WARM_CHUNK, warm_page_cache
    from fraudwall.blocklists.store import lookup_files

    from .blocklist_helpers import import_text

    db = tmp_path / "b.db"
    assert lookup_files(db) == []   # no store yet: nothing to read
    import_text(db, tmp_path, "feed", "".join(f"n{index}.example.org\n" for index in range(5000)))
    files = lookup_files(db)
    assert files and all(path.exists() and path.name.startswith("seg-feed-") for path in files)
    assert warm_page_cache(files, threading.Event()) == sum(path.stat().st_size for path in files)
    stopped = threading.Event()
    stopped.set()
    assert warm_page_cache(files + [tmp_path / "gone.db"], stopped) <= WARM_CHUNK
