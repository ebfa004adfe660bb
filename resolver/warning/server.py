"""The warning page's HTTP and HTTPS listeners on the sinkhole addresses: thin asyncio around page.py.

`start_servers` is what the resolver calls inside its event loop. Everything that
may block (SQLite) runs on one worker thread, so a slow disk never delays DNS answers
served by the same loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import sys
import time
import unicodedata
from typing import Callable, Mapping
from urllib.parse import parse_qs, quote

from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.server.http import (
    READ_SIZE,
    Limits,
    OneRequestServer,
    Request,
    Response,
)
from fraudwall.resolver.observe.metrics import Counters
from fraudwall.resolver.warning import certificates, language, tls
from fraudwall.resolver.warning.page import (
    REPORT_PATH,
    THANKS_PATH,
    Pages,
    View,
    reference_for,
    shorten,
    shown_path,
)
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.reports import ReportStore, reports_path
from fraudwall.resolver.warning.settings import WarningSettings
from fraudwall.resolver.warning.texts import load_texts

log = logging.getLogger("fraudwall.warning")

Explain = Callable[[str], "BlockReason | None"]
# Page views waiting for the database thread; beyond this they are not counted (a flood must not queue up).
MOST_PENDING_VIEWS = 256


def host_of(request: Request) -> str:
    """The name the browser asked for: Host header (or absolute-form target), lowercase, no port or final dot."""
    host = request.header("host")
    if not host and request.target.startswith(("http://", "https://")):
        host = request.target.split("://", 1)[1].split("/", 1)[0]
    host = host.strip().lower()
    if host.startswith("["):
        host = host[:host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def clean_comment(text: str, most: int) -> str:
    """The person's comment: control characters (but line breaks) dropped, cut to `most` characters."""
    kept = "".join(c for c in text.replace("\r\n", "\n")
                   if c == "\n" or unicodedata.category(c)[0] != "C")
    return kept.strip()[:most]


def clean_path(text: str) -> str:
    """The reported path as stored: what is not printable percent-encoded, as in a URL, cut as the page shows it.

    The form's field is whatever the poster sent; an operator reads it in `fraudwall report mistakes`.
    """
    return shorten("".join(c if c.isprintable() else quote(c, safe="") for c in text))


def query_value(target: str, key: str) -> str:
    query = target.partition("?")[2]
    values = parse_qs(query, max_num_fields=16).get(key) if query else None
    return values[0] if values else ""


class WarningService:
    """Answers one parsed request; owns the pages, the reports store and the database thread."""

    def __init__(self, settings: WarningSettings, explain: Explain, store: ReportStore,
                 pages: Pages, clock: Callable[[], float] = time.time, counters: Counters | None = None) -> None:
        self.settings = settings
        self.counters = counters or Counters()
        self._explain = explain
        self._store = store
        self._pages = pages
        self._clock = clock
        self._database = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fraudwall-warning-db")
        self._pending_views = 0

    def close(self) -> None:
        self._database.submit(self._store.close)
        self._database.shutdown(wait=False)

    def explain(self, host: str) -> BlockReason | None:
        if not certificates.is_certifiable(host):
            return None  # an IP literal or garbage in the Host header: nothing to look up
        try:
            return self._explain(host)
        except Exception:
            log.exception("warning page: explain(%r) failed; showing the neutral page", host)
            return None

    async def respond(self, request: Request, client: str, scheme: str) -> Response:
        host = host_of(request)
        path = shown_path(request.target)
        lang = language.choose(query_value(request.target, "lang"), request.header("accept-language"),
                               self.settings.default_language)
        method = request.method
        if method == "POST" and path == REPORT_PATH:
            return await self._report(request, host, client)
        if method in ("GET", "HEAD") and path == THANKS_PATH:
            return self._pages.thanks(lang, query_value(request.target, "ref")[:32])
        if method not in ("GET", "HEAD", "POST"):
            # Anything else a phishing kit's script may send (PUT, OPTIONS...) gets no page.
            return self._pages.plain(405, "method not allowed", (("Allow", "GET, HEAD, POST"),))
        reason = self.explain(host)
        reference = reference_for(reason) if reason else ""
        if reason is not None:
            self._count_view(reference, reason)
            self.counters.add("fraudwall_warning_page_views", 1, (lang, scheme))
        return self._pages.warning(View(host, path, lang, reason, reference))

    async def _report(self, request: Request, host: str, client: str) -> Response:
        form = {}
        if request.header("content-type").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = parse_qs(request.body.decode("utf-8", "replace"), max_num_fields=16)
        field = lambda name: form.get(name, [""])[0]  # noqa: E731
        lang = language.supported(field("lang")) or self.settings.default_language
        reason = self.explain(host)
        if reason is None or self.settings.report_rate_per_hour == 0:
            return self._pages.see_other(f"/?lang={lang}")
        reference = reference_for(reason)
        comment = clean_comment(field("comment"), self.settings.comment_max_chars)
        report_id = await asyncio.get_running_loop().run_in_executor(self._database, lambda: self._store.add_report(
            host=host, path=clean_path(field("path")), reference=reference, reason=reason, client=client,
            comment=comment, language=lang, now=self._clock(), per_hour=self.settings.report_rate_per_hour))
        if report_id is None:
            log.info("warning page: report about %s from %s refused: over the hourly limit", host, client)
            return self._pages.limited(lang)
        log.info("warning page: report #%d about %s (%s) from %s", report_id, host, reference, client)
        self.counters.add("fraudwall_warning_reports", 1)
        # POST/redirect/GET: reloading the thank-you page does not send the report again.
        return self._pages.see_other(f"{THANKS_PATH}?lang={lang}&ref={reference}")

    def _count_view(self, reference: str, reason: BlockReason) -> None:
        if self._pending_views >= MOST_PENDING_VIEWS:
            return
        self._pending_views += 1
        # An asyncio future, so the callback runs on the loop's thread like the increment above.
        future = asyncio.get_running_loop().run_in_executor(
            self._database, self._store.record_view, reference, reason, self._clock())
        future.add_done_callback(self._view_done)

    def _view_done(self, future: asyncio.Future) -> None:
        self._pending_views -= 1
        if future.cancelled():
            return
        if future.exception() is not None:
            log.warning("warning page: cannot record a view: %s", future.exception())


