"""The admin listener (/metrics): its own allow list, loopback unless configured, checked before any HTTP."""

import asyncio
import socket

import pytest
from fraudwall.resolver import config
from fraudwall.resolver.observe.admin import start_admin
from fraudwall.resolver.config import AdminSettings, ConfigError


class NoMetrics:
    def collect(self):
        return iter(())


def request_from(port: int, source: str) -> bytes:
    """GET /metrics from `source`; b"" when the listener closed the connection without a word."""
    with socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0)) as connection:
        try:
            connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def served_to(allow: tuple[str, ...], *sources: str) -> list[bytes]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        server = await start_admin(f"127.0.0.1:{port}", NoMetrics(), allow=allow)
        try:
            return [await asyncio.to_thread(request_from, port, source) for source in sources]
        finally:
            server.close()
            await server.wait_closed()
    return asyncio.run(main())


def test_only_loopback_by_default():
    assert AdminSettings().allow == ("127.0.0.0/8", "::1/128")
    assert config.load().admin.allow == ("127.0.0.0/8", "::1/128")


def test_a_client_outside_the_allow_list_is_closed_before_any_http():
    inside, outside = served_to(("127.0.0.1/32",), "127.0.0.1", "127.0.0.2")
    assert inside.startswith(b"HTTP/1.1 200")
    assert outside == b""


@pytest.mark.parametrize("section", ["admin", "warning"])
def test_a_bad_network_names_the_section_and_key(tmp_path, section):
    path = tmp_path / "fraudwall.toml"
    path.write_text(f"[{section}]\nallow = ['10.0.0.0/33']\n")
    with pytest.raises(ConfigError, match=rf"\[{section}\] allow: '10.0.0.0/33' is not an IP network"):
        config.load(path)
