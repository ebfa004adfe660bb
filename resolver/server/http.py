"""A small sans-I/O HTTP/1.1 server core: request bytes in, one `Request` out; a `Response` to bytes.

Only what the warning page and /metrics need: one request per connection (every response closes it),
GET/HEAD/POST with a Content-Length body, and hard bounds on everything a client sends,
because whoever reaches the sinkhole may be a scanner or an attacker, not a browser.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, NamedTuple

log = logging.getLogger(__name__)

REASONS = {
    200: "OK", 303: "See Other", 400: "Bad Request", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
    414: "URI Too Long", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    404: "Not Found", 501: "Not Implemented", 505: "HTTP Version Not Supported",
}
TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class Limits(NamedTuple):
    request_line: int = 8192     # bytes, without CRLF (Chromium sends URLs up to 2 MB; phishing URLs are short)
    header_bytes: int = 16384    # all header lines together
    headers: int = 64            # header lines
    body: int = 8192             # a report form is a few hundred bytes


class HttpError(Exception):
    """The request cannot be served; `status` is what to answer before closing."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Request(NamedTuple):
    method: str
    target: str                          # as sent: "/path?query" (or absolute-form)
    version: str                         # "HTTP/1.1"
    headers: tuple[tuple[str, str], ...]  # (lowercase name, value), in order
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """The first value of header `name` (lowercase)."""
        for key, value in self.headers:
            if key == name:
                return value
        return default


class RequestParser:
    """Feed it bytes as they come; `feed` returns the `Request` once complete, raises HttpError when bad.

    Each limit is checked as soon as it can be, so a client can never make the
    parser hold more than about the sum of the limits.
    """

    def __init__(self, limits: Limits = Limits()) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._head: Request | None = None
        self._length = 0

    def feed(self, data: bytes) -> Request | None:
        self._buffer += data
        if self._head is None:
            self._head = self._parse_head()
            if self._head is None:
                return None
        if len(self._buffer) < self._length:
            return None
        return self._head._replace(body=bytes(self._buffer[:self._length]))

    def _parse_head(self) -> Request | None:
        limits = self._limits
        # Browsers never send them, but RFC 9112 asks a server to skip empty lines before the request line.
        while self._buffer.startswith(b"\r\n"):
            del self._buffer[:2]
        line_end = self._buffer.find(b"\n")
        if line_end < 0:
            if len(self._buffer) > limits.request_line + 1:
                raise HttpError(414, "request line too long")
            return None
        if line_end > limits.request_line + 1:
            raise HttpError(414, "request line too long")
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            if len(self._buffer) > line_end + 1 + limits.header_bytes + 2:
                raise HttpError(431, "headers too large")
            if self._buffer.count(b"\n", line_end + 1) > limits.headers:
                raise HttpError(431, "too many headers")
            return None
        if head_end - line_end - 1 > limits.header_bytes:
            raise HttpError(431, "headers too large")
        head = bytes(self._buffer[:head_end])
        del self._buffer[:head_end + 4]
        request_line, _, header_block = head.partition(b"\r\n")
        method, target, version = _request_line(request_line)
        headers = _headers(header_block, limits.headers)
        request = Request(method, target, version, headers)
        if request.header("transfer-encoding"):
            # A report form always has a Content-Length; chunked bodies only widen the attack surface.
            raise HttpError(411, "chunked request bodies are not accepted")
        lengths = {value for key, value in headers if key == "content-length"}
        if len(lengths) > 1:
            raise HttpError(400, "conflicting Content-Length headers")
        if lengths:
            text = lengths.pop().strip()
            if not text.isdigit() or len(text) > 12:
                raise HttpError(400, "bad Content-Length")
            self._length = int(text)
            if self._length > limits.body:
                raise HttpError(413, "request body too large")
        return request


def _request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not set(method) <= TOKEN:
        raise HttpError(400, "malformed method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version.startswith(b"HTTP/"):
            raise HttpError(505, "only HTTP/1.0 and HTTP/1.1")
        raise HttpError(400, "malformed request line")
    if any(byte <= 0x20 or byte == 0x7F for byte in target):
        raise HttpError(400, "control characters in the target")
    # Latin-1 maps every byte to one character: nothing is lost, and page.py decodes properly.
    return method.decode("ascii"), target.decode("latin-1"), version.decode("ascii")


def _headers(block: bytes, most: int) -> tuple[tuple[str, str], ...]:
    if not block:
        return ()
    lines = block.split(b"\r\n")
    if len(lines) > most:
        raise HttpError(431, "too many headers")
    headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or not set(name) <= TOKEN:
            # Also refuses obsolete line folding (a line starting with white space).
            raise HttpError(400, "malformed header line")
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise HttpError(400, "control characters in a header")
        headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
    return tuple(headers)


class Response(NamedTuple):
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def to_bytes(self, head_only: bool = False) -> bytes:
        """The whole response; `head_only` for HEAD keeps the Content-Length of the body it leaves out."""
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        for name, value in self.headers:
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name} carries a line break")
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + self.body


READ_SIZE = 4096
LOGGED_ERRORS = (ConnectionError, asyncio.IncompleteReadError, OSError)
Respond = Callable[[Request, str, str], Awaitable[Response]]


class OneRequestServer:
    """The asyncio side: read one request under one deadline, answer it, close the connection.

    One deadline for the whole request, not per read: a slowloris client sending a byte every
    few seconds runs out of time all the same. Connections beyond `max_connections`, and those from a
    client `allows` refuses, are dropped before a byte is read.
    """

    def __init__(self, respond: Respond, error: Callable[[int, str], Response], limits: Limits,
                 timeout: float, max_connections: int,
                 allows: Callable[[str], bool] = lambda client: True) -> None:
        self.respond = respond
        self.error = error
        self.limits = limits
        self.timeout = timeout
        self.max_connections = max_connections
        self.allows = allows
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str) -> None:
        peer = writer.get_extra_info("peername")
        client = peer[0] if peer else "?"
        if self.connections >= self.max_connections or not self.allows(client):
            writer.transport.abort()
            return
        self.connections += 1
        try:
            response, head_only = await self._read_and_answer(reader, client, scheme)
            writer.write(response.to_bytes(head_only))
            async with asyncio.timeout(self.timeout):
                await writer.drain()
            writer.close()
        except (TimeoutError, *LOGGED_ERRORS) as error:
            log.debug("http: connection from %s ended: %r", client, error)
            writer.transport.abort()
        except Exception:
            log.exception("http: answering %s failed", client)
            writer.transport.abort()
        finally:
            self.connections -= 1

    async def _read_and_answer(self, reader: asyncio.StreamReader, client: str,
                               scheme: str) -> tuple[Response, bool]:
        parser = RequestParser(self.limits)
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    data = await reader.read(READ_SIZE)
                    if not data:
                        raise ConnectionResetError("closed before a whole request")
                    request = parser.feed(data)
                    if request is not None:
                        break
        except TimeoutError:
            return self.error(408, "request timeout"), False
        except HttpError as error:
            return self.error(error.status, str(error)), False
        return await self.respond(request, client, scheme), request.method == "HEAD"
