"""Feeds by URL: conditional requests against a local server on 127.0.0.1."""

import http.server
import threading

import pytest
from fraudwall.blocklists.importer import ImportFailed, ImportRequest, import_list
from fraudwall.blocklists.lookup import StoreBlocklist

from .blocklist_helpers import fake_guards


class Feed(http.server.BaseHTTPRequestHandler):
    body = b""
    etag = '"v1"'
    requests: list = []  # noqa: RUF012 - reset by the fixture, read by the tests

    def do_GET(self):
        type(self).requests.append(dict(self.headers))
        if self.path != "/feed.txt":
            self.send_error(404)
            return
        if self.headers.get("If-None-Match") == type(self).etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", type(self).etag)
        self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Feed.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_url_is_downloaded_then_asked_for_conditionally(tmp_path, server):
    db = tmp_path / "b.db"
    Feed.body, Feed.etag = b"https://login.example.net/x\nhttps://pay.example.net/y\n", '"v1"'
    first = import_list(db, ImportRequest("openphish", (f"{server}/feed.txt",), workers=1), fake_guards())
    assert first.totals.names == 2 and first.formats == ("openphish",)
    second = import_list(db, ImportRequest("openphish", (f"{server}/feed.txt",), workers=1), fake_guards())
    assert second.not_modified
    assert Feed.requests[-1].get("If-None-Match") == '"v1"'
    assert Feed.requests[-1].get("If-Modified-Since") == "Mon, 01 Jan 2024 00:00:00 GMT"
    Feed.body, Feed.etag = b"https://login.example.net/x\nhttps://new.example.net/z\n", '"v2"'
    third = import_list(db, ImportRequest("openphish", (f"{server}/feed.txt",), workers=1, force=True), fake_guards())
    assert third.totals.names == 2
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("new.example.net") is not None and blocklist.match_name("pay.example.net") is None


def test_a_missing_feed_fails_and_changes_nothing(tmp_path, server):
    db = tmp_path / "b.db"
    with pytest.raises(ImportFailed, match="HTTP 404"):
        import_list(db, ImportRequest("x", (f"{server}/nope.txt",), workers=1), fake_guards())


def test_serve_imports_a_due_feed_in_a_child_process(tmp_path, server):
    import time

    from fraudwall.blocklists import store
    from fraudwall.blocklists.feeds import FeedScheduler
    from fraudwall.blocklists.settings import BlocklistSettings

    Feed.body, Feed.etag = b"https://login.example.net/x\n", '"v1"'
    db = tmp_path / "b.db"
    store.connect_catalogue(db).close()
    settings = BlocklistSettings(db=str(db), feeds=(f"phish={server}/feed.txt,openphish,60",))
    feeds = FeedScheduler(db, settings)
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("login.example.net") is None
    deadline = time.monotonic() + 30
    while blocklist.match_name("login.example.net") is None and time.monotonic() < deadline:
        feeds.tick()
        blocklist.refresh()
        time.sleep(0.1)
        feeds._next_poll = 0.0      # do not wait the 5 s between polls in a test
    feeds.close()
    assert blocklist.match_name("login.example.net").list == "phish"
    blocklist.close()


def test_a_feed_that_serve_imports_is_guarded_like_an_import(tmp_path, server):
    """The child that imports a due feed gets the network bound and the sinkhole (issue 11, defect 2)."""
    import time

    from fraudwall.blocklists import store
    from fraudwall.blocklists.feeds import FeedScheduler
    from fraudwall.blocklists.settings import BlocklistSettings

    Feed.body, Feed.etag = b"0.0.0.0/0\n100.128.0.0/24\n100.128.1.0/24\n100.128.2.0/24\n100.129.0.0/23\n100.130.0.0/24\n", '"v1"'
    db = tmp_path / "b.db"
    store.connect_catalogue(db).close()
    settings = BlocklistSettings(db=str(db), feeds=(f"ips={server}/feed.txt,iplist,60",), broadest_ipv4_prefix=24)
    feeds = FeedScheduler(db, settings, ("100.130.0.53", ""))
    blocklist = StoreBlocklist(db)
    deadline = time.monotonic() + 30
    while "ips" not in blocklist.lists and time.monotonic() < deadline:
        feeds.tick()
        blocklist.refresh()
        time.sleep(0.1)
        feeds._next_poll = 0.0      # do not wait the 5 s between polls in a test
    feeds.close()
    assert blocklist.match_address("100.128.1.7").list == "ips"
    for address in ("8.8.8.8", "100.129.0.1", "100.130.0.53"):
        assert blocklist.match_address(address) is None, address
    blocklist.close()
