"""Downloading a feed with a conditional request, so an unchanged feed costs one round trip."""

from __future__ import annotations

import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple


class Download(NamedTuple):
    path: Path | None      # None: not modified since the ETag/date we sent
    etag: str
    last_modified: str


class FetchError(Exception):
    """The feed could not be downloaded; the message names the URL and the reason."""


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def download(url: str, directory: Path, etag: str = "", last_modified: str = "",
             timeout: float = 60.0) -> Download:
    request = urllib.request.Request(url, headers={"User-Agent": "fraudwall-blocklists/0.1"})
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            handle, name = tempfile.mkstemp(prefix="feed-", dir=directory)
            with open(handle, "wb") as stream:
                shutil.copyfileobj(response, stream, 1 << 20)
            return Download(Path(name), response.headers.get("ETag", ""), response.headers.get("Last-Modified", ""))
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Download(None, etag, last_modified)
        raise FetchError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(f"{url}: cannot download: {reason}") from None
