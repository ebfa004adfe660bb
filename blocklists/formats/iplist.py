"""IP lists: one address or CIDR network a line, v4 or v6, `#` and `;` comments (Spamhaus DROP style)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from fraudwall.blocklists.formats import NetworkEntry, Parsed, Skip, SkipReason, excerpt
from fraudwall.blocklists.verdict import Action


def parse(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    for number, text in lines:
        text = text.split("#", 1)[0].split(";", 1)[0].strip()
        if not text:
            continue
        token = text.split()[0]
        network = parse_network(token)
        if network is None:
            yield Skip(number, SkipReason.INVALID_ADDRESS, f"{excerpt(token)!r} is not an address or network")
            continue
        yield NetworkEntry(network, Action.BLOCK, number, "" if token == network else token)


def parse_network(token: str) -> str | None:
    """The canonical text of an address (`192.0.2.1`) or network (`192.0.2.0/24`); None if neither."""
    try:
        network = ipaddress.ip_network(token, strict=False)
    except ValueError:
        return None
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)
