#!/usr/bin/env python3
"""The floor under every answer fraudwall gives over UDP: its own UDP server, nothing behind it.

    .venv/bin/python benchmarks/udp_floor.py PORT            # datagrams moved in batches where the system can
    .venv/bin/python benchmarks/udp_floor.py PORT --plain    # one recvfrom/sendto a datagram, as without recvmmsg

fraudwall's UDP server (resolver/server/udp.py) on 127.0.0.1:PORT, under uvloop as `serve` runs it,
with the interpreter settled as a worker's (resolver/server/interpreter.py), and a handler that answers
each datagram at once with its own header and question, QR and RA set, no records: no parse, no chain,
no render, no observers. `resolver_qps.py --servers udp-floor,...` runs it beside the real servers: its
QPS and CPU per query are what the system calls and the event loop cost a Python server on this
machine before it decides anything, the most any work in the handler could bring fraudwall to.
Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fraudwall.resolver.server.interpreter import settle  # noqa: E402
from fraudwall.resolver.server.udp import UdpServer  # noqa: E402

try:
    import uvloop
except ImportError:   # as serve does without it
    uvloop = None


class AnswerAtOnce:
    """A stand-in for QueryHandler: the reply is the query with QR and RA set."""

    def handle(self, data: bytes, client: str, transport: object, send) -> None:
        if len(data) >= 4:
            send(data[:2] + bytes((data[2] | 0x80, (data[3] | 0x80) & 0xF0)) + data[4:])


async def serve(port: int, batched: bool) -> None:
    server = UdpServer.bind(AnswerAtOnce(), "127.0.0.1", port, batched=batched)   # type: ignore[arg-type]
    server.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        server.close()


def main(argv: list[str]) -> int:
    plain = "--plain" in argv
    argv = [argument for argument in argv if argument != "--plain"]
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: udp_floor.py PORT [--plain]", file=sys.stderr)
        return 2
    settle()
    runner = asyncio.run if uvloop is None else uvloop.run
    runner(serve(int(argv[0]), not plain))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
