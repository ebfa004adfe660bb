"""What an imported entry may never do, so that a bad or poisoned feed cannot take the network down.

* A public suffix (`com`, `github.io`, `xn--55qx5d.cn`) is never blocked as a subtree: that
  would block every site under it. From the one suffix list (`scoring/names.py`: tldextract's
  bundled list, both sections, never fetched at run time).
* The protected brands' own domains (and the names below them) are never blocked, except the
  names that the suffix list's private section makes registrable domains of their own: below
  `s3.amazonaws.com` or `blob.core.windows.net` are the platform's customers (and the phishing
  hosted there), not the brand. The suffixes themselves stay protected (`s3.amazonaws.com`).
* URL feeds pointing into a shared platform (cloud drive, code host, URL shortener, page
  builder) keep the URL, but the platform's host is not blocked.
* An entry that would block a popular site (or a name below one) is quarantined: stored,
  not enforced, listed for the admin to confirm.
* An address or network entry broader than the configured bound (/16 IPv4, /32 IPv6 by
  default), or one that covers a special-use network (loopback, private, link-local,
  CGNAT, documentation, unspecified, multicast, broadcast) or the sinkhole's own address,
  is never blocked: `0.0.0.0/0` in a feed would sinkhole every answer of the network.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import gt, itemgetter, methodcaller
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fraudwall.blocklists.formats import Mode
from fraudwall.scoring import names
from fraudwall.scoring.names import InvalidName, is_public_suffix, normalise_name, parents

_EXACT = Mode.EXACT   # looked up once: `check` runs for every imported entry


class Guard(enum.Enum):
    PUBLIC_SUFFIX = "public suffix"
    BRAND = "protected brand's domain"
    SHARED_PLATFORM = "shared platform host"
    POPULAR = "popular site (quarantined)"
    BROAD_NETWORK = "network too broad"
    SPECIAL_NETWORK = "special-use network"
    SINKHOLE = "the sinkhole's own address"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Networks no feed may block any part of: the answers holding them are this network's own
# plumbing (or never real), so blocking them breaks the network, never a fraud site.
SPECIAL_USE: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(network) for network in (
    "0.0.0.0/8",          # "this network", the unspecified address
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",      # private (RFC 1918)
    "100.64.0.0/10",      # CGNAT (RFC 6598)
    "127.0.0.0/8",        # loopback
    "169.254.0.0/16",     # link-local
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation (RFC 5737)
    "224.0.0.0/4",        # multicast
    "255.255.255.255/32",  # broadcast
    "::/128", "::1/128",  # unspecified, loopback
    "fc00::/7",           # unique local (ULA)
    "fe80::/10",          # link-local
    "2001:db8::/32",      # documentation (RFC 3849)
    "ff00::/8",           # multicast
))


@dataclass(frozen=True)
class Guards:
    public_suffixes: frozenset[str]
    # The names below which any name is protected, each with the guard that protects it.
    protected: dict[str, Guard]
    platforms: frozenset[str]
    # The broadest network an entry may block, as a prefix length per IP version.
    broadest_prefix: tuple[int, int] = (16, 32)
    sinkhole: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        # `*.ck`-style rules, by the name under the star, so the hot path needs no concatenation.
        wildcards = frozenset(s[2:] for s in self.public_suffixes if s.startswith("*."))
        object.__setattr__(self, "_wildcard_parents", wildcards)
        # For `check_many`: the names that trip a guard by being what they are, and the top-level labels
        # below which a wildcard rule makes two-label names suffixes (`ck` of `*.ck`).
        object.__setattr__(self, "_named", self.public_suffixes | self.protected.keys())
        tops = sorted(parent for parent in wildcards if "." not in parent)
        object.__setattr__(self, "_wildcard_tops", frozenset(tops))
        # One scan of a batch's names (joined by newlines) tells whether any has three labels or more, or
        # ends in such a top-level label; in most batches none does, and no name is looked at alone.
        object.__setattr__(self, "_deep", re.compile(r"\.[^.\n]*\."))
        object.__setattr__(self, "_wild_end", re.compile(r"\.(?:{})(?:\n|\Z)".format("|".join(map(re.escape, tops))))
                           if tops else None)

    def check(self, name: str, mode: Mode) -> Guard | None:
        """The guard an entry that blocks `name` (with `mode`) trips, or None."""
        if mode is not _EXACT and (name in self.public_suffixes or (
                name.partition(".")[2] in self._wildcard_parents and self.is_public_suffix(name))):
            return Guard.PUBLIC_SUFFIX
        protected = self.protected
        # Protected names have two labels at least: the top-level label alone is not looked up.
        walk = parents(name)[:-1]
        for index, candidate in enumerate(walk):
            guard = protected.get(candidate)
            if guard is not None:
                return None if self._customers(walk[:index + 1]) else guard
        return None

    def check_many(self, names: Sequence[str], mode: Mode) -> list[tuple[int, Guard]]:
        """(index, guard) of each of `names` that `check` says trips a guard; the others trip none.

        For the importer's big feeds: a name of two labels can only trip a guard by being a protected name
        or a suffix itself, or by ending in a wildcard rule's parent (`x.ck` by `*.ck`). Those and the
        names of more labels are found by set and string scans at C speed and then go through `check`;
        the rest (nearly all of a fraud feed) are never walked one by one."""
        everything = range(len(names))
        joined = "\n".join(names)
        suspects: set[int] = set()
        if self._deep.search(joined):
            suspects.update(compress(everything, map(gt, map(methodcaller("count", "."), names), repeat(1))))
        tops = self._wild_end is not None and self._wild_end.search(joined) and self._wildcard_tops.intersection(
            map(itemgetter(2), map(methodcaller("rpartition", "."), names)))
        if tops:
            endings = tuple("." + top for top in tops)
            suspects.update(compress(everything, map(methodcaller("endswith", endings), names)))
        named = self._named.intersection(names)
        if named:
            suspects.update(index for index, name in enumerate(names) if name in named)
        check = self.check
        return [(index, guard) for index in sorted(suspects) if (guard := check(names[index], mode)) is not None]

    def _customers(self, walk: list[str]) -> bool:
        """Whether `walk[0]` belongs to a platform's customer, not to the owner of `walk[-1]` (a protected
        name at or above it): a public suffix lies between them (`s3.amazonaws.com` above
        `bucket.s3.amazonaws.com`), while `walk[0]` is no suffix itself (the platform's own name).
        Only asked when a protected name is found, so the common entry pays nothing for it."""
        suffix = self.is_public_suffix
        return not suffix(walk[0]) and any(suffix(candidate) for candidate in walk[1:])

    def check_network(self, network: str) -> Guard | None:
        """The guard an entry that blocks `network` (an address or CIDR) trips, or None."""
        try:
            parsed = ipaddress.ip_network(network, strict=False)
        except ValueError:
            return None
        ipv4_bound, ipv6_bound = self.broadest_prefix
        if parsed.prefixlen < (ipv4_bound if parsed.version == 4 else ipv6_bound):
            return Guard.BROAD_NETWORK
        if any(parsed.version == own.version and parsed.overlaps(own) for own in self.sinkhole):
            return Guard.SINKHOLE
        if any(parsed.version == special.version and parsed.overlaps(special) for special in SPECIAL_USE):
            return Guard.SPECIAL_NETWORK
        return None

    def is_public_suffix(self, name: str) -> bool:
        return is_public_suffix(name, self.public_suffixes)

    def is_platform(self, host: str) -> bool:
        return host in self.platforms or (host.startswith("www.") and host[4:] in self.platforms)


def read_name_file(path: Path | str) -> list[str]:
    """Names of a guard data file (one a line, `#` comments), spelled as the store spells them (a
    Unicode name as punycode, or it would protect nothing); ValueError names the file, and the line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from None
    names = []
    for number, line in enumerate(text.splitlines(), start=1):
        written = line.split("#", 1)[0].strip()
        if written:
            try:
                names.append(normalise_name(written))
            except InvalidName as error:
                raise ValueError(f"{path}:{number}: {written!r} is not a domain name: {error}") from None
    return names


def _shipped(name: str) -> list[str]:
    return read_name_file(str(resources.files("fraudwall.blocklists").joinpath(f"data/{name}")))


def brand_domains(extra_file: str = "") -> list[str]:
    """The protected brands' legitimate domains, from the scorer's brands files."""
    from fraudwall.scoring.brands import load_brands

    return [domain for brand in load_brands(extra_file) for domain in brand.domains]


def load_guards(platforms_file: str = "", popular_file: str = "", brands_file: str = "",
                brands: Callable[[str], Iterable[str]] = brand_domains,
                public_suffixes: frozenset[str] | None = None, broadest_prefix: tuple[int, int] = (16, 32),
                sinkhole: Iterable[str] = ()) -> Guards:
    """The guards; `sinkhole`: the addresses blocked names are answered with ([sinkhole] ipv4, ipv6)."""
    popular = _shipped("popular-sites.txt") + (read_name_file(popular_file) if popular_file else [])
    platforms = _shipped("shared-platforms.txt") + (read_name_file(platforms_file) if platforms_file else [])
    protected = {name: Guard.POPULAR for name in popular}
    protected.update((name, Guard.BRAND) for name in brands(brands_file))
    return Guards(public_suffixes if public_suffixes is not None else names.public_suffixes().rules,
                  protected, frozenset(platforms), broadest_prefix,
                  tuple(ipaddress.ip_network(address) for address in sinkhole if address))


def settings_guards(settings, brands_file: str = "", sinkhole: Iterable[str] = ()) -> Guards:
    """The guards a `[blocklists]` section asks for (its files and network bound)."""
    return load_guards(settings.platforms_file, settings.popular_file, brands_file or settings.brands_file,
                       broadest_prefix=(settings.broadest_ipv4_prefix, settings.broadest_ipv6_prefix),
                       sinkhole=sinkhole)
