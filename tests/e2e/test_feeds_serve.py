"""`serve` keeps a feed fresh once per host, however many workers answer queries (issue 12).

The feed is a domain list on an HTTP server of the test's own, on 127.0.0.1, which counts its GETs.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.dnsclient import NOERROR, rdata, udp

pytestmark = pytest.mark.e2e

FEED = b"feed-fraud.example.net\nother-fraud.example.net\n"
# The old schedulers, one per worker, all polled at their first refresh (1 s after start) and their
# imports fetched within a second of the first: this long after the list is in force, they all would have.
OTHERS_WOULD_HAVE_FETCHED_WITHIN = 3.0


class CountingFeed(http.server.BaseHTTPRequestHandler):
    gets = 0
    lock = threading.Lock()

    def do_GET(self):
        with type(self).lock:
            type(self).gets += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    CountingFeed.gets = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingFeed)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.txt"
    httpd.shutdown()


def blocked(port: int, name: str) -> bool:
    reply = udp(port, name, "A")
    return reply.rcode() == NOERROR and rdata(reply, "A") == ["0.0.0.0"]


def test_three_workers_fetch_a_feed_once_per_period(start_own_fraudwall, tmp_path, feed_url):
    db = tmp_path / "store" / "blocklists.db"
    server = start_own_fraudwall(["127.0.0.1:9"], "--db", str(db), "--admin", "", "--workers", "3",
                                 keys={"blocklists": f'feeds = ["phish={feed_url},domains,60"]'})
    deadline = time.monotonic() + 30
    while not blocked(server.port, "feed-fraud.example.net"):
        assert time.monotonic() < deadline, f"the feed was not in force within 30 s ({CountingFeed.gets} GETs)"
        time.sleep(0.1)
    in_force = time.monotonic()
    while CountingFeed.gets == 1 and time.monotonic() < in_force + OTHERS_WOULD_HAVE_FETCHED_WITHIN:
        time.sleep(0.1)
    assert CountingFeed.gets == 1
