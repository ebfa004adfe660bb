"""The `serve` verb."""

from __future__ import annotations

import argparse
import logging
import sys
import tomllib
from pathlib import Path

from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.config import AdminSettings, Config, SinkholeSettings, load
from fraudwall.resolver.config import ADMIN_PORT


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the DNS resolver",
        description="Run the resolver: answer clients over UDP and TCP on each listen address, "
                    "check every query against the blocklists and the scorer, forward the rest upstream. "
                    "Flags override the config file.")
    parser.add_argument("--listen", action="append", metavar="ADDR:PORT",
                        help="address to serve UDP and TCP on, e.g. 127.0.0.1:5300 or [::1]:5300 (repeatable)")
    parser.add_argument("--upstream", action="append", metavar="ADDR:PORT",
                        help="upstream resolver to forward to (repeatable; default: /etc/resolv.conf)")
    parser.add_argument("--db", metavar="PATH", help="the blocklist store to answer from")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    parser.add_argument("--sinkhole-ipv4", metavar="ADDR", help="the A answer for a blocked name")
    parser.add_argument("--sinkhole-ipv6", metavar="ADDR",
                        help="the AAAA answer for a blocked name ('' for NODATA)")
    parser.add_argument("--workers", type=int, metavar="N", help="worker processes sharing the ports")
    parser.add_argument("--user", metavar="NAME",
                        help="started as root: bind the ports, then run as this user ([server] user)")
    parser.add_argument("--warning-listen", action="append", metavar="ADDR:PORT",
                        help="serve the warning page over HTTP here (repeatable)")
    parser.add_argument("--warning-tls-listen", action="append", metavar="ADDR:PORT",
                        help="serve the warning page over HTTPS here, with the lab CA (repeatable)")
    parser.add_argument("--ca-dir", metavar="DIR", help="the lab CA made by `fraudwall ca init`")
    parser.add_argument("--admin", metavar="ADDR:PORT", help="serve /metrics here ('' turns it off)")
    parser.add_argument("--proxy-from", action="append", metavar="CIDR",
                        help="read the real client from the PROXY v2 header of queries from this network, "
                             "e.g. dnsdist's 10.20.0.10/32 (repeatable; [server] proxy_from)")
    parser.add_argument("--xfr-listen", metavar="ADDR:PORT",
                        help="serve each list as the RPZ zone NAME.rpz.fraudwall. by zone transfer (AXFR/IXFR) "
                             "over TCP here, e.g. 127.0.0.1:5353 ([xfr] listen; '' for none)")
    parser.set_defaults(run=run_serve)


# Each flag and the config key it lays over: (flag's dest, section, key).
FLAG_KEYS = (
    ("listen", "server", "listen"), ("log_level", "server", "log_level"), ("workers", "server", "workers"),
    ("user", "server", "user"), ("proxy_from", "server", "proxy_from"),
    ("upstream", "upstream", "servers"),
    ("sinkhole_ipv4", "sinkhole", "ipv4"), ("sinkhole_ipv6", "sinkhole", "ipv6"),
    ("db", "blocklists", "db"),
    ("warning_listen", "warning", "listen"), ("warning_tls_listen", "warning", "tls_listen"),
    ("ca_dir", "warning", "ca_dir"),
    ("admin", "admin", "listen"),
    ("xfr_listen", "xfr", "listen"),
)


def with_flags(config: Config, args: argparse.Namespace) -> Config:
    """The config with the command-line flags laid over it; ConfigError when a flag's value is wrong."""
    changes: dict[str, dict[str, object]] = {}
    for dest, section, key in FLAG_KEYS:
        value = getattr(args, dest)
        if value is not None:
            changes.setdefault(section, {})[key] = tuple(value) if isinstance(value, list) else value
    for section, keys in changes.items():
        config = config.replace(section, **keys)
    return sinkhole_at_warning_page(config)


