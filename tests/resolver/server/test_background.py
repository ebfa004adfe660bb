"""The supervisor's background work and its forks: no worker starts life with a lock a thread of the supervisor held."""

from __future__ import annotations

from fraudwall.resolver.config import from_document
from fraudwall.resolver.observe.metrics import SnapshotFolder
from fraudwall.resolver.server import background as background_module
from fraudwall.resolver.server.background import Background


def test_the_store_is_read_for_the_page_cache_only_while_no_worker_can_be_forked(tmp_path, monkeypatch):
    # SQLite's mutexes, held by the warming thread at a fork, hung the new worker's first read of the store:
    # a SIGHUP right after the start then never replaced its worker (tests/e2e/test_supervisor.py, under load).
    config = from_document({"blocklists": {"db": str(tmp_path / "blocklists.db"), "files": []},
                            "querylog": {"enabled": False}}, "test")
    work = Background(config, SnapshotFolder(str(tmp_path / "metrics")))
    guarded: list[bool] = []

    def lookup_files(db):
        guarded.append(work.fork_guard.locked())
        return []

    monkeypatch.setattr(background_module, "lookup_files", lookup_files)
    try:
        work.serving()
        work._warming.join(10)
    finally:
        work.close()
    assert guarded == [True]
