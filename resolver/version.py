"""The installed distribution's version: `fraudwall --version` and the build-info metric say the same."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def fraudwall_version() -> str:
    try:
        return version("fraudwall")
    except PackageNotFoundError:
        return "unknown"
