"""The store as the transfer server reads it: serials, and a list's entries as a stream."""

from __future__ import annotations

from pathlib import Path

from fraudwall.blocklists import store
from fraudwall.blocklists.store import ListStream, StorePaths


class StoreCatalogue:
    def __init__(self, db: Path) -> None:
        self.paths = StorePaths(db)
        self.connection = store.connect_catalogue_readonly(db)
        self._version: int | None = None

    def changed(self) -> bool:
        """Whether anyone wrote to the catalogue since the last call (cheap: no read)."""
        version = store.data_version(self.connection)
        moved, self._version = version != self._version, version
        return moved

    def serials(self) -> dict[str, int]:
        with store.reading(self.connection):
            return store.serials(self.connection)

    def stream(self, list_name: str) -> ListStream:
        return ListStream(self.paths, self.connection, list_name)

    def close(self) -> None:
        self.connection.close()
