"""What an imported entry may never do, so that a bad or poisoned feed cannot take the network down.

* A public suffix (`com`, `github.io`) is never blocked as a subtree: that would block
  every site under it. From the suffix list tldextract bundles; never fetched at run time.
* The protected brands' own domains (and the names below them) are never blocked.
* URL feeds pointing into a shared platform (cloud drive, code host, URL shortener, page
  builder) keep the URL, but the platform's host is not blocked.
* An entry that would block a popular site (or a name below one) is quarantined: stored,
  not enforced, listed for the admin to confirm.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fraudwall.blocklists.formats import Mode

_EXACT = Mode.EXACT   # looked up once: `check` runs for every imported entry


class Guard(enum.Enum):
    PUBLIC_SUFFIX = "public suffix"
    BRAND = "protected brand's domain"
    SHARED_PLATFORM = "shared platform host"
    POPULAR = "popular site (quarantined)"


@dataclass(frozen=True)
class Guards:
    public_suffixes: frozenset[str]
    # The names below which any name is protected, each with the guard that protects it.
    protected: dict[str, Guard]
    platforms: frozenset[str]

    def __post_init__(self) -> None:
        # `*.ck`-style rules, by the name under the star, so the hot path needs no concatenation.
        wildcards = frozenset(s[2:] for s in self.public_suffixes if s.startswith("*."))
        object.__setattr__(self, "_wildcard_parents", wildcards)

    def check(self, name: str, mode: Mode) -> Guard | None:
        """The guard an entry that blocks `name` (with `mode`) trips, or None."""
        if mode is not _EXACT and (name in self.public_suffixes or (
                name.partition(".")[2] in self._wildcard_parents and self.is_public_suffix(name))):
            return Guard.PUBLIC_SUFFIX
        protected = self.protected
        candidate = name
        # Protected names have two labels at least: the top-level label alone is not looked up.
        while "." in candidate:
            guard = protected.get(candidate)
            if guard is not None:
                return guard
            candidate = candidate[candidate.find(".") + 1:]
        return None

    def is_public_suffix(self, name: str) -> bool:
        suffixes = self.public_suffixes
        if name in suffixes:
            return True
        if "!" + name in suffixes:
            return False
        parent = name.partition(".")[2]
        return bool(parent) and ("*." + parent) in suffixes

    def is_platform(self, host: str) -> bool:
        return host in self.platforms or (host.startswith("www.") and host[4:] in self.platforms)


def bundled_public_suffixes() -> frozenset[str]:
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    return frozenset(suffix.lower() for suffix in extractor._get_tld_extractor().tlds_incl_private)


def read_name_file(path: Path | str) -> list[str]:
    """Names of a guard data file (one a line, `#` comments); ValueError names a file it cannot read."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from None
    names = []
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip().lower().rstrip(".")
        if name:
            names.append(name)
    return names


def _shipped(name: str) -> list[str]:
    return read_name_file(str(resources.files("fraudwall.blocklists").joinpath(f"data/{name}")))


def brand_domains(extra_file: str = "") -> list[str]:
    """The protected brands' legitimate domains, from the scorer's brands files."""
    from fraudwall.scoring.brands import load_brands

    return [domain for brand in load_brands(extra_file) for domain in brand.domains]


def load_guards(platforms_file: str = "", popular_file: str = "", brands_file: str = "",
                brands: Callable[[str], Iterable[str]] = brand_domains,
                public_suffixes: frozenset[str] | None = None) -> Guards:
    popular = _shipped("popular-sites.txt") + (read_name_file(popular_file) if popular_file else [])
    platforms = _shipped("shared-platforms.txt") + (read_name_file(platforms_file) if platforms_file else [])
    protected = {name: Guard.POPULAR for name in popular}
    protected.update((name, Guard.BRAND) for name in brands(brands_file))
    return Guards(public_suffixes if public_suffixes is not None else bundled_public_suffixes(),
                  protected, frozenset(platforms))