def sinkhole_at_warning_page(config: Config) -> Config:
    """With the warning page on, blocked names point at it, unless the admin chose sinkhole addresses."""
    defaults = SinkholeSettings()
    addresses = [parse_hostport(address, 80)[0] for address in (*config.warning.listen, *config.warning.tls_listen)]
    changes = {}
    if config.sinkhole.ipv4 == defaults.ipv4:
        ipv4 = next((a for a in addresses if "." in a and a != "0.0.0.0"), None)
        if ipv4:
            changes["ipv4"] = ipv4
    if config.sinkhole.ipv6 == defaults.ipv6:
        ipv6 = next((a for a in addresses if ":" in a and a != "::"), None)
        if ipv6:
            changes["ipv6"] = ipv6
    return config.replace("sinkhole", **changes) if changes else config


class AdminUnavailable(Exception):
    """The /metrics address the operator asked for cannot be had: one line naming --admin."""


def admin_or_off(config: Config, chosen: bool) -> tuple[Config, str]:
    """The config with /metrics where it can listen, and a warning line ("" when none).

    The default address taken (a second fraudwall, another exporter) turns /metrics off with a warning:
    DNS matters more than its counters. An address the operator chose (`--admin`, `[admin] listen`)
    that is taken stops `serve` instead (AdminUnavailable), since Prometheus would scrape nothing.
    """
    listen = config.admin.listen
    if not listen:
        return config, ""
    from fraudwall.resolver.server.listeners import tcp_socket

    host, port = parse_hostport(listen, ADMIN_PORT)
    try:
        # A bind that is let go at once: Listeners.bind takes it for good a moment later.
        tcp_socket(host, port, 1).close()
    except OSError as error:
        why = error.strerror or str(error)
        if chosen:
            raise AdminUnavailable(f"--admin {listen}: cannot serve /metrics there: {why} "
                                   f"(choose another ADDR:PORT, or --admin '' for none)") from None
        return (config.replace("admin", listen=""),
                f"fraudwall: warning: /metrics is off: the default {listen} is taken ({why}); "
                f"--admin ADDR:PORT serves it elsewhere")
    return config, ""


def xfr_unavailable(config: Config) -> str:
    """Why `[xfr] listen` cannot be had, as one line ("" when it can): a taken address stops `serve` at
    once, rather than the transfer server failing again every few seconds in the background."""
    if not config.xfr.listen:
        return ""
    from fraudwall.resolver.server.listeners import tcp_socket
    from fraudwall.resolver.xfr.server import bind_error

    host, port = parse_hostport(config.xfr.listen, 53)
    try:
        tcp_socket(host, port, 1).close()   # let go at once: serve binds it for good once it has its listeners
    except OSError as error:
        return bind_error(config.xfr.listen, error)
    return ""


def sets_admin_listen(source: str) -> bool:
    """Whether the config file names `[admin] listen` itself, even as the default address."""
    try:
        document = tomllib.loads(Path(source).read_text())
    except (OSError, ValueError):   # "<defaults>", or a file changed since it was loaded
        return False
    admin = document.get("admin")
    return isinstance(admin, dict) and "listen" in admin


def run_serve(args: argparse.Namespace) -> int:
    config = with_flags(args.config, args)
    chosen = args.admin is not None or config.admin.listen != AdminSettings().listen \
        or sets_admin_listen(config.source)
    try:
        config, warning = admin_or_off(config, chosen)
    except AdminUnavailable as error:
        print(f"fraudwall: error: {error}", file=sys.stderr)
        return 2
    if warning:
        print(warning, file=sys.stderr)
    taken = xfr_unavailable(config)
    if taken:
        print(f"fraudwall: error: {taken}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.server.log_level.upper(),
                        format="%(asctime)s fraudwall[%(process)d] %(levelname)s %(message)s")

    def reread() -> Config:
        # SIGHUP reads the same file again, with the same flags over it; /metrics turned off because its
        # default address was taken stays off without a warning at each reload.
        fresh = with_flags(load(args.config_file), args)
        return fresh.replace("admin", listen="") if warning else fresh

    # Here, not at the top: every other verb would pay for importing the server (~0.2 s).
    from fraudwall.resolver.server.worker import serve

    return serve(config, reread=reread)
