"""The name a TLS client asks for (SNI), read from its first bytes before any TLS starts: a pure parser.

Python's SNI callback runs inside the handshake, on the event loop that also answers DNS, and
cannot wait: a leaf certificate made there stalls every query behind it. So the HTTPS listener
reads the ClientHello itself (it stays in the socket for the TLS layer), learns the name, makes
or finds the leaf off the loop, and only then starts TLS with it.

`read` takes the bytes received so far and says what they hold: the ClientHello's server
name, how many bytes it needs before it can tell, or NotClientHello. It looks at no more than
`MOST_BYTES`, whatever the client sends, and never raises anything else.

Wire format (RFC 8446 5.1 and 4.1.2, RFC 6066 3): records of type 22 (handshake) carry the
ClientHello message (type 1, 24-bit length), possibly split over several records; after the
version, random, session id, cipher suites and compression methods come the extensions, and
extension 0 holds a list of names of which the first of type 0 (host_name) is the one.
"""

from __future__ import annotations

from typing import NamedTuple

RECORD_HEADER = 5
MOST_RECORD = 2 ** 14                # a record's plaintext (RFC 8446 5.1)
MOST_HELLO = MOST_RECORD             # the ClientHello message: browsers send 0.5 to 2 KB
MOST_BYTES = MOST_HELLO + 4 * RECORD_HEADER + 4   # what `read` may ask for, records and all
HANDSHAKE_RECORD = 22
CLIENT_HELLO = 1
SERVER_NAME_EXTENSION = 0
HOST_NAME = 0


class NotClientHello(ValueError):
    """The bytes are not the start of a TLS ClientHello (plain HTTP, SSLv2, garbage, or too long)."""


class Incomplete(NamedTuple):
    """More bytes are needed: at least `needed` in all (never more than MOST_BYTES)."""

    needed: int


class ClientHello(NamedTuple):
    server_name: str     # as sent (Latin-1 for any byte that is not ASCII); "" when the client sent none
    length: int          # bytes of the records read, up to the end of the one that completed the message


def read(data: bytes) -> ClientHello | Incomplete:
    """What the first bytes of a TLS connection hold; NotClientHello when they cannot be a ClientHello."""
    message = bytearray()
    offset = 0
    while True:
        if len(data) < offset + RECORD_HEADER:
            return Incomplete(offset + RECORD_HEADER)
        kind, major, size = data[offset], data[offset + 1], int.from_bytes(data[offset + 3:offset + 5], "big")
        if kind != HANDSHAKE_RECORD or major != 3 or not 0 < size <= MOST_RECORD:
            raise NotClientHello("not a TLS handshake record")
        end = offset + RECORD_HEADER + size
        if end > MOST_BYTES:
            raise NotClientHello("ClientHello longer than the bound")
        if len(data) < end:
            return Incomplete(end)
        message += data[offset + RECORD_HEADER:end]
        offset = end
        if len(message) < 4:
            continue
        if message[0] != CLIENT_HELLO:
            raise NotClientHello("the first handshake message is not a ClientHello")
        total = 4 + int.from_bytes(message[1:4], "big")
        if total > MOST_HELLO:
            raise NotClientHello("ClientHello longer than the bound")
        if len(message) >= total:
            return ClientHello(_server_name(bytes(message[4:total])), offset)


def _server_name(body: bytes) -> str:
    reader = _Reader(body)
    reader.skip(2 + 32)                  # legacy_version, random
    reader.skip(reader.number(1))        # legacy_session_id
    reader.skip(reader.number(2))        # cipher_suites
    reader.skip(reader.number(1))        # legacy_compression_methods
    if reader.done():
        return ""                        # no extensions at all (an old client)
    extensions = _Reader(reader.take(reader.number(2)))
    while not extensions.done():
        kind = extensions.number(2)
        data = extensions.take(extensions.number(2))
        if kind == SERVER_NAME_EXTENSION:
            names = _Reader(data)
            entries = _Reader(names.take(names.number(2)))
            while not entries.done():
                name_type = entries.number(1)
                name = entries.take(entries.number(2))
                if name_type == HOST_NAME:
                    return name.decode("latin-1")
            return ""
    return ""


class _Reader:
    """Bounds-checked reads over one piece of the message: NotClientHello past its end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def done(self) -> bool:
        return self._offset >= len(self._data)

    def take(self, count: int) -> bytes:
        end = self._offset + count
        if end > len(self._data):
            raise NotClientHello("a length runs past the end of the ClientHello")
        piece = self._data[self._offset:end]
        self._offset = end
        return piece

    def skip(self, count: int) -> None:
        self.take(count)

    def number(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")
