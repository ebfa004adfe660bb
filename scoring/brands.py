"""The protected brands: the `Brand` type and the loader of brands files.

The shipped `brands.toml` is package data; an admin's file (`[scorer]
brands_file`, same format) adds brands, or replaces a shipped brand of the
same name. The blocklists use `load_brands` too, to never block a brand's
own domains.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

__all__ = ["Brand", "BrandsError", "Category", "Group", "load_brands", "parse_brands"]


class BrandsError(ValueError):
    """A brands file is wrong; the message names the file, the brand and the key."""


class Group(enum.Enum):
    CN = "cn"
    INTL = "intl"


class Category(enum.Enum):
    BANK = "bank"
    PAYMENT = "payment"
    ECOMMERCE = "ecommerce"
    GOVERNMENT = "government"
    TELECOM = "telecom"
    SOCIAL = "social"
    CRYPTO = "crypto"
    LOGISTICS = "logistics"
    TECH = "tech"
    TRAVEL = "travel"
    MEDIA = "media"
    GAMING = "gaming"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    domains: tuple[str, ...]   # legitimate registrable domains, main one first
    tokens: tuple[str, ...]    # what a look-alike imitates: labels, abbreviations, pinyin
    group: Group
    category: Category
    # Ad, analytics and telemetry hosts the brand runs: never flagged by the scorer, but not
    # protected from blocklists the way `domains` are (people block trackers on purpose).
    services: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        """The main legitimate domain, the one a verdict names."""
        return self.domains[0]


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_TOKEN = re.compile(r"^[a-z0-9]{2,63}$")


def parse_brands(document: dict, source: str) -> tuple[Brand, ...]:
    """The brands of one parsed TOML document; BrandsError says what is wrong and where."""
    tables = document.get("brand", [])
    if not isinstance(tables, list):
        raise BrandsError(f"{source}: 'brand' must be an array of tables ([[brand]])")
    return tuple(_parse_brand(table, f"{source}: brand #{number}")
                 for number, table in enumerate(tables, 1))


def _parse_brand(table: object, where: str) -> Brand:
    if not isinstance(table, dict):
        raise BrandsError(f"{where}: must be a table")
    unknown = set(table) - {"name", "domains", "tokens", "group", "category", "services"}
    if unknown:
        raise BrandsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BrandsError(f"{where}: name: must be a non-empty string")
    where = f"{where} ({name})"
    domains = _strings(table, "domains", where)
    if not domains:
        raise BrandsError(f"{where}: domains: needs at least one domain")
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise BrandsError(f"{where}: domains: {domain!r} is not a domain name")
    services = _strings(table, "services", where)
    for domain in services:
        if not _DOMAIN.match(domain):
            raise BrandsError(f"{where}: services: {domain!r} is not a domain name")
    tokens = _strings(table, "tokens", where) or (domains[0].split(".")[0].replace("-", ""),)
    for token in tokens:
        if not _TOKEN.match(token):
            raise BrandsError(f"{where}: tokens: {token!r} must be 2-63 characters a-z 0-9")
    try:
        group = Group(table.get("group", ""))
    except ValueError:
        raise BrandsError(f"{where}: group: must be 'cn' or 'intl'") from None
    try:
        category = Category(table.get("category", "other"))
    except ValueError:
        choices = ", ".join(c.value for c in Category)
        raise BrandsError(f"{where}: category: must be one of {choices}") from None
    return Brand(name.strip(), domains, tokens, group, category, services)


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BrandsError(f"{where}: {key}: must be a list of strings")
    # Written as people write them; compared as DNS compares them.
    return tuple(dict.fromkeys(v.strip().lower().rstrip(".") for v in values))


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise BrandsError(f"{path}: no such brands file") from None
    except OSError as error:
        raise BrandsError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise BrandsError(f"{path}: not valid TOML: {error}") from None


def load_brands(extra_file: str = "") -> tuple[Brand, ...]:
    """The shipped brands, plus those of `extra_file` (an admin's brand of the same name wins)."""
    shipped = resources.files("fraudwall.scoring").joinpath("brands.toml")
    brands = {b.name: b for b in parse_brands(tomllib.loads(shipped.read_text("utf-8")), "brands.toml")}
    if extra_file:
        brands.update((b.name, b) for b in parse_brands(_read(extra_file), extra_file))
    return tuple(brands.values())
