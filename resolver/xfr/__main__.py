"""`python -m fraudwall.resolver.xfr SETTINGS`: the transfer server's process, started by the
supervisor (`resolver/server/background.py`) with its settings as one JSON argument."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

from fraudwall.blocklists.store import StoreError
from fraudwall.resolver.xfr.keys import KeyFileError
from fraudwall.resolver.xfr.server import Settings, TransferServer


def main(argv: list[str]) -> int:
    settings = json.loads(argv[0])
    logging.basicConfig(level=settings.pop("log_level", "info").upper(),
                        format="%(asctime)s fraudwall[%(process)d] %(levelname)s %(message)s")
    settings = Settings(**{key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()})
    try:
        server = TransferServer(settings)
    except (StoreError, KeyFileError) as error:
        logging.getLogger("fraudwall").error("xfr: %s", error)
        return 1
    return asyncio.run(_run(server))


async def _run(server: TransferServer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # A terminal's hangup reaches the supervisor's process group: the supervisor decides.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        await server.run(stop)
    except OSError as error:
        why = os.strerror(error.errno) if error.errno else str(error)
        logging.getLogger("fraudwall").error("xfr: cannot listen on %s: %s", server.settings.listen, why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
