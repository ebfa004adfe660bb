"""The page's texts: the bundled texts.toml, with an admin's file laid over it key by key."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from fraudwall.resolver.warning.settings import LANGUAGES

LIST_KEYS = frozenset({"advice"})


class TextsError(ValueError):
    """An admin's texts file is unreadable or names a key or language the page does not have."""


class Texts:
    """Read-only texts per language; `text(lang, key)` with {organisation} already filled in."""

    def __init__(self, tables: Mapping[str, Mapping[str, object]], organisation: str) -> None:
        def fill(value: object) -> object:
            if isinstance(value, tuple):
                return tuple(fill(item) for item in value)
            return str(value).replace("{organisation}", organisation)

        self._tables = MappingProxyType({
            language: MappingProxyType({key: fill(value) for key, value in table.items()})
            for language, table in tables.items()})

    def text(self, language: str, key: str) -> str:
        return self._tables[language][key]

    def items(self, language: str, key: str) -> tuple[str, ...]:
        return self._tables[language][key]


def bundled_tables() -> dict[str, dict[str, object]]:
    source = resources.files("fraudwall.resolver.warning").joinpath("texts.toml").read_text("utf-8")
    return {language: _normalised(table) for language, table in tomllib.loads(source).items()}


def _normalised(table: dict) -> dict[str, object]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in table.items()}


def load_texts(organisation: str, texts_file: str = "") -> Texts:
    """The bundled texts, with `texts_file`'s keys replacing theirs; TextsError names file and key."""
    tables = bundled_tables()
    if texts_file:
        path = Path(texts_file).expanduser()
        try:
            document = tomllib.loads(path.read_text("utf-8"))
        except OSError as error:
            raise TextsError(f"{path}: cannot read: {error.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise TextsError(f"{path}: not valid TOML: {error}") from None
        for language, table in document.items():
            if language not in LANGUAGES or not isinstance(table, dict):
                raise TextsError(f"{path}: [{language}] is not a language table (known: {', '.join(LANGUAGES)})")
            for key, value in table.items():
                if key not in tables[language]:
                    raise TextsError(f"{path}: [{language}] unknown key {key!r}")
                if key in LIST_KEYS:
                    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
                        raise TextsError(f"{path}: [{language}] {key}: must be a non-empty list of strings")
                    value = tuple(value)
                elif not isinstance(value, str):
                    raise TextsError(f"{path}: [{language}] {key}: must be a string")
                tables[language][key] = value
    return Texts(tables, organisation)
