"""The process that signs leaf certificates, and the worker's end of its pipes.

A signature made by `cryptography` holds the interpreter lock from start to end (about half a
millisecond, several on a busy machine); made on a thread of the worker, every system call of
the event loop that answers DNS had to wait for it. In a process of its own it takes none of
the worker's lock. The child is a small program (`python -m fraudwall.resolver.warning.signer`)
that imports nothing but the certificate code: no copy of the worker, no multiprocessing
machinery. It reads signing jobs from its stdin and writes leaves to its stdout, each message a
4-byte length and a pickle; it ends when its stdin does, so it never outlives the worker.
"""

from __future__ import annotations

import pickle
import signal
import struct
import subprocess
import sys
from typing import BinaryIO

from fraudwall.resolver.warning.certificates import SigningJob, sign_leaf

LENGTH = struct.Struct("!I")
MOST_MESSAGE = 1 << 20   # a job or a leaf is a few KB


class SignerError(Exception):
    """The signing process could not sign (its message says why) or is gone."""


def write_message(stream: BinaryIO, value: object) -> None:
    data = pickle.dumps(value)
    stream.write(LENGTH.pack(len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> object:
    """The next message; EOFError when the other end has gone."""
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        raise EOFError("the pipe was closed")
    (size,) = LENGTH.unpack(head)
    if size > MOST_MESSAGE:
        raise EOFError(f"a message of {size} bytes")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the pipe was closed")
    return pickle.loads(data)


class LeafSigner:
    """The worker's end: `sign` sends a job and waits for its leaf. Used by one thread at a time.

    The child starts on the first job (or `start`), and again after it died.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen | None = None

    def start(self) -> None:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, close_fds=True)

    def sign(self, job: SigningJob) -> bytes:
        """The PEM of the leaf for `job`; SignerError when it cannot be had."""
        for attempt in range(2):
            self.start()
            try:
                write_message(self._child.stdin, job)
                answer = read_message(self._child.stdout)
            except (OSError, EOFError) as error:
                self.close()
                if attempt:
                    raise SignerError(f"the signing process is gone: {error}") from None
                continue
            if isinstance(answer, bytes):
                return answer
            raise SignerError(str(answer))
        raise AssertionError("unreachable")

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.stdin.close()     # its stdin ends: it exits
        child.stdout.close()
        try:
            child.wait(2)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    """The child: a job in, a leaf (bytes) or what went wrong (a string) out, until stdin ends."""
    # Ctrl-C or a hang-up of the terminal reaches the whole process group: the worker decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    jobs, leaves = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            job = read_message(jobs)
        except EOFError:
            return
        try:
            answer: object = sign_leaf(job)
        except Exception as error:  # noqa: BLE001 - told to the worker, which refuses that handshake
            answer = f"{type(error).__name__}: {error}"
        write_message(leaves, answer)


if __name__ == "__main__":
    main()
