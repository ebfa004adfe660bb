"""The listeners in-process: real sockets, the whole request path, and a countermeasure test for each bound."""

import asyncio
import socket
import ssl
import time

import pytest
from fraudwall.resolver.warning import certificates
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.reports import ReportStore
from fraudwall.resolver.warning.server import start_servers
from fraudwall.resolver.warning.settings import WarningSettings

BLOCKED = "icbc-tuikuan.example.com"


def explain(host: str):
    if host == BLOCKED or host.endswith(".example.com"):
        return BlockReason(host, "list", "demo", "listed in demo (demo.txt:3)", "icbc.com.cn", 1_700_000_000.0)
    if host == "broken.example.net":
        raise RuntimeError("the resolver's explain failed")
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ca")
    certificates.create_ca(directory, "fraudwall")
    return directory


def run(tmp_path, scenario, tls=False, ca_dir=None, counters=None, lists=explain, **options):
    """Start the servers with `options` (explaining names with `lists`), run `scenario(port, reports file)`, close them."""
    port = free_port()
    settings = WarningSettings(**({"tls_listen": (f"127.0.0.1:{port}",), "ca_dir": str(ca_dir)} if tls
                                  else {"listen": (f"127.0.0.1:{port}",)}), **options)
    store = tmp_path / "store.db"

    async def main():
        servers = await start_servers(settings, lists, str(store), counters)
        try:
            return await scenario(port, tmp_path / "reports.db")
        finally:
            for server in servers:
                server.close()
            for server in servers:
                await server.wait_closed()

    return asyncio.run(main())


async def exchange(port, raw: bytes, context=None, server_hostname=None, timeout=5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_hostname)
    writer.write(raw)
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def get(path="/", host=BLOCKED, extra=b"", method=b"GET") -> bytes:
    return method + b" " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra + b"\r\n"


