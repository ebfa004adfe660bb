"""The `[warning]` section of the config file: the warning page's servers, CA and texts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from fraudwall.resolver.addresses import parse_hostport

LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True)
class WarningSettings:
    # HTTP listeners ("ADDR:PORT", port 80 when left out); empty: no warning page.
    listen: tuple[str, ...] = ()
    # HTTPS listeners (port 443 when left out); they need a CA made by `fraudwall ca init`.
    tls_listen: tuple[str, ...] = ()
    # Clients that may connect; the others are disconnected before any HTTP or TLS.
    # Empty: the networks of [access] allow, whose clients are the ones sent to the page.
    allow: tuple[str, ...] = ()
    # The lab CA's directory; empty: /var/lib/fraudwall/ca as root, else ~/.local/state/fraudwall/ca.
    ca_dir: str = ""
    # Shown on the page ("... protected by {organisation}") and put in the CA's subject.
    organisation: str = "fraudwall"
    # An admin's TOML replacing some or all texts: [en] / [zh-CN] tables, keys as in texts.toml.
    texts_file: str = ""
    # The page's language when Accept-Language names neither zh nor en.
    default_language: str = "zh-CN"
    # "This is a mistake" reports a client may send per hour (0 turns the report form off).
    report_rate_per_hour: int = 10
    # The longest comment kept with a report, in characters.
    comment_max_chars: int = 500
    # A client must send its whole request within this (slowloris), seconds.
    request_timeout: float = 10.0
    # Connections served at once; more are closed at once.
    max_connections: int = 256
    # Leaf certificates: their lifetime, and how many names keep one in memory.
    leaf_validity_days: int = 3
    leaf_cache_size: int = 1024

    def __post_init__(self) -> None:
        for key, values, port in (("listen", self.listen, 80), ("tls_listen", self.tls_listen, 443)):
            for value in values:
                try:
                    parse_hostport(value, port)
                except ValueError as error:
                    raise ValueError(f"{key}: {error}") from None
        for network in self.allow:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"allow: {network!r} is not an IP network") from None
        if not self.organisation.strip() or len(self.organisation) > 64:
            raise ValueError("organisation: must be 1 to 64 characters")
        if self.default_language not in LANGUAGES:
            raise ValueError(f"default_language: must be one of {', '.join(LANGUAGES)}, not {self.default_language!r}")
        if not 0 <= self.report_rate_per_hour <= 10_000:
            raise ValueError("report_rate_per_hour: must be between 0 and 10000")
        if not 0 <= self.comment_max_chars <= 4000:
            raise ValueError("comment_max_chars: must be between 0 and 4000")
        if not 0.5 <= self.request_timeout <= 300:
            raise ValueError("request_timeout: must be between 0.5 and 300 seconds")
        if not 1 <= self.max_connections <= 100_000:
            raise ValueError("max_connections: must be between 1 and 100000")
        if not 1 <= self.leaf_validity_days <= 30:
            raise ValueError("leaf_validity_days: must be between 1 and 30")
        if not 1 <= self.leaf_cache_size <= 1_000_000:
            raise ValueError("leaf_cache_size: must be between 1 and 1000000")
