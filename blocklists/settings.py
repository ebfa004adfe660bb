"""The `[blocklists]` section of the config file."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from fraudwall.blocklists.store import LIST_NAME, MANUAL_LIST

FEED_FORMATS = ("auto", "hosts", "domains", "adblock", "rpz", "urlhaus", "phishtank-csv",
                "phishtank-json", "openphish", "csv", "iplist")


@dataclass(frozen=True)
class Feed:
    """A list that `serve` downloads again every `period` seconds: a `[[lists]]` table, or a
    `[blocklists] feeds` string. ValueError names the `[[lists]]` key that is wrong."""

    name: str
    url: str
    format: str = "auto"
    period: int = 3600

    def __post_init__(self) -> None:
        if self.name == MANUAL_LIST or not LIST_NAME.fullmatch(self.name):
            raise ValueError(f"name: {self.name!r} is no list name (lowercase letters, digits, '.', '_' and '-';"
                             f" not {MANUAL_LIST!r})")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url: the URL must be http:// or https://")
        if self.format not in FEED_FORMATS:
            raise ValueError(f"format: unknown format {self.format!r} (known: {', '.join(FEED_FORMATS)})")
        if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 60:
            raise ValueError("refresh: the period must be a number of seconds, at least 60")

    @classmethod
    def from_text(cls, text: str) -> Feed:
        """The legacy form "NAME=URL,FORMAT,PERIOD"; ValueError quotes the text."""
        name, (url, format, period) = _named_fields(text, "feeds", "NAME=URL,FORMAT,PERIOD")
        if not period.isdigit():
            raise ValueError(f"feeds: {text!r}: the period must be a number of seconds, at least 60")
        try:
            return cls(name, url, format, int(period))
        except ValueError as error:
            raise ValueError(f"feeds: {text!r}: {str(error).split(': ', 1)[1]}") from None


def _named_fields(text: str, key: str, form: str) -> tuple[str, list[str]]:
    """`NAME=A,B,...` as (NAME, [A, B, ...]) with as many fields as `form` has; ValueError names `key`."""
    name, sep, rest = text.partition("=")
    fields = [field.strip() for field in rest.split(",")]
    if not sep or not name.strip() or len(fields) != form.count(",") + 1:
        raise ValueError(f"{key}: {text!r} is not {form}")
    return name.strip(), fields


def follow_folder(db: Path) -> Path:
    """Where the followed lists' last zone files, states (NAME.json) and NOTIFY triggers (NAME.notify)
    live: beside the store, written by the supervisor's refresh and by the worker told of a NOTIFY."""
    return Path(db).parent / "follow"


def _primary_address(text: str) -> tuple[str, int]:
    """"ADDR[:PORT]" ("[ADDR]:PORT" for IPv6) as (address, port); port 53 when left out."""
    host, port = text, "53"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError
        port = rest[1:] or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    address = ipaddress.ip_address(host)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError
    return str(address), int(port)


@dataclass(frozen=True)
class Follow:
    """A list kept a copy of a zone on a primary server by zone transfer: a `[[lists]]` table with
    `primary` (the documented spelling), or a `[blocklists] follow` string "NAME=ZONE,ADDR[:PORT][,KEY]".
    `key` names a TSIG key of `keys_file` ([xfr] keys_file, filled in when the config is read) that
    signs the questions and must sign the answers. ValueError names what is wrong."""

    name: str
    zone: str
    primary: str
    key: str = ""
    keys_file: str = ""

    def __post_init__(self) -> None:
        if self.name == MANUAL_LIST or not LIST_NAME.fullmatch(self.name):
            raise ValueError(f"name: {self.name!r} is no list name (lowercase letters, digits, '.', '_' and '-';"
                             f" not {MANUAL_LIST!r})")
        zone = self.zone.lower().rstrip(".")
        labels = zone.split(".")
        if not zone or len(zone) > 253 or not all(0 < len(label) < 64 for label in labels):
            raise ValueError(f"zone: {self.zone!r} is not a domain name")
        object.__setattr__(self, "zone", zone)
        try:
            _primary_address(self.primary)
        except ValueError:
            raise ValueError(f"primary: {self.primary!r} is not ADDR[:PORT] (an IP address; IPv6 as [ADDR]:PORT)"
                             ) from None
        key = self.key.lower().rstrip(".")
        if self.key and not LIST_NAME.fullmatch(key):
            raise ValueError(f"key: {self.key!r} is not a key name")
        object.__setattr__(self, "key", key)

    @property
    def address(self) -> tuple[str, int]:
        return _primary_address(self.primary)

    @classmethod
    def from_text(cls, text: str) -> Follow:
        form = "NAME=ZONE,ADDR[:PORT],KEY" if text.count(",") == 2 else "NAME=ZONE,ADDR[:PORT]"
        name, parts = _named_fields(text, "follow", form)
        try:
            return cls(name, *parts)
        except ValueError as error:
            raise ValueError(f"follow: {text!r}: {error}") from None