def post(comment="", host=BLOCKED, lang="en") -> bytes:
    body = f"lang={lang}&path=%2Flogin&comment={comment}".encode()
    return (b"POST /.well-known/fraudwall/report HTTP/1.1\r\nHost: " + host.encode() +
            b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_get_blocked_and_unknown_and_head(tmp_path):
    async def scenario(port, db):
        blocked = await exchange(port, get("/login", extra=b"Accept-Language: en\r\n"))
        assert status(blocked) == 200 and b"Cache-Control: no-store" in blocked
        assert BLOCKED.encode() in blocked and b"listed in demo" in blocked
        unknown = await exchange(port, get("/", host="www.example.org"))
        assert status(unknown) == 200 and "此网站已被拦截或无法找到".encode() in unknown
        broken = await exchange(port, get("/", host="broken.example.net"))
        assert status(broken) == 200 and b"FW-" not in broken
        head = await exchange(port, get(method=b"HEAD"))
        assert status(head) == 200 and head.endswith(b"\r\n\r\n") and b"Content-Length: 0" not in head
        ip = await exchange(port, get("/", host="127.0.0.1:8080"))
        assert status(ip) == 200
        put = await exchange(port, get(method=b"PUT"))
        assert status(put) == 405 and b"Allow: GET, HEAD, POST" in put
        # A POST anywhere else (a phishing form's credentials) is not kept: it gets the page.
        other = await exchange(port, post().replace(b"/.well-known/fraudwall/report", b"/login"))
        assert status(other) == 200
    run(tmp_path, scenario)


def test_injected_host_and_path_show_as_text(tmp_path):
    async def scenario(port, db):
        raw = b"GET /%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nHost: <script>alert(2)</script>\r\n\r\n"
        page = await exchange(port, raw)
        assert b"<script>" not in page
        assert b"&lt;script&gt;alert(2)&lt;/script&gt;" in page
    run(tmp_path, scenario)


def test_report_flow_and_view_reference(tmp_path):
    async def scenario(port, db):
        page = await exchange(port, get("/login", extra=b"Accept-Language: en\r\n"))
        reference = page.split(b"FW-")[1][:9].decode()
        answer = await exchange(port, post("this+is+my+bank%0Areally"))
        assert status(answer) == 303
        location = [line for line in answer.split(b"\r\n") if line.startswith(b"Location:")][0]
        assert b"/.well-known/fraudwall/thanks?lang=en&ref=FW-" in location
        thanks = await exchange(port, get(location.split(b" ", 1)[1].decode()))
        assert status(thanks) == 200 and b"Thank you" in thanks
        deadline = time.monotonic() + 5
        while not ReportStore(db).reports() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # poll pacing: the report is written on the database thread
        return reference
    reference = run(tmp_path, scenario)
    store = ReportStore(tmp_path / "reports.db")
    [report] = store.reports()
    assert report.host == BLOCKED and report.path == "/login" and report.client == "127.0.0.1"
    assert report.comment == "this is my bank\nreally" and report.label == "demo"
    assert report.reference == "FW-" + reference
    assert store.view("FW-" + reference).views >= 1


def test_a_reported_path_is_stored_printable_and_bounded(tmp_path):
    async def scenario(port, db):
        forged = "%2Fx%0A%232+2026-01-01+00%3A00+bank.example.com%1B%5B2K%0D" + "a" * 3000
        body = f"lang=en&path={forged}&comment=hello".encode()
        raw = (b"POST /.well-known/fraudwall/report HTTP/1.1\r\nHost: " + BLOCKED.encode() +
               b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
               str(len(body)).encode() + b"\r\n\r\n" + body)
        assert status(await exchange(port, raw)) == 303
    run(tmp_path, scenario, comment_max_chars=400)
    [report] = ReportStore(tmp_path / "reports.db").reports()
    assert report.path.isprintable() and len(report.path) <= 200
    assert report.path.startswith("/x%0A#2 2026-01-01 00:00 bank.example.com%1B[2K%0Daaa")


def test_report_about_an_unknown_host_is_not_stored(tmp_path):
    async def scenario(port, db):
        answer = await exchange(port, post(host="www.example.org"))
        assert status(answer) == 303
    run(tmp_path, scenario)
    assert ReportStore(tmp_path / "reports.db").reports() == []


def test_reports_rate_limited_per_client(tmp_path):
    async def scenario(port, db):
        assert status(await exchange(port, post("one"))) == 303
        assert status(await exchange(port, post("two"))) == 303
        limited = await exchange(port, post("three"))
        assert status(limited) == 429 and b"Too many reports" in limited
    run(tmp_path, scenario, report_rate_per_hour=2)
    assert [r.comment for r in ReportStore(tmp_path / "reports.db").reports()] == ["two", "one"]


def test_comment_is_bounded(tmp_path):
    async def scenario(port, db):
        assert status(await exchange(port, post("x" * 100))) == 303
    run(tmp_path, scenario, comment_max_chars=10)
    assert ReportStore(tmp_path / "reports.db").reports()[0].comment == "x" * 10


def test_oversized_request_line_headers_and_body(tmp_path):
    async def scenario(port, db):
        assert status(await exchange(port, get("/" + "a" * 10_000))) == 414
        many = b"".join(b"X-%d: 1\r\n" % i for i in range(100))
        assert status(await exchange(port, get(extra=many))) == 431
        assert status(await exchange(port, get(extra=b"X: " + b"a" * 20_000 + b"\r\n"))) == 431
        big = b"POST /.well-known/fraudwall/report HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 1000000\r\n\r\n"
        assert status(await exchange(port, big)) == 413
    run(tmp_path, scenario)


def test_slowloris_gets_408_within_the_deadline(tmp_path):
    async def scenario(port, db):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        # A piece every 0.3 s, each read at once: only the whole request's deadline catches it.
        for piece in (b"GET / HTTP/1.1\r\n", b"Host: a", b".example.com\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.3)
        answer = await asyncio.wait_for(reader.read(), 3)
        writer.close()
        assert status(answer) == 408
        assert time.monotonic() - started < 2.5
    run(tmp_path, scenario, request_timeout=0.8)


def test_silent_connection_is_closed(tmp_path):
    async def scenario(port, db):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        await asyncio.wait_for(reader.read(), 3)
        assert time.monotonic() - started < 2
        writer.close()
    run(tmp_path, scenario, request_timeout=0.5)


def test_connections_beyond_the_limit_are_closed(tmp_path):
    async def scenario(port, db):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)
        try:
            assert await exchange(port, get(), timeout=2) == b""
        except ConnectionResetError:
            pass  # closed at once, either way
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.1)
        assert status(await exchange(port, get())) == 200
    run(tmp_path, scenario, max_connections=2)


