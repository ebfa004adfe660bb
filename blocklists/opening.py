"""Open the blocklist that the config names, for the resolver and the commands."""

from __future__ import annotations

from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.blocklists.verdict import Blocklist


def open_blocklist(settings: BlocklistSettings) -> Blocklist:
    """The in-memory lists of `settings.files`; ValueError names a file that cannot be read."""
    return MemoryBlocklist.from_files(settings.files)
