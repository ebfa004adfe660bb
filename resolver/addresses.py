"""`ADDR:PORT` as written in configs and flags; no imports, so every settings module can use it."""

from __future__ import annotations

import ipaddress


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """`127.0.0.1:53`, `[::1]:5300`, `::1` or `192.0.2.1` to (host, port); ValueError otherwise."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [IPv6]:PORT")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{port_text!r} is not a port number (1-65535)")
        port = int(port_text)
    return str(address), port
