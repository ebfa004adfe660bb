"""One `Config`, read from TOML, that goes everywhere instead of globals.

Each section is a frozen dataclass; the loader checks every key's name and type
against it, so a typo or a wrong type is an error that names the file, the key
and what is wrong, raised before anything binds a socket.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import pwd
import re
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fraudwall.blocklists.settings import BlocklistSettings, Feed, Follow
from fraudwall.resolver.addresses import parse_hostport
from fraudwall.resolver.dns.upstream_policy import Upstream
from fraudwall.resolver.warning.settings import WarningSettings
from fraudwall.resolver.xfr import keys as xfr_keys
from fraudwall.scoring.names import InvalidName, normalise_name
from fraudwall.scoring.settings import ScorerSettings


class ConfigError(Exception):
    """A config file or flag is wrong; the message names where and what."""


MAX_TTL = 2**31 - 1   # RFC 2181 section 8


def _check_listen(values: tuple[str, ...], default_port: int) -> None:
    for value in values:
        parse_hostport(value, default_port)


@dataclass(frozen=True)
class ServerSettings:
    listen: tuple[str, ...] = ("127.0.0.1:5300",)
    workers: int = 1
    log_level: str = "info"
    tcp_idle_timeout: float = 10.0
    tcp_max_connections: int = 512
    # One client (an IPv4 address, an IPv6 /56) may hold this many of them: nobody can take them all.
    tcp_max_connections_per_client: int = 16
    # A message must be whole this long after its first byte, however slowly the rest trickles in.
    tcp_message_timeout: float = 2.0
    shutdown_grace: float = 3.0
    # What id.server and hostname.bind (CHAOS TXT) answer; "" refuses them, as Unbound's hide-identity.
    identity: str = ""
    # Started as root: bind the ports, then run as this user (as Unbound's `username:`); "" stays who it is.
    user: str = ""
    # NXDOMAIN for Firefox's canary use-application-dns.net: browsers then keep using this resolver
    # instead of turning DNS over HTTPS on by themselves, round every list.
    doh_canary: bool = True
    # Senders (dnsdist) whose datagrams and connections start with a PROXY v2 header naming the real
    # client; from them the header is required. Empty: nobody's is read, and one sent is refused.
    proxy_from: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.listen:
            raise ValueError("listen: needs at least one ADDR:PORT")
        _check_networks("proxy_from", self.proxy_from)
        try:
            _check_listen(self.listen, 53)
        except ValueError as error:
            raise ValueError(f"listen: {error}") from None
        if not 1 <= self.workers <= 64:
            raise ValueError("workers: must be between 1 and 64")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError(f"log_level: must be debug, info, warning or error, not {self.log_level!r}")
        if self.tcp_max_connections < 1:
            raise ValueError("tcp_max_connections: must be at least 1")
        if not 0 < self.tcp_idle_timeout <= 3600:  # NaN fails too
            raise ValueError("tcp_idle_timeout: must be above 0 and at most 3600 seconds")
        if not 0 <= self.shutdown_grace <= 300:
            raise ValueError("shutdown_grace: must be between 0 and 300 seconds")
        if self.tcp_max_connections_per_client < 1:
            raise ValueError("tcp_max_connections_per_client: must be at least 1")
        if not 0.05 <= self.tcp_message_timeout <= 60:  # NaN fails too
            raise ValueError("tcp_message_timeout: must be between 0.05 and 60 seconds")
        if len(self.identity.encode("utf-8")) > 255 or not self.identity.isprintable():
            raise ValueError("identity: must be printable and at most 255 octets (one TXT string)")
        if self.user:
            try:
                pwd.getpwnam(self.user)
            except (KeyError, ValueError):  # ValueError: a NUL in the name
                raise ValueError(f"user: no such user {self.user!r}") from None


def _check_networks(key: str, networks: tuple[str, ...]) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{key}: {network!r} is not an IP network") from None


@dataclass(frozen=True)
class AccessSettings:
    # Client networks that get answers; everybody else gets REFUSED (no open resolver).
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Networks refused even inside `allow` (a compromised host in an allowed /16): deny wins.
    deny: tuple[str, ...] = ()
    # "refuse": REFUSED with EDE 18; "drop": no answer at all.
    action: str = "refuse"

    def __post_init__(self) -> None:
        _check_networks("allow", self.allow)
        _check_networks("deny", self.deny)
        if self.action not in ("refuse", "drop"):
            raise ValueError(f"action: must be refuse or drop, not {self.action!r}")


@dataclass(frozen=True)
class RateLimitSettings:
    # Queries a second each client may send on average, and at once; 0 turns the limit off.
    # A browsing workstation asks a few a second: only a flood reaches these.
    qps: float = 200.0
    burst: int = 1000
    # "slip": every other limited UDP query gets an empty TC=1 reply (the client retries over
    # TCP, which spoofed addresses cannot), the others nothing, as BIND's RRL slip 2;
    # "refuse": REFUSED; "drop": nothing.
    action: str = "slip"
    # Networks never limited: a local dnsdist or benchmark.
    exempt: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    ipv4_prefix: int = 32     # the clients of one network of this size share a bucket
    ipv6_prefix: int = 56     # an IPv6 site gets a /56 or a /48: one host can use any of its addresses
    max_clients: int = 100_000  # client networks kept; past it one whose bucket has refilled is forgotten first

    def __post_init__(self) -> None:
        if not 0 <= self.qps <= 1_000_000:  # NaN fails too
            raise ValueError("qps: must be between 0 and 1000000 (0 turns rate limiting off)")
        if self.burst < 1:
            raise ValueError("burst: must be at least 1")
        if self.action not in ("slip", "refuse", "drop"):
            raise ValueError(f"action: must be slip, refuse or drop, not {self.action!r}")
        _check_networks("exempt", self.exempt)
        if not 0 <= self.ipv4_prefix <= 32:
            raise ValueError("ipv4_prefix: must be between 0 and 32")
        if not 0 <= self.ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix: must be between 0 and 128")
        if self.max_clients < 1:
            raise ValueError("max_clients: must be at least 1")


@dataclass(frozen=True)
class UpstreamSettings:
    # "resolv.conf" reads the nameservers from /etc/resolv.conf, as dnsmasq does.
    servers: tuple[str, ...] = ("resolv.conf",)
    resolv_conf: str = "/etc/resolv.conf"
    timeout: float = 1.5
    attempts: int = 2
    # Queries waiting for an upstream, each holding a socket: in all, and of one client (an IPv4
    # address, an IPv6 /56). Past either, SERVFAIL at once, so a random-name flood to a slow
    # upstream cannot use up the file descriptors everybody's queries need.
    max_in_flight: int = 1000
    max_in_flight_per_client: int = 100
    # UDP sockets kept open on random source ports, one drawn at random for each try (Unbound's
    # outgoing-range): opening and closing a socket per try cost more than the rest of forwarding.
    # 0 opens a fresh socket for every try.
    outgoing_range: int = 256

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("servers: needs at least one upstream")
        for server in self.servers:
            if server != "resolv.conf":
                try:
                    parse_hostport(server, 53)
                except ValueError as error:
                    raise ValueError(f"servers: {error}") from None
        if not 0.05 <= self.timeout <= 30:
            raise ValueError("timeout: must be between 0.05 and 30 seconds")
        if not 1 <= self.attempts <= 10:
            raise ValueError("attempts: must be between 1 and 10")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight: must be at least 1")
        if self.max_in_flight_per_client < 1:
            raise ValueError("max_in_flight_per_client: must be at least 1")
        if not 0 <= self.outgoing_range <= 16384:
            raise ValueError("outgoing_range: must be between 0 and 16384")


@dataclass(frozen=True)
class CacheSettings:
    size: int = 100_000
    max_ttl: int = 86_400
    min_ttl: int = 0
    negative_max_ttl: int = 3_600
    servfail_ttl: int = 5
    # Seconds past expiry an answer is still served (TTL 30, EDE 3) when no upstream answers
    # (RFC 8767); 0 turns it off.
    serve_stale: int = 86_400

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("size: must not be negative (0 turns the cache off)")
        if not 0 <= self.serve_stale <= 604_800:
            raise ValueError("serve_stale: must be between 0 and 604800 seconds (RFC 8767 caps it at 7 days)")
        for key in ("max_ttl", "min_ttl", "negative_max_ttl", "servfail_ttl"):
            if not 0 <= getattr(self, key) <= MAX_TTL:
                raise ValueError(f"{key}: must be between 0 and {MAX_TTL} seconds")
        if self.min_ttl > self.max_ttl:
            raise ValueError("min_ttl: must not be above max_ttl")


@dataclass(frozen=True)
class SinkholeSettings:
    ipv4: str = "0.0.0.0"
    ipv6: str = "::"      # empty: AAAA queries for blocked names get NODATA
    ttl: int = 60
    # "sinkhole": A/AAAA point at the sinkhole, other types NODATA; or "nxdomain", "nodata", "refused".
    policy: str = "sinkhole"

    def __post_init__(self) -> None:
        try:
            ipaddress.IPv4Address(self.ipv4)
        except ValueError:
            raise ValueError(f"ipv4: {self.ipv4!r} is not an IPv4 address") from None
        if self.ipv6:
            try:
                ipaddress.IPv6Address(self.ipv6)
            except ValueError:
                raise ValueError(f"ipv6: {self.ipv6!r} is not an IPv6 address") from None
        if self.policy not in ("sinkhole", "nxdomain", "nodata", "refused"):
            raise ValueError(f"policy: must be sinkhole, nxdomain, nodata or refused, not {self.policy!r}")
        if not 0 <= self.ttl <= 86_400:
            raise ValueError("ttl: must be between 0 and 86400")


@dataclass(frozen=True)
class AllowlistSettings:
    # Names (and their subdomains) that are never blocked nor scored; kept as the blocklists
    # keep names (lowercase, punycode), so "faß.de" allows the query xn--fa-hia.de.
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = []
        for name in self.names:
            try:
                names.append(normalise_name(name))
            except InvalidName as error:
                raise ValueError(f"names: {name!r} is not a domain name: {error}") from None
        object.__setattr__(self, "names", tuple(names))


@dataclass(frozen=True)
class QueryLogSettings:
    enabled: bool = True
    path: str = ""                 # default: querylog.db beside the blocklist store
    retention_days: float = 30.0
    max_rows: int = 1_000_000
    log_all: bool = False          # also log allowed queries (otherwise they are only counted)
    pseudonymise: bool = False     # store clients as a keyed hash, not their address

    def __post_init__(self) -> None:
        if not self.retention_days > 0:  # NaN fails too
            raise ValueError("retention_days: must be above 0")
        if self.max_rows < 1000:
            raise ValueError("max_rows: must be at least 1000")


@dataclass(frozen=True)
class AtRiskSettings:
    distinct_names: int = 5        # distinct blocked fraud names ...
    window_hours: float = 24.0     # ... within this many hours
    after_warning: bool = True     # also flag a block after a look-alike warning
    webhook: str = ""              # POSTed a JSON event for each client newly at risk
    check_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.distinct_names < 1:
            raise ValueError("distinct_names: must be at least 1")
        if not self.window_hours > 0:  # NaN fails too
            raise ValueError("window_hours: must be above 0")
        if self.webhook and not self.webhook.startswith(("http://", "https://")):
            raise ValueError(f"webhook: {self.webhook!r} is not an http:// or https:// URL")
        if not self.check_seconds >= 1:
            raise ValueError("check_seconds: must be at least 1")


@dataclass(frozen=True)
class NodSettings:
    """`[nod]`: newly observed domains (resolver/dns/stages/nod.py, blocklists/seen.py)."""

    enabled: bool = True
    # A newly observed domain whose name scores this much is warned about (or blocked): below the
    # scorer's warn_threshold, since a domain nobody here asked for lately makes a middling score count.
    threshold: float = 0.3
    action: str = "warn"           # warn: answer, log and count | block: the sinkhole answer, as a scorer block
    days: int = 7                  # a domain nobody asked for in `days` to 2 x `days` days is new again
    size: int = 1_000_000          # distinct domains a period of `days` holds at 1 % false positives
    path: str = ""                 # default: seen-domains.bloom beside the blocklist store

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:  # NaN fails too
            raise ValueError("threshold: must be above 0 and at most 1")
        if self.action not in ("warn", "block"):
            raise ValueError(f"action: must be warn or block, not {self.action!r}")
        if not 1 <= self.days <= 366:
            raise ValueError("days: must be from 1 to 366")
        if not 1000 <= self.size <= 100_000_000:   # 240 MB of file at most
            raise ValueError("size: must be from 1000 to 100000000 domains")


# /metrics' port when none is given. Not CoreDNS's 9153: a host running both would have the second
# to start fail.
ADMIN_PORT = 9553


@dataclass(frozen=True)
class AdminSettings:
    # /metrics (and nothing that changes state) on loopback; "" turns it off.
    listen: str = f"127.0.0.1:{ADMIN_PORT}"
    # Clients that may connect (a Prometheus elsewhere); the others are disconnected before any HTTP.
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")

    def __post_init__(self) -> None:
        _check_networks("allow", self.allow)
        if self.listen:
            try:
                parse_hostport(self.listen, ADMIN_PORT)
            except ValueError as error:
                raise ValueError(f"listen: {error}") from None


XFR_SUFFIX = "rpz.fraudwall"


@dataclass(frozen=True)
class XfrSettings:
    # fraudwall as an RPZ primary: each list NAME served as the zone NAME.<suffix> (and the operator's
    # own entries as manual.<suffix>) by AXFR and IXFR over TCP on this ADDR:PORT; "" serves none.
    listen: str = ""
    # Secondaries that may transfer the zones; everybody else is REFUSED.
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    suffix: str = XFR_SUFFIX
    # Secondaries sent a NOTIFY (RFC 1996) when a zone's serial moves, e.g. ["192.0.2.53:53"];
    # "192.0.2.53:53 key NAME" signs it with a key of `keys_file`.
    notify: tuple[str, ...] = ()
    # TSIG keys (RFC 8945) in BIND's `key "NAME" { algorithm hmac-sha256; secret "..."; };` form,
    # as `tsig-keygen` prints them, in a file only its owner may read; "" for none. A signed
    # request is answered signed; a followed list's `key` and a NOTIFY's key are named here.
    keys_file: str = ""
    # true: an AXFR or IXFR must be signed with a key of `keys_file` (and come from `allow`).
    require_key: bool = False

    def __post_init__(self) -> None:
        _check_networks("allow", self.allow)
        for key, values in (("listen", (self.listen,) if self.listen else ()), ("notify", self.notify)):
            for value in values:
                try:
                    address, key_name = xfr_keys.with_key(value)
                    parse_hostport(address, 53)
                    if key_name and key != "notify":
                        raise ValueError(f"{value!r}: only a NOTIFY target names a key")
                except ValueError as error:
                    raise ValueError(f"{key}: {error}") from None
        if self.require_key and not self.keys_file:
            raise ValueError("require_key: true needs keys_file, the keys a transfer may be signed with")
        try:
            if normalise_name(self.suffix) != self.suffix.rstrip(".").lower() or "." not in self.suffix.strip("."):
                raise InvalidName("not a domain name")
        except InvalidName:
            raise ValueError(f"suffix: {self.suffix!r} is not a domain name of two labels or more") from None
        object.__setattr__(self, "suffix", self.suffix.rstrip(".").lower())


POLICY_MODES = ("block", "warn", "off")
POLICY_KEYS = ("name", "clients", "mode", "lists", "scorer", "sinkhole")
_POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class PolicySettings:
    """One `[[policy]]` table: the rules for the clients of some networks."""

    name: str
    clients: tuple[str, ...]
    mode: str = "block"                     # block | warn (answer, log, count) | off (answer, log)
    lists: tuple[str, ...] | None = None    # the lists that apply; None: every list
    scorer: str = ""                        # block | warn | off; "": as `[scorer] mode`
    sinkhole: tuple[tuple[str, object], ...] = ()   # `[sinkhole]` keys this policy sets otherwise


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    ratelimit: RateLimitSettings = field(default_factory=RateLimitSettings)
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    sinkhole: SinkholeSettings = field(default_factory=SinkholeSettings)
    allowlist: AllowlistSettings = field(default_factory=AllowlistSettings)
    blocklists: BlocklistSettings = field(default_factory=BlocklistSettings)
    scorer: ScorerSettings = field(default_factory=ScorerSettings)
    querylog: QueryLogSettings = field(default_factory=QueryLogSettings)
    atrisk: AtRiskSettings = field(default_factory=AtRiskSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    warning: WarningSettings = field(default_factory=WarningSettings)
    xfr: XfrSettings = field(default_factory=XfrSettings)
    nod: NodSettings = field(default_factory=NodSettings)
    policy: tuple[PolicySettings, ...] = ()   # `[[policy]]` tables, first match first
    source: str = "<defaults>"

    def replace(self, section: str, **changes: object) -> "Config":
        """A copy with some keys of one section changed (command-line flags), checked like the file."""
        current = getattr(self, section)
        try:
            updated = dataclasses.replace(current, **changes)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"command line: [{section}] {error}") from None
        return dataclasses.replace(self, **{section: updated})


def bundled_config_path() -> Path:
    return Path(str(resources.files("fraudwall.resolver").joinpath("default.toml")))


def load(path: str | Path | None = None) -> Config:
    """The config in `path` (the bundled default when None); ConfigError names file and key."""
    path = Path(path) if path is not None else bundled_config_path()
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 (byte {error.start})") from None
    return from_document(document, str(path), base=path.parent)


def from_document(document: dict, source: str, base: Path | None = None) -> Config:
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name not in ("source", "policy")}
    built: dict[str, object] = {}
    document = dict(document)
    policy_tables = document.pop("policy", [])
    feeds, follows = _from_lists(document.pop("lists", []), source)
    if feeds or follows:
        blocklists = dict(document.get("blocklists", {}))
        for key, tables in (("feeds", feeds), ("follow", follows)):
            if tables:
                blocklists[key] = [*blocklists.get(key, []), *tables]
        document["blocklists"] = blocklists
    for name, table in document.items():
        if name not in sections:
            known = ", ".join(sorted(sections))
            raise ConfigError(f"{source}: unknown section [{name}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        section_type = typing.get_type_hints(Config)[name]
        built[name] = _section(section_type, table, f"{source}: [{name}]")
    config = Config(**built, policy=_policies(policy_tables, source), source=source)
    if base is not None:
        config = _resolve_relative_files(config, base)
    return _with_xfr_keys(config, source)


FEED_KEYS = ("name", "url", "format", "refresh")
FOLLOW_KEYS = ("name", "primary", "zone", "key")


def _from_lists(lists: object, source: str) -> tuple[list[Feed], list[Follow]]:
    """`[[lists]]` tables: a feed (name, url, format, refresh seconds) as a `[blocklists] feeds`
    entry, a followed zone (name, primary, zone, key) as a `[blocklists] follow` entry."""
    if not isinstance(lists, list):
        raise ConfigError(f"{source}: lists must be written as [[lists]] tables")
    feeds, follows = [], []
    for number, table in enumerate(lists, start=1):
        where = f"{source}: [[lists]] #{number}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        if "url" in table and "primary" in table:
            raise ConfigError(f"{where} primary: a list is downloaded (url) or followed (primary), not both")
        known = FOLLOW_KEYS if "primary" in table else FEED_KEYS
        unknown = set(table) - set(known)
        if unknown:
            raise ConfigError(f"{where} unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
        for key in known:
            if key in table and key != "refresh" and (not isinstance(table[key], str) or not table[key]):
                raise ConfigError(f"{where} {key}: must be a string, not {table[key]!r}")
        for key in known[:2] if "primary" in table else ("name", "url"):
            if key not in table:
                raise ConfigError(f"{where} {key}: a string is required")
        try:
            if "primary" in table:
                if "zone" not in table:
                    raise ConfigError(f"{where} zone: a string is required (the zone to follow)")
                follows.append(Follow(table["name"], table["zone"], table["primary"], table.get("key", "")))
                continue
            refresh = table.get("refresh", 3600)
            if not isinstance(refresh, int) or isinstance(refresh, bool):
                raise ConfigError(f"{where} refresh: must be a number of seconds, not {refresh!r}")
            feeds.append(Feed(table["name"], table["url"], table.get("format", "auto"), refresh))
        except ValueError as error:
            raise ConfigError(f"{where} {error}") from None
    return feeds, follows


def _with_xfr_keys(config: Config, source: str) -> Config:
    """The TSIG keys checked once, when the config is read: `[xfr] keys_file` readable by its owner
    only and well formed, every key a followed list or a NOTIFY names in it; each followed list
    told where its key lives (its refresh reads it there, not from a command line)."""
    xfr, follows = config.xfr, config.blocklists.follow
    named = [(f"list {follow.name!r} key", follow.key) for follow in follows if follow.key]
    named += [(f"[xfr] notify {text!r}", xfr_keys.with_key(text)[1]) for text in xfr.notify
              if xfr_keys.with_key(text)[1]]
    if not xfr.keys_file:
        if named:
            where, key = named[0]
            raise ConfigError(f"{source}: {where}: {key!r} needs [xfr] keys_file, the file that holds the key")
        return config
    try:
        keys = xfr_keys.load(xfr.keys_file)
    except xfr_keys.KeyFileError as error:
        raise ConfigError(f"{source}: [xfr] keys_file: {error}") from None
    for where, key in named:
        if key not in keys:
            raise ConfigError(f"{source}: {where}: no key {key!r} in {xfr.keys_file} "
                              f"(it holds: {', '.join(sorted(keys)) or 'none'})")
    follows = tuple(dataclasses.replace(follow, keys_file=xfr.keys_file) if follow.key else follow
                    for follow in follows)
    return dataclasses.replace(config, blocklists=dataclasses.replace(config.blocklists, follow=follows))


def _policies(tables: object, source: str) -> tuple[PolicySettings, ...]:
    """`[[policy]]` tables, each checked whole: a wrong one is one line naming its number and key."""
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: policy must be written as [[policy]] tables")
    policies: list[PolicySettings] = []
    for number, table in enumerate(tables, start=1):
        where = f"{source}: [[policy]] {number}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        for key in table:
            if key not in POLICY_KEYS:
                raise ConfigError(f"{where} {key}: unknown key (known: {', '.join(POLICY_KEYS)})")
        name = table.get("name")
        if not isinstance(name, str) or not _POLICY_NAME.match(name) or name == "default":
            raise ConfigError(f"{where} name: {name!r} must be 1 to 32 lowercase letters, digits, '.', '_' or '-' "
                              f"(and not 'default')")
        if any(policy.name == name for policy in policies):
            raise ConfigError(f"{where} name: {name!r} is the name of an earlier [[policy]]")
        clients = _coerce(table.get("clients", []), tuple[str, ...], f"{where} clients")
        if not clients:
            raise ConfigError(f"{where} clients: needs at least one network (\"192.0.2.0/24\")")
        try:
            _check_networks("clients", clients)
        except ValueError as error:
            raise ConfigError(f"{where} {error}") from None
        mode = table.get("mode", "block")
        if mode not in POLICY_MODES:
            raise ConfigError(f"{where} mode: must be block, warn or off, not {mode!r}")
        scorer = table.get("scorer", "")
        if "scorer" in table and scorer not in POLICY_MODES:
            raise ConfigError(f"{where} scorer: must be block, warn or off, not {scorer!r}")
        lists = _coerce(table["lists"], tuple[str, ...], f"{where} lists") if "lists" in table else None
        sinkhole = table.get("sinkhole", {})
        if not isinstance(sinkhole, dict):
            raise ConfigError(f"{where} sinkhole: must be a table of [sinkhole] keys ({{ policy = \"nxdomain\" }})")
        # Checked as a [sinkhole] section of its own; the keys it leaves out come from [sinkhole] when served.
        _section(SinkholeSettings, sinkhole, f"{where} sinkhole:")
        policies.append(PolicySettings(name, clients, mode, lists, scorer, tuple(sorted(sinkhole.items()))))
    return tuple(policies)


def _section(section_type: type, table: dict, where: str) -> object:
    hints = typing.get_type_hints(section_type)
    known = {f.name for f in dataclasses.fields(section_type)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r} (known: {', '.join(sorted(known))})")
        values[key] = _coerce(value, hints[key], f"{where} {key}")
    try:
        return section_type(**values)
    except ValueError as error:
        raise ConfigError(f"{where} {error}") from None


def _coerce(value: object, hint: object, where: str) -> object:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: must be an integer, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: must be a number, not {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: must be a string, not {value!r}")
    if typing.get_origin(hint) is tuple:
        if isinstance(value, str):
            value = [value]
        # Items already typed (the feeds of `[[lists]]` tables) pass; strings are the section's to read.
        typed = typing.get_args(hint)[0]
        if not isinstance(value, list) or not all(isinstance(item, (str, typed)) for item in value):
            raise ConfigError(f"{where}: must be a list of strings, not {value!r}")
        return tuple(value)
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")


def _is_file_key(key: str) -> bool:
    return key in ("db", "path", "files") or key.endswith(("_file", "_dir"))


def _resolve_relative_files(config: Config, base: Path) -> Config:
    """File names in a config file are relative to that file, as in Unbound and CoreDNS.

    A key holds file names when it is called `db`, `path` or `files`, or ends in `_file` or `_dir`.
    """

    def resolve(name: str) -> str:
        if not name or name == "demo" or Path(name).expanduser().is_absolute():
            return name
        return str(base / name)

    sections = {}
    for section_field in dataclasses.fields(Config):
        section = getattr(config, section_field.name)
        if not dataclasses.is_dataclass(section):
            continue
        changes = {}
        for key_field in dataclasses.fields(section):
            if _is_file_key(key_field.name):
                value = getattr(section, key_field.name)
                changes[key_field.name] = (tuple(resolve(item) for item in value) if isinstance(value, tuple)
                                           else resolve(value))
        if changes:
            sections[section_field.name] = dataclasses.replace(section, **changes)
    return dataclasses.replace(config, **sections)


def read_resolv_conf(path: str) -> tuple[Upstream, ...]:
    """The `nameserver` lines of a resolv.conf, as dnsmasq reads them."""
    servers = []
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, start=1):
                words = line.split("#", 1)[0].split(";", 1)[0].split()
                if len(words) >= 2 and words[0] == "nameserver":
                    try:
                        host, port = parse_hostport(words[1].split("%", 1)[0], 53)
                    except ValueError as error:
                        raise ConfigError(f"{path}:{number}: nameserver {error}") from None
                    servers.append(Upstream(host, port))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}; set [upstream] servers") from None
    if not servers:
        raise ConfigError(f"{path}: no nameserver lines; set [upstream] servers or --upstream")
    return tuple(servers)


def upstream_servers(settings: UpstreamSettings, listen: tuple[str, ...]) -> tuple[Upstream, ...]:
    servers: list[Upstream] = []
    for entry in settings.servers:
        if entry == "resolv.conf":
            servers.extend(read_resolv_conf(settings.resolv_conf))
        else:
            servers.append(Upstream(*parse_hostport(entry, 53)))
    own = {parse_hostport(address, 53) for address in listen}
    for server in servers:
        if (server.host, server.port) in own:
            raise ConfigError(f"upstream {server} is fraudwall's own listen address: queries would loop")
    return tuple(dict.fromkeys(servers))
