"""What the RPZ end-to-end tests share: a store holding one imported list, an NSD providing a policy
zone, the options of a BIND in a temporary folder, the rcode a server answers, and /metrics."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import dns.exception
import dns.message
import dns.query

from tests.e2e.peers import fraudwall_binary


def rcode(port: int, name: str, rdtype: str = "A") -> int | None:
    """The rcode 127.0.0.1:`port` answers for `name`, None when no answer came."""
    try:
        reply = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=1.0)
    except (OSError, dns.exception.DNSException):
        return None
    return reply.rcode()


def metrics(port: int) -> str:
    """What the admin listener on 127.0.0.1:`port` serves on /metrics ("" when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return ""


def lists(config: Path) -> str:
    """What `fraudwall lists` prints with this config (a followed list's line ends it)."""
    return subprocess.run([fraudwall_binary(), "lists", "--config", str(config)], capture_output=True, text=True,
                          check=True).stdout


def store_with_list(store: Path, name: str, feed: Path, text: str) -> Path:
    """A new store at `store` holding the list `name`, imported from `feed` written with `text`."""
    store.parent.mkdir(parents=True)
    feed.write_text(text)
    subprocess.run([fraudwall_binary(), "import", "--db", str(store), "--list", name, str(feed)],
                   check=True, capture_output=True)
    return store


def named_options(directory: Path, port: int, lines: str) -> str:
    """BIND's options clause for a `named -g` in `directory` listening on 127.0.0.1:`port`; `lines`
    inside it (recursion, forwarders, response-policy ...)."""
    return f"""\
options {{
    directory "{directory}";
    pid-file "{directory}/named.pid";
    lock-file "{directory}/named.lock";
    session-keyfile "{directory}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    allow-query {{ 127.0.0.0/8; }};
    dnssec-validation no;
    notify no;
{lines}}};
controls {{ }};
"""