@dataclass(frozen=True)
class BlocklistSettings:
    # The SQLite store. Empty: /var/lib/fraudwall/blocklists.db as root, else
    # ~/.local/state/fraudwall/blocklists.db; created on first use.
    db: str = ""
    # false: serve the plain domain lists in `files` from memory, without a store.
    store: bool = True
    # Lists imported into a new store as lists of the same name ("demo" is the bundled list).
    files: tuple[str, ...] = ("demo",)
    # Feeds that `serve` keeps fresh: the `[[lists]]` tables, and the strings of the legacy form
    # "NAME=URL,FORMAT,PERIOD" (PERIOD in seconds, >= 60), made Feed values here, once.
    feeds: tuple[Feed, ...] = ()
    # Lists that are copies of a zone on a primary server, kept by zone transfer: the `[[lists]]`
    # tables with a `primary`, and the strings "NAME=ZONE,ADDR[:PORT][,KEY]", made Follow values
    # here, once (resolver/xfr/secondary.py).
    follow: tuple[Follow, ...] = ()
    # Share of a list (0-1) a re-import may change before it is held back until `--force`.
    change_threshold: float = 0.5
    # Wanted false-positive rate of the Bloom filter (a "maybe" costs one exact lookup).
    filter_error_rate: float = 0.001
    # Recent verdicts kept per worker process; emptied on every change of the store.
    cache_size: int = 65_536
    # Processes that parse a big feed in parallel at import (0: one per CPU, at most 4).
    import_workers: int = 0
    # Extra guard data, one name a line: shared-platform hosts and popular sites.
    platforms_file: str = ""
    popular_file: str = ""
    # Extra protected brands (same format as [scorer] brands_file); the shipped ones always count.
    brands_file: str = ""
    # The broadest network a feed entry may block: IPv4 networks shorter than /16 and IPv6
    # networks shorter than /32 are refused at import (`0.0.0.0/0` would block every answer).
    broadest_ipv4_prefix: int = 16
    broadest_ipv6_prefix: int = 32

    def __post_init__(self) -> None:
        if not 0.0 < self.change_threshold <= 1.0:
            raise ValueError("change_threshold: must be above 0 and at most 1")
        if not 0.00001 <= self.filter_error_rate <= 0.1:
            raise ValueError("filter_error_rate: must be between 0.00001 and 0.1")
        if self.cache_size < 0:
            raise ValueError("cache_size: must not be negative (0 turns the cache off)")
        if not 0 <= self.import_workers <= 16:
            raise ValueError("import_workers: must be between 0 and 16")
        if not 0 <= self.broadest_ipv4_prefix <= 32:
            raise ValueError("broadest_ipv4_prefix: must be a prefix length between 0 and 32")
        if not 0 <= self.broadest_ipv6_prefix <= 128:
            raise ValueError("broadest_ipv6_prefix: must be a prefix length between 0 and 128")
        feeds = tuple(feed if isinstance(feed, Feed) else Feed.from_text(feed) for feed in self.feeds)
        names = [feed.name for feed in feeds]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice:
            raise ValueError(f"feeds: two feeds fill list {twice!r}: each import would replace the other's")
        object.__setattr__(self, "feeds", feeds)
        follow = tuple(item if isinstance(item, Follow) else Follow.from_text(item) for item in self.follow)
        names = [item.name for item in follow]
        twice = next((name for name in names if names.count(name) > 1 or name in set(feed.name for feed in feeds)),
                     None)
        if twice:
            raise ValueError(f"follow: list {twice!r} is filled twice (by two primaries, or a feed and a primary):"
                             " each would replace the other's")
        object.__setattr__(self, "follow", follow)

    def parsed_feeds(self) -> tuple[Feed, ...]:
        """The feeds `serve` keeps fresh (typed when the settings were made)."""
        return self.feeds
