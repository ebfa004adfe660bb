"""A worker's lists: the next snapshot is built off the event loop, and one place forgets what the old one decided."""

import asyncio
import threading

from fraudwall.blocklists import store
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.store import StorePaths
from fraudwall.resolver.config import Config
from fraudwall.resolver.dns.upstream_policy import Upstream
from fraudwall.resolver.server.interpreter import discard
from fraudwall.resolver.server.worker import Resolver, Worker
from fraudwall.scoring.settings import ScorerSettings

from tests.blocklists.blocklist_helpers import import_text

UPSTREAMS = (Upstream("127.0.0.1", 9),)


def corrupt_filter(db):
    connection = store.connect_catalogue(db)
    filter_file = StorePaths(db).directory / store.meta(connection, "filter_file")
    connection.close()
    data = bytearray(filter_file.read_bytes())
    data[40:] = bytes(len(data) - 40)
    filter_file.write_bytes(bytes(data))


def test_the_event_loop_answers_while_a_new_list_waits_on_the_stores_lock(tmp_path):
    """Issue 12: a new snapshot whose filter must be rebuilt waits on the writer lock, off the loop."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    config = Config(scorer=ScorerSettings(mode="off"))
    worker = Worker(config, UPSTREAMS, listeners=None)
    blocklist = StoreBlocklist(db, warn=lambda message: None)
    worker.resolver = resolver = Resolver(config, blocklist, UPSTREAMS)
    import_text(db, tmp_path, "feed", "other.example.org\n", force=True)
    corrupt_filter(db)           # the next load rebuilds it, and saves it under the writer lock
    held, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with store.writer_lock(StorePaths(db)):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(10)

    async def scenario():
        refresh = asyncio.ensure_future(worker.refresh_lists())
        for _ in range(20):              # the loop keeps turning while the load waits
            await asyncio.sleep(0.005)
        assert not refresh.done()
        assert blocklist.match_name("bad.example.org") is not None     # the old lists answer meanwhile
        release.set()
        await asyncio.wait_for(refresh, 30)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        holder.join(10)
        worker.lists_thread.shutdown()
    assert blocklist.match_name("bad.example.org") is None
    assert blocklist.match_name("other.example.org").list == "feed"
    assert resolver.generation == blocklist.generation


def test_a_new_generation_forgets_every_list_dependent_cache_in_one_call(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    config = Config(scorer=ScorerSettings(mode="warn-only"))
    blocklist = StoreBlocklist(db)
    resolver = Resolver(config, blocklist, UPSTREAMS)
    blocklist.match_name("www.example.org")
    blocklist.match_name("bad.example.org")
    resolver.scorer.score("paypa1-login.example.com")
    assert blocklist._cache and resolver.scorer.score.cache_info().currsize
    old = resolver.on_generation(blocklist.generation + 1)
    assert not blocklist._cache and not blocklist._entries_at
    # A score follows from the name alone: a list change keeps it.
    assert resolver.scorer.score.cache_info().currsize == 1
    assert resolver.generation == blocklist.generation + 1
    # The old decisions come back to be dropped off the event loop, not in it.
    assert any(len(container) for container in old)
    assert not discard(old, items=1) and sum(map(len, old)) >= 1
    while not discard(old, items=1):
        pass
    assert not any(len(container) for container in old)
