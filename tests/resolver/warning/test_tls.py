"""The HTTPS listener in-process: the name read before TLS, the leaf made off the loop, and each bound."""

import asyncio
import socket
import ssl
import threading
import time
import types

import pytest
from fraudwall.resolver.warning import certificates, tls
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.server import start_servers
from fraudwall.resolver.warning.settings import WarningSettings

from tests.resolver.warning.test_server import free_port, get, run, status

BLOCKED = "icbc-tuikuan.example.com"


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ca")
    certificates.create_ca(directory, "fraudwall")
    return directory


class Lists:
    """What the resolver's explain would say: names under BLOCKED, until `unblock`."""

    def __init__(self):
        self.blocked = True

    def explain(self, host):
        if self.blocked and (host == BLOCKED or host.endswith("." + BLOCKED)):
            return BlockReason(host, "list", "demo", "listed in demo (demo.txt:3)")
        return None


def serve_tls(tmp_path, ca_dir, scenario, lists=None, **options):
    async def on_port(port, db):
        return await scenario(port)
    return run(tmp_path, on_port, tls=True, ca_dir=ca_dir, lists=(lists or Lists()).explain, **options)


def trusting(ca_dir):
    return ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))


async def page(port, context, name, source="127.0.0.1"):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=name,
                                                   local_addr=(source, 0))
    writer.write(get(host=name or BLOCKED))
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def refusal(port, context, name, source="127.0.0.1") -> str:
    """The alert a handshake ends with (as the client's ssl reports it)."""
    with pytest.raises(ssl.SSLError) as raised:
        await page(port, context, name, source)
    return str(raised.value)


def test_a_blocked_name_gets_the_page_and_others_an_alert_each_time(tmp_path, ca_dir):
    lists = Lists()

    async def scenario(port):
        client = trusting(ca_dir)
        assert status(await page(port, client, BLOCKED)) == 200
        assert "UNRECOGNIZED_NAME" in await refusal(port, client, "www.example.org")
        lenient = ssl.create_default_context()
        lenient.check_hostname, lenient.verify_mode = False, ssl.CERT_NONE
        assert "HANDSHAKE_FAILURE" in await refusal(port, lenient, None)
        # The leaf for BLOCKED is kept; once the name leaves the lists, it is not served any more.
        lists.blocked = False
        assert "UNRECOGNIZED_NAME" in await refusal(port, client, BLOCKED)
    serve_tls(tmp_path, ca_dir, scenario, lists)


def raw_exchange(port, pieces, pause_after_first=0.0):
    """Send `pieces` on a plain TCP connection; what comes back before the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for number, piece in enumerate(pieces):
            connection.sendall(piece)
            if number == 0 and pause_after_first:
                time.sleep(pause_after_first)
        answer = b""
        try:
            while chunk := connection.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def client_hello(name):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    lenient = ssl.create_default_context()
    lenient.check_hostname, lenient.verify_mode = False, ssl.CERT_NONE
    client = lenient.wrap_bio(incoming, outgoing, server_hostname=name)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def test_a_client_hello_in_pieces_plain_http_and_silence(tmp_path, ca_dir):
    hello = client_hello("www.example.org")

    async def scenario(port):
        # The hello's halves a moment apart: read once whole, answered with the alert.
        answer = await asyncio.to_thread(raw_exchange, port, [hello[:40], hello[40:]], 0.3)
        assert answer == tls.alert(tls.UNRECOGNIZED_NAME)
        # Plain HTTP on the HTTPS port, and a client that never speaks: closed, nothing sent.
        assert await asyncio.to_thread(raw_exchange, port, [get()]) == b""
        started = time.monotonic()
        assert await asyncio.to_thread(raw_exchange, port, []) == b""
        assert time.monotonic() - started < 3
    serve_tls(tmp_path, ca_dir, scenario, request_timeout=1.0)


def test_leaves_are_made_off_the_loop_within_bounds_per_client_and_in_all(tmp_path, ca_dir, monkeypatch):
    release = threading.Event()
    threads = []
    make = certificates.LeafContexts.make

    def slow_make(self, name, owner, sign):
        threads.append(threading.current_thread().name)
        release.wait(10)
        return make(self, name, owner, sign)

    monkeypatch.setattr(certificates.LeafContexts, "make", slow_make)
    clients = [f"127.0.0.{number}" for number in range(1, 1 + tls.MOST_WAITING // tls.PER_CLIENT)]

    async def scenario(port):
        client = trusting(ca_dir)
        loop = asyncio.get_running_loop()
        waiting = [asyncio.ensure_future(page(port, client, f"n{number}.{BLOCKED}", source=clients[0]))
                   for number in range(tls.PER_CLIENT)]
        deadline = loop.time() + 10
        while not threads:
            assert loop.time() < deadline
            await asyncio.sleep(0.02)
        # While a leaf is being made, the loop answers at once ...
        began = loop.time()
        await asyncio.sleep(0)
        assert loop.time() - began < 0.05
        # ... one more handshake of the same client is refused, other clients' are taken ...
        assert "INTERNAL_ERROR" in await refusal(port, client, f"x.{BLOCKED}", source=clients[0])
        waiting += [asyncio.ensure_future(page(port, client, f"{source}.{number}.{BLOCKED}", source=source))
                    for source in clients[1:] for number in range(tls.PER_CLIENT)]
        await asyncio.sleep(0.3)
        # ... and past the handshakes waiting in all, everybody's is refused.
        assert "INTERNAL_ERROR" in await refusal(port, client, f"y.{BLOCKED}", source="127.0.0.99")
        release.set()
        assert {status(answer) for answer in await asyncio.gather(*waiting)} == {200}
        assert status(await page(port, client, f"x.{BLOCKED}", source=clients[0])) == 200
    serve_tls(tmp_path, ca_dir, scenario)
    assert len(threads) == tls.MOST_WAITING + 1 and all(name.startswith("fraudwall-leaf") for name in threads)


def test_leaves_made_a_second_are_bounded():
    now = [100.0]

    leaves = types.SimpleNamespace(cached=lambda name: None, make=lambda name, owner, sign: name, close=lambda: None)

    async def main():
        minter = tls.LeafMinter(leaves, clock=lambda: now[0])
        try:
            answers = [await minter.context_for(f"n{number}.{BLOCKED}", f"192.0.2.{number}")
                       for number in range(tls.LEAF_BURST + 1)]
            assert answers[:-1] == [f"n{number}.{BLOCKED}" for number in range(tls.LEAF_BURST)]
            assert answers[-1] is None                                   # the burst is spent
            now[0] += 1.0 / tls.LEAVES_PER_SECOND
            assert await minter.context_for(f"late.{BLOCKED}", "192.0.2.1") == f"late.{BLOCKED}"
            assert await minter.context_for(f"later.{BLOCKED}", "192.0.2.1") is None
        finally:
            minter.close()
    asyncio.run(main())


def test_runs_under_uvloop(tmp_path, ca_dir):
    uvloop = pytest.importorskip("uvloop")
    port = free_port()
    settings = WarningSettings(tls_listen=(f"127.0.0.1:{port}",), ca_dir=str(ca_dir))

    async def main():
        servers = await start_servers(settings, Lists().explain, str(tmp_path / "store.db"))
        try:
            assert status(await page(port, trusting(ca_dir), BLOCKED)) == 200
            assert "UNRECOGNIZED_NAME" in await refusal(port, trusting(ca_dir), "www.example.org")
        finally:
            for server in servers:
                server.close()
            for server in servers:
                await server.wait_closed()
    uvloop.run(main())
