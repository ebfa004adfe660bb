"""URL feeds: URLhaus CSV, PhishTank CSV and JSON, OpenPhish, and any CSV with a URL column.

A URL names its host (after any `user:pass@`, without the port); the importer turns the
host into a block, or an IP entry for an IP literal, unless the host is a shared platform.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from fraudwall.blocklists.formats import Parsed, Skip, SkipReason, UrlEntry, excerpt, single_label
from fraudwall.scoring.names import InvalidName, normalise_name

URLHAUS_URL_COLUMN = 2   # id,dateadded,url,url_status,...


def url_entry(number: int, text: str) -> Parsed:
    """The entry for one URL, or the reason it is not one."""
    url = text.strip().strip('"')
    if not url:
        return Skip(number, SkipReason.INVALID_URL, "empty URL")
    candidate = url if "://" in url else "http://" + url
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as error:
        # urlsplit's message quotes the bad port whole: cut, or one line of garbage makes a kilobyte of report.
        return Skip(number, SkipReason.INVALID_URL, f"{excerpt(url)!r}: {excerpt(str(error))}")
    if not host:
        return Skip(number, SkipReason.INVALID_URL, f"{excerpt(url)!r}: no host")
    try:
        return UrlEntry(url, str(ipaddress.ip_address(host)), number)
    except ValueError:
        pass
    try:
        name = normalise_name(host)
    except InvalidName as error:
        return Skip(number, SkipReason.INVALID_URL, f"{excerpt(url)!r}: host {error}")
    return UrlEntry(url, name, number) if "." in name else single_label(number, url)


def parse_openphish(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    for number, text in lines:
        text = text.strip()
        if not text.startswith("#"):
            yield url_entry(number, text)


def parse_urlhaus(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    yield from _csv(lines, str(URLHAUS_URL_COLUMN + 1), header=False)


def parse_phishtank_csv(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    yield from _csv(lines, "url", header=True)


def parse_csv(lines: Iterable[tuple[int, str]], column: str) -> Iterator[Parsed]:
    """`column`: a 1-based number, or the name of a column in the header line."""
    column = column or "url"
    check_column(column)
    yield from _csv(lines, column, header=True)


def check_column(column: str) -> None:
    """ValueError unless `column` is a 1-based column number or a header name."""
    if column.isdecimal() and int(column) < 1:
        raise ValueError(f"{column}: columns count from 1")
    if not column.strip():
        raise ValueError("a column number (from 1) or a header name is needed")


def _csv(lines: Iterable[tuple[int, str]], column: str, header: bool) -> Iterator[Parsed]:
    index = int(column) - 1 if column.isdecimal() else -1
    no_column = 0     # the header line without the column: every line after it is skipped too
    for number, text in lines:
        if text.startswith("#"):
            continue
        if no_column:
            yield Skip(number, SkipReason.SYNTAX, f"no {excerpt(column)!r} column (header at line {no_column})")
            continue
        try:
            fields = next(csv.reader([text]))
        except (csv.Error, StopIteration) as error:
            yield Skip(number, SkipReason.SYNTAX, f"not a CSV line: {error}")
            continue
        if index < 0:
            lowered = [field.strip().lower() for field in fields]
            if column.lower() not in lowered:
                yield Skip(number, SkipReason.SYNTAX, f"header without a {excerpt(column)!r} column")
                no_column = number
                continue
            index = lowered.index(column.lower())
            continue
        if header:
            header = False
            if index < len(fields) and "://" not in fields[index] and "." not in fields[index]:
                continue
        if index >= len(fields):
            yield Skip(number, SkipReason.SYNTAX, f"no column {index + 1} in {len(fields)} fields")
            continue
        yield url_entry(number, fields[index])


def parse_phishtank_json(lines: Iterable[tuple[int, str]]) -> Iterator[Parsed]:
    """PhishTank's JSON dump is one array of objects; "line" is the object's 1-based index."""
    text = "\n".join(text for _, text in lines)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        yield Skip(error.lineno, SkipReason.SYNTAX, f"not JSON: {error.msg}")
        return
    if not isinstance(document, list):
        yield Skip(1, SkipReason.SYNTAX, "not a JSON array of phishes")
        return
    for number, item in enumerate(document, start=1):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            yield Skip(number, SkipReason.SYNTAX, "entry without a \"url\" string")
            continue
        yield url_entry(number, url)
