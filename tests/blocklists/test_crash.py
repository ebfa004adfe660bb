"""A killed import leaves the old list answering, and the next import cleans up after it."""

import os
import signal
import subprocess
import sys
import time

from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.store import StorePaths

from .blocklist_helpers import import_text

IMPORT = """
import sys
from fraudwall.blocklists.guards import load_guards
from fraudwall.blocklists.importer import ImportRequest, import_list
import_list(sys.argv[1], ImportRequest("feed", (sys.argv[2],), force=True, workers=1), load_guards(brands=lambda extra: []))
"""


def test_killing_an_import_midway_keeps_the_old_list(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "old.example.org\n")
    big = tmp_path / "big.txt"
    big.write_text("".join(f"new{i}.example.org\n" for i in range(300_000)))
    process = subprocess.Popen([sys.executable, "-c", IMPORT, str(db), str(big)], start_new_session=True)
    segment = StorePaths(db).segment("feed", 2, 0)
    deadline = time.monotonic() + 30
    # Killed once the new segment holds rows: midway, with the half-written file on disk.
    while (not segment.exists() or segment.stat().st_size < 64 * 1024) and time.monotonic() < deadline \
            and process.poll() is None:
        time.sleep(0.01)   # poll pacing
    assert process.poll() is None, "the import finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("old.example.org") is not None
    assert blocklist.match_name("new1.example.org") is None
    blocklist.close()

    leftovers = {path.name for path in StorePaths(db).directory.iterdir()}
    assert "seg-feed-2-0.db" in leftovers            # the killed import's half-written segment
    import_text(db, tmp_path, "feed", "newer.example.org\n", force=True)
    # Only the new generation's files remain: the killed import's were removed.
    files = sorted(path.name for path in StorePaths(db).directory.iterdir())
    assert [name for name in files if not name.startswith("filter-")] == ["list-feed-2.bloom", "seg-feed-2-0.db"]
    assert len([name for name in files if name.startswith("filter-")]) == 1
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("newer.example.org") is not None
    assert blocklist.match_name("old.example.org") is None
