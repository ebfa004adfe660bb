"""What `serve` says when it starts: where it listens, where it keeps its state, and a query to try with a
client that is installed here (a fresh Debian 12 has neither dig nor kdig)."""

from __future__ import annotations

import os
import shutil
from typing import Callable

from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.config import Config
from fraudwall.resolver.observe.querylog import log_path
from fraudwall.resolver.warning.reports import store_path_of
from fraudwall.scoring import implementation

DEMO_BLOCKED = "icbc-tuikuan.example.com"   # in the bundled demo list


def banner(config: Config, upstreams: tuple[object, ...], which: Callable[[str], str | None] = shutil.which,
           pid: int | None = None, scorer: Callable[[], str] = implementation) -> list[str]:
    """The start-up lines, in the order an operator needs them (`scorer` says which scorer runs)."""
    host, port = parse_hostport(config.server.listen[0], 53)
    store = store_path_of(config)
    lines = [
        f"fraudwall {pid or os.getpid()}: listening on {', '.join(config.server.listen)} (UDP and TCP); "
        f"upstreams {', '.join(map(str, upstreams))}; config {config.source}",
        f"store: {store} (fraudwall block, check and report take --db {store})" if store
        else "store: none, the lists are read into memory ([blocklists] store = false)",
        # Compiled by `make native` or pure Python: the same scores, 27-38 % more instructions a new name as Python.
        f"scorer: mode {config.scorer.mode}, {scorer()}" if config.scorer.mode != "off"
        else 'scorer: off ([scorer] mode = "off")',
    ]
    if config.querylog.enabled:
        lines.append(f"query log: {log_path(config.querylog.path, config.blocklists.db)}")
    lines.append(f"metrics: http://{_url_host(config.admin.listen)}/metrics" if config.admin.listen
                 else "metrics: off (--admin ADDR:PORT serves /metrics)")
    pages = [f"http://{_url_host(address, 80)}/" for address in config.warning.listen]
    pages += [f"https://{_url_host(address, 443)}/" for address in config.warning.tls_listen]
    lines.append(f"warning page: {', '.join(pages)}" if pages
                 else "warning page: off (--warning-listen ADDR:PORT turns it on)")
    lines.append(_try_line(host, port, which))
    return lines


def _url_host(address: str, default_port: int = 0) -> str:
    host, port = parse_hostport(address, default_port)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _try_line(host: str, port: int, which: Callable[[str], str | None]) -> str:
    """A query to try, with dig or else kdig (+edns: kdig sends no OPT record without it, so no EDE comes back)."""
    for client, options in (("dig", ""), ("kdig", " +edns")):
        if which(client):
            command = f"{client} @{host} -p {port}{options}"
            return f"try: {command} example.com   (a blocked demo name: {command} {DEMO_BLOCKED})"
    return (f"try: apt-get install knot-dnsutils, then kdig @{host} -p {port} +edns {DEMO_BLOCKED}   "
            f"(or: fraudwall check {DEMO_BLOCKED})")
