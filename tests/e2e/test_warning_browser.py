"""The warning page in a real headless Chromium: HTTP and HTTPS (lab CA), both languages, the report form,
an injected reason that must run nothing, and phone and desktop screenshots.

The warning servers run in-process (a thread with its own event loop) with a fake `explain`;
Chromium reaches them through --host-resolver-rules, as it would through fraudwall's DNS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from fraudwall.resolver.warning import certificates
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.reports import ReportStore, reports_path
from fraudwall.resolver.warning.server import start_servers
from fraudwall.resolver.warning.settings import WarningSettings
from tests.conftest import peers_required
from tests.e2e.peers import free_port

pytestmark = pytest.mark.e2e

BLOCKED = "icbc-tuikuan.example.com"
EVIL = "evil.example.com"
INJECTED = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio")
# Set to a directory (e.g. docs) to keep the English and Chinese phone screenshots there.
SCREENSHOTS_ENV = "FRAUDWALL_SCREENSHOTS_DIR"


def explain(host: str) -> BlockReason | None:
    if host == BLOCKED:
        return BlockReason(BLOCKED, "list", "demo", "listed in demo (demo.txt:3)", "icbc.com.cn", 1_763_900_000.0)
    if host == EVIL:
        return BlockReason(EVIL, "scorer", "typo" + INJECTED, "look-alike " + INJECTED, INJECTED, None)
    return None


class WarningServers:
    """start_servers on an event loop in a thread, HTTP and HTTPS on free ports."""

    def __init__(self, directory: Path) -> None:
        self.ca_dir = directory / "ca"
        self.ca = certificates.create_ca(self.ca_dir, "fraudwall")
        self.db = directory / "store.db"
        self.http_port, self.https_port = free_port(), free_port()
        self.settings = WarningSettings(listen=(f"127.0.0.1:{self.http_port}",),
                                        tls_listen=(f"127.0.0.1:{self.https_port}",), ca_dir=str(self.ca_dir))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = asyncio.run_coroutine_threadsafe(
            start_servers(self.settings, explain, str(self.db)), self.loop).result(10)

    @property
    def spki(self) -> str:
        return base64.b64encode(certificates.spki_sha256(self.ca.certificate)).decode()

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()
            for server in self.servers:
                await server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def chromium(require_binary) -> str:
    return require_binary("chromium")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarningServers]:
    running = WarningServers(tmp_path_factory.mktemp("warning"))
    yield running
    running.stop()


def rules(servers: WarningServers, port: int) -> str:
    return f"--host-resolver-rules=MAP {BLOCKED} 127.0.0.1:{port}, MAP {EVIL} 127.0.0.1:{port}"


def run_chromium(chromium: str, tmp_path: Path, *arguments: str) -> str:
    profile = Path(tmp_path) / f"profile-{time.monotonic_ns()}"
    # A bound, not a wait: it returns when Chromium exits. The first headless start of a run (a fresh
    # profile, fonts read) took over 30 s once on a busy shared VM.
    completed = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *arguments],
                               capture_output=True, text=True, timeout=120)
    return completed.stdout


def dump_dom(chromium: str, tmp_path: Path, servers: WarningServers, url: str, *flags: str) -> str:
    port = servers.https_port if url.startswith("https") else servers.http_port
    return run_chromium(chromium, tmp_path, rules(servers, port), *flags, "--dump-dom", url)


def test_http_english_page(chromium, servers, tmp_path):
    dom = dump_dom(chromium, tmp_path, servers, f"http://{BLOCKED}/login/account", "--lang=en-US",
                   "--accept-lang=en-US,en")
    assert '<html lang="en">' in dom
    assert BLOCKED in dom and "/login/account" in dom
    assert "listed in demo (demo.txt:3)" in dom and "icbc.com.cn" in dom
    assert "Never share verification codes" in dom and "96110" in dom
    assert "FW-" in dom


def test_http_chinese_page(chromium, servers, tmp_path):
    dom = dump_dom(chromium, tmp_path, servers, f"http://{BLOCKED}/", "--lang=zh-CN", "--accept-lang=zh-CN,zh")
    assert '<html lang="zh-CN">' in dom
    for phrase in ("此网站已被拦截", "未知链接不点击", "陌生来电不轻信", "个人信息不透露", "转账汇款多核实"):
        assert phrase in dom


def test_language_switch_link(chromium, servers, tmp_path):
    dom = dump_dom(chromium, tmp_path, servers, f"http://{BLOCKED}/x?lang=en", "--accept-lang=zh-CN")
    assert '<html lang="en">' in dom and 'href="?lang=zh-CN"' in dom


def test_https_with_the_lab_ca(chromium, servers, tmp_path):
    dom = dump_dom(chromium, tmp_path, servers, f"https://{BLOCKED}/", "--accept-lang=en",
                   f"--ignore-certificate-errors-spki-list={servers.spki}")
    assert BLOCKED in dom and "Never share verification codes" in dom


def test_https_without_the_ca_is_a_certificate_error_not_the_page(chromium, servers, tmp_path):
    started = time.monotonic()
    dom = dump_dom(chromium, tmp_path, servers, f"https://{BLOCKED}/", "--accept-lang=en")
    assert "Never share verification codes" not in dom
    assert time.monotonic() - started < 20


class DevTools:
    """Just enough of the Chrome DevTools Protocol over one page's WebSocket."""

    def __init__(self, chromium: str, profile: Path, *flags: str) -> None:
        from websockets.sync.client import connect

        profile.mkdir(parents=True, exist_ok=True)
        self.exits = contextlib.ExitStack()
        self.process = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                         *flags, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 15
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = port_file.read_text().splitlines()[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5).read())
        page = next(target for target in targets if target["type"] == "page")
        self.socket = self.exits.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=5))
        self.next_id = 0
        self.events: list[dict] = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=15))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(index)
            self.events.append(json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        self.exits.close()
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def devtools(chromium, servers, tmp_path) -> Iterator[DevTools]:
    try:
        import websockets  # noqa: F401
    except ImportError:
        message = "the report-form test drives Chromium over CDP: pip install websockets"
        if peers_required():
            pytest.fail(f"{message}; FRAUDWALL_REQUIRE_PEERS=1 makes it a failure", pytrace=False)
        pytest.skip(message)
    browser = DevTools(chromium, tmp_path / "cdp-profile", rules(servers, servers.http_port), "--accept-lang=en")
    yield browser
    browser.close()


def test_report_form_stores_a_report(devtools, servers):
    devtools.navigate(f"http://{BLOCKED}/login")
    assert devtools.evaluate("document.querySelector('h1').textContent") == "This site was blocked to protect you"
    reference = devtools.evaluate("document.querySelector('dd.ref').textContent")
    devtools.evaluate("document.querySelector('textarea[name=comment]').value = 'This is my real bank'")
    devtools.events.clear()
    # A click on the real button: the form posts without any script of the page's own.
    devtools.evaluate("document.querySelector('form button[type=submit]').click()")
    devtools.wait_for("Page.loadEventFired")
    assert devtools.evaluate("location.pathname") == "/.well-known/fraudwall/thanks"
    body = devtools.evaluate("document.body.innerText")
    assert "Thank you" in body and reference in body
    report = ReportStore(reports_path(str(servers.db))).reports()[0]
    assert (report.host, report.path, report.comment, report.client) == (BLOCKED, "/login",
                                                                          "This is my real bank", "127.0.0.1")
    assert report.reference == reference


def test_injected_reason_shows_as_text_and_runs_nothing(devtools):
    devtools.navigate(f"http://{EVIL}/%3Cscript%3Ewindow.__pwned=3%3C/script%3E")
    assert devtools.evaluate("typeof window.__pwned") == "undefined"
    assert devtools.evaluate("document.scripts.length") == 0
    assert devtools.evaluate("document.images.length") == 0
    text = devtools.evaluate("document.body.innerText")
    assert INJECTED in text and "<script>window.__pwned=3</script>" in text


SHOTS = (("en", "412,915", "phone"), ("zh-CN", "412,915", "phone"), ("en", "1280,900", "desktop"),
         ("zh-CN", "1280,900", "desktop"))


def test_screenshots(chromium, servers, tmp_path):
    shots = {}
    processes = []
    for lang, size, device in SHOTS:
        shot = tmp_path / f"warning-{lang}-{device}.png"
        profile = tmp_path / f"shot-{lang}-{device}"
        processes.append(subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", rules(servers, servers.https_port),
             f"--ignore-certificate-errors-spki-list={servers.spki}", f"--window-size={size}",
             f"--screenshot={shot}", f"https://{BLOCKED}/login?lang={lang}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        shots[(lang, device)] = shot
    for process in processes:
        process.wait(30)
    for shot in shots.values():
        assert shot.exists() and shot.stat().st_size > 10_000, shot
    keep = os.environ.get(SCREENSHOTS_ENV)
    if keep:
        shutil.copyfile(shots[("en", "phone")], Path(keep) / "warning-en.png")
        shutil.copyfile(shots[("zh-CN", "phone")], Path(keep) / "warning-zh.png")