def test_connections_from_outside_the_allow_list_are_closed_before_any_http(tmp_path, ca_dir):
    def get_from(port, source):
        with socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0)) as connection:
            try:
                connection.sendall(get())
                return connection.recv(4096)
            except ConnectionResetError:
                return b""

    async def scenario(port, db):
        assert status(await asyncio.to_thread(get_from, port, "127.0.0.1")) == 200
        assert await asyncio.to_thread(get_from, port, "127.0.0.2") == b""
    run(tmp_path, scenario, allow=("127.0.0.1/32",))

    async def tls_scenario(port, db):
        client = ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))
        assert status(await exchange(port, get(), context=client, server_hostname=BLOCKED)) == 200
        with pytest.raises((ssl.SSLError, ConnectionError)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=BLOCKED,
                                                           local_addr=("127.0.0.2", 0))
            writer.close()
    run(tmp_path, tls_scenario, tls=True, ca_dir=ca_dir, allow=("127.0.0.1/32",))


def test_the_page_is_served_to_the_dns_clients_networks_by_default():
    assert WarningSettings().allow == ()    # empty: [access] allow, passed by the resolver as `served`


def test_https_blocked_name_and_refused_names(tmp_path, ca_dir):
    async def scenario(port, db):
        client = ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))
        page = await exchange(port, get(), context=client, server_hostname=BLOCKED)
        assert status(page) == 200 and BLOCKED.encode() in page
        # A name that is not blocked: an alert, and the connection ends (the client may see either first).
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            await exchange(port, get(host="www.example.org"), context=client, server_hostname="www.example.org")
        # No CA installed: an ordinary certificate error, quickly, not a hang.
        started = time.monotonic()
        with pytest.raises(ssl.SSLCertVerificationError):
            await exchange(port, get(), context=ssl.create_default_context(), server_hostname=BLOCKED)
        assert time.monotonic() - started < 2
    run(tmp_path, scenario, tls=True, ca_dir=ca_dir)


def test_tls_without_a_ca_fails_at_start(tmp_path):
    settings = WarningSettings(tls_listen=(f"127.0.0.1:{free_port()}",), ca_dir=str(tmp_path / "none"))
    with pytest.raises(certificates.CAError):
        asyncio.run(start_servers(settings, explain, str(tmp_path / "db")))


def test_nothing_to_listen_on_starts_nothing(tmp_path):
    assert asyncio.run(start_servers(WarningSettings(), explain, "")) == []


def test_runs_under_uvloop(tmp_path):
    uvloop = pytest.importorskip("uvloop")

    async def main():
        port = free_port()
        servers = await start_servers(WarningSettings(listen=(f"127.0.0.1:{port}",)), explain,
                                      str(tmp_path / "db"))
        try:
            assert status(await exchange(port, get())) == 200
        finally:
            for server in servers:
                server.close()
    uvloop.run(main())


def test_views_and_reports_are_counted_for_the_metrics(tmp_path):
    from fraudwall.resolver.observe.metrics import Counters

    counters = Counters()

    async def scenario(port, db):
        await exchange(port, get(extra=b"Accept-Language: en\r\n"))
        await exchange(port, get(host="unknown.example.org"))  # not blocked: a neutral page, not a view
        await exchange(port, post("wrong"))

    run(tmp_path, scenario, counters=counters)
    assert counters.counters["fraudwall_warning_page_views"] == {("en", "http"): 1}
    assert counters.counters["fraudwall_warning_reports"] == {(): 1}