async def start_servers(settings: WarningSettings, explain: Explain, store_path: str,
                        counters: Counters | None = None,
                        sockets: Mapping[tuple[str, int], socket.socket] = {},
                        served: tuple[str, ...] = ("127.0.0.0/8", "::1/128")) -> list[asyncio.AbstractServer]:
    """HTTP servers on `settings.listen` and HTTPS ones on `settings.tls_listen`; [] when both are empty.

    An address with a socket in `sockets` (keyed by host and port, bound by the supervisor) is served
    on that socket; any other is bound here. Clients outside `settings.allow` (when empty, `served`:
    the networks the resolver answers) are disconnected before they send a byte.

    Raises ValueError (bad texts file), certificates.CAError (tls_listen without a CA)
    or OSError (address in use) before serving anything.
    """
    if not settings.listen and not settings.tls_listen:
        return []
    pages = Pages(load_texts(settings.organisation, settings.texts_file), settings.comment_max_chars,
                  reports_enabled=settings.report_rate_per_hour > 0)
    minter = None
    if settings.tls_listen:
        ca = certificates.load_ca(certificates.ca_dir_of(settings.ca_dir))
        minter = tls.LeafMinter(certificates.LeafContexts(ca, settings.leaf_validity_days, settings.leaf_cache_size))
    path = reports_path(store_path, settings.ca_dir)
    store = ReportStore(path)
    service = WarningService(settings, explain, store, pages, counters=counters)
    # The same decision the access stage makes for DNS queries, over the page's own networks.
    allows = AccessStage(settings.allow or served).allows
    connections = OneRequestServer(service.respond, pages.plain,
                                   Limits(body=max(2048, settings.comment_max_chars * 12 + 1024)),
                                   settings.request_timeout, settings.max_connections, allows)
    shared = _Shared(service.close, *((minter.close,) if minter is not None else ()))
    servers: list[asyncio.AbstractServer] = []
    try:
        for address in settings.listen:
            host, number = parse_hostport(address, 80)
            bound = sockets.get((host, number))
            where = {"sock": bound} if bound is not None else {"host": host, "port": number}
            server = await asyncio.start_server(lambda r, w: connections.serve(r, w, "http"), **where,
                                                limit=READ_SIZE * 2, backlog=256)
            servers.append(_WarningServer(server, shared))
            log.info("warning page: http on %s port %d (reports in %s)", host, number, path)
        for address in settings.tls_listen:
            host, number = parse_hostport(address, 443)
            bound = sockets.get((host, number)) or socket.create_server(
                (host, number), family=socket.AF_INET6 if ":" in host else socket.AF_INET, backlog=256)
            server = tls.TlsServer(bound, minter, lambda name: service.explain(name) is not None, allows,
                                   lambda r, w: connections.serve(r, w, "https"),
                                   min(settings.request_timeout, 10.0), settings.max_connections, READ_SIZE * 2)
            servers.append(_WarningServer(server, shared))
            await server.start_serving()
            log.info("warning page: https on %s port %d (reports in %s)", host, number, path)
    except BaseException:
        for server in servers:
            server.close()
        if not servers:
            shared.close_all()
        raise
    return servers


class _Shared:
    """What several listeners share (the service, the leaf maker), closed when the last of them closes."""

    def __init__(self, *closers: Callable[[], None]) -> None:
        self.closers = closers
        self.open = 0

    def release(self) -> None:
        self.open -= 1
        if self.open == 0:
            self.close_all()

    def close_all(self) -> None:
        for close in self.closers:
            close()


class _WarningServer(asyncio.AbstractServer):
    """An asyncio server that also frees the reports store once every listener is closed."""

    def __init__(self, server: asyncio.AbstractServer, shared: _Shared) -> None:
        self._server = server
        self._shared = shared
        self._closed = False
        shared.open += 1

    @property
    def sockets(self):
        return self._server.sockets

    def close(self) -> None:
        self._server.close()
        if not self._closed:
            self._closed = True
            self._shared.release()

    def get_loop(self):
        return self._server.get_loop()

    def is_serving(self) -> bool:
        return self._server.is_serving()

    async def start_serving(self) -> None:
        await self._server.start_serving()

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    def close_clients(self) -> None:
        if sys.version_info >= (3, 13):
            self._server.close_clients()
