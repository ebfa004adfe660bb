"""hosts files: `ADDRESS NAME [NAME...]  # comment`, as Pi-hole and StevenBlack publish them.

A sink address (0.0.0.0, 127.0.0.1, ::, ::1 ...) blocks the names; any other address is
local data, served as a redirect, which is what the hosts file asked for. An address in place
of a name (`0.0.0.0 100.128.0.9`) blocks the answers holding that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from fraudwall.blocklists.formats import (
    DomainEntry,
    Mode,
    NetworkEntry,
    Parsed,
    Skip,
    SkipReason,
    address_text,
    as_written,
    excerpt,
    invalid_name,
    single_label,
)
from fraudwall.blocklists.verdict import Action
from fraudwall.scoring.names import InvalidName, normalise_name

# The boilerplate every hosts file starts with; never an entry.
LOCAL_NAMES = frozenset({
    "localhost", "localhost.localdomain", "local", "broadcasthost", "localhost4",
    "localhost6", "localhost4.localdomain4", "localhost6.localdomain6", "ip6-localhost",
    "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
    "ip6-allhosts", "0.0.0.0",
})


def is_sink(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_unspecified or address.is_loopback


def parse(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    # The few distinct addresses of a file, parsed once each.
    addresses: dict[str, tuple[Action, tuple[str, ...]]] = {}
    for number, text in lines:
        text = text.split("#", 1)[0]
        fields = text.split()
        if not fields:
            continue
        names = fields[1:]
        first = fields[0]
        if not names:
            yield Skip(number, SkipReason.SYNTAX, f"{excerpt(first)!r} alone: a hosts line is an address and names")
            continue
        if all(name.lower().rstrip(".") in LOCAL_NAMES for name in names):
            continue
        meaning = addresses.get(first)
        if meaning is None:
            meaning = _address_meaning(first)
            # Bounded: a garbage file's every line has its own "address".
            if meaning is not None and len(addresses) < 1024:
                addresses[first] = meaning
        if meaning is None:
            yield Skip(number, SkipReason.SYNTAX, f"{excerpt(first)!r} is not an IP address")
            continue
        action, redirect = meaning
        for token in names:
            address = address_text(token)
            if address is not None:
                if action is Action.BLOCK:
                    yield NetworkEntry(address, action, number, as_written(token, address))
                else:
                    yield Skip(number, SkipReason.SYNTAX, f"{excerpt(token)!r}: an address cannot be redirected"
                               f" to {excerpt(first)!r}")
                continue
            try:
                name = normalise_name(token)
            except InvalidName as error:
                yield invalid_name(number, token, error)
                continue
            if name in LOCAL_NAMES:
                continue
            if "." not in name:
                yield single_label(number, token)
                continue
            yield DomainEntry(name, Mode.SUBTREE, action, number, as_written(token, name), False, redirect)


def _address_meaning(text: str) -> tuple[Action, tuple[str, ...]] | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if is_sink(address):
        return Action.BLOCK, ()
    return Action.REDIRECT, (str(address),)


def export(list_name: str, entries: Iterable[DomainEntry]) -> Iterator[str]:
    """A list's blocks as a hosts file, a line at a time; `parse` reads each back as a subtree block.

    A hosts file cannot say allow, `*.name` or a network: those entries are left out (the
    exporter's caller refuses entries that block one name only, which it would widen)."""
    yield f"# fraudwall list {list_name}: blocked names (a hosts file cannot hold allows, wildcards or IP entries)"
    for entry in entries:
        if entry.action is not Action.ALLOW and entry.mode is not Mode.BELOW:
            yield f"0.0.0.0 {entry.name}"
