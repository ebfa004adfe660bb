"""UDP datagrams in batches: up to `BATCH` read, and a turn's answers sent, in one system call each.

Why: on a virtual machine a system call, and the wake-up of the peer a datagram goes to, cost more
than the handler's own work on a cached answer. fraudwall's UDP server with no handler behind it
(benchmarks/udp_floor.py, `resolver_qps.py --servers udp-floor,udp-floor-plain`) answered 104.9 k
cached-name queries a second with `recvfrom`/`sendto` for each and 127.8 k with `recvmmsg`/`sendmmsg`
for up to 64 at once, on one core (8.9 and 7.5 CPU µs a query): the client sleeps once a batch.

The standard library's socket module has neither call: `BatchedDatagrams` reaches Linux's through
ctypes (part of Python; nothing to compile). Where libc has no `recvmmsg` (not Linux), ctypes cannot
load it, or the kernel refuses it (ENOSYS or EPERM in some sandboxes), `PlainDatagrams` does the same work
one datagram a call; `datagrams_for` picks. Both hand over the same things in the same order.

A datagram of any size up to UDP's 65,507 bytes arrives whole: each of the `BATCH` receive slots is
64 KiB of an anonymous mapping, whose pages the kernel only backs once a datagram reaches them.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import socket
import struct
from typing import Protocol

BATCH = 64                 # datagrams read per call, and sent per call
SLOT = 1 << 16             # bytes per datagram slot: the largest UDP payload fits
NAME_SLOT = 128            # bytes per address slot: a sockaddr_in6 is 28
REMEMBERED_ADDRESSES = 100_000   # client address bytes -> text, kept until this many, then forgotten
MSG_DONTWAIT = 0x40
MSG_PEEK = 0x2
# errno values after which the next datagram may still be read or sent: an ICMP error reported for an
# earlier answer, a client whose address the kernel will not route to, a signal.
_SKIP_ONE = frozenset((errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EPERM,
                       errno.EACCES, errno.EINVAL, errno.EMSGSIZE, errno.EADDRNOTAVAIL))

Message = tuple[bytes, object]          # (wire, peer) to send; `peer` as `receive` handed it over


class Datagrams(Protocol):
    def receive(self) -> list[tuple[bytes, str, object]]:
        """The datagrams waiting, up to BATCH: (bytes, the sender's address as text, its peer for `send`)."""

    def send(self, messages: list[Message]) -> int:
        """Send each (wire, peer); returns how many the kernel had no room for (they are lost)."""


class PlainDatagrams:
    """One `recvfrom_into` and one `sendto` a datagram."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # One reusable buffer, copied out at each datagram's size: `recvfrom(65535)` allocated 64 kB
        # a datagram and shrank it, and the pieces kept left the heap fragmented.
        self._buffer = bytearray(SLOT)
        self._view = memoryview(self._buffer)

    def receive(self) -> list[tuple[bytes, str, object]]:
        receive, buffer, view = self.sock.recvfrom_into, self._buffer, self._view
        received = []
        for _ in range(BATCH):
            try:
                size, addr = receive(buffer)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error for an earlier answer; the next datagram is what counts
            received.append((view[:size].tobytes(), addr[0], addr))
        return received

    def send(self, messages: list[Message]) -> int:
        sendto, full = self.sock.sendto, 0
        for wire, addr in messages:
            try:
                sendto(wire, addr)
            except (BlockingIOError, InterruptedError):
                full += 1
            except OSError:
                pass  # the client went away
        return full


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


_HEADER = ctypes.sizeof(_MMsgHdr)
_IOVEC = ctypes.sizeof(_IoVec)
_NAMELEN_AT = _MsgHdr.namelen.offset
_LEN_AT = _MMsgHdr.len.offset
_IOV_LEN_AT = _IoVec.len.offset
_U16 = struct.Struct("=H")      # sa_family, in the host's order
# A received message's address length and datagram length, read together.
_NAMELEN_AND_LEN = struct.Struct(f"=I{_LEN_AT - _NAMELEN_AT - 4}xI")
_U32 = struct.Struct("=I")
_SIZE_T = struct.Struct("@N")    # size_t: native only


class _Slots:
    """BATCH message headers, each with one iovec onto a 64 KiB slot and an address slot of its own."""

    def __init__(self) -> None:
        # Anonymous mappings: untouched pages cost no memory, so the 4 MiB of slots cost what datagrams use.
        self.data = mmap.mmap(-1, BATCH * SLOT)
        self.names = ctypes.create_string_buffer(BATCH * NAME_SLOT)
        self.iovecs = (_IoVec * BATCH)()
        self.headers = (_MMsgHdr * BATCH)()
        data_at = ctypes.addressof(ctypes.c_char.from_buffer(self.data))
        names_at = ctypes.addressof(self.names)
        for index in range(BATCH):
            self.iovecs[index].base = data_at + index * SLOT
            self.iovecs[index].len = SLOT
            header = self.headers[index].hdr
            header.name = names_at + index * NAME_SLOT
            header.namelen = NAME_SLOT
            header.iov = ctypes.addressof(self.iovecs[index])
            header.iovlen = 1
        self.at = ctypes.addressof(self.headers)
        self.pristine = bytes(self.headers)   # the headers as set up: a receive writes lengths back into them
        self.data_view = memoryview(self.data)
        self.names_view = memoryview(self.names).cast("B")
        self.headers_view = memoryview(self.headers).cast("B")
        self.iovecs_view = memoryview(self.iovecs).cast("B")


class BatchedDatagrams:
    """`recvmmsg` and `sendmmsg` through ctypes; `peer` is the sender's sockaddr as bytes."""

    def __init__(self, sock: socket.socket, calls: tuple) -> None:
        self.sock = sock
        self._recvmmsg, self._sendmmsg = calls
        self._in = _Slots()
        self._out = _Slots()
        self._clients: dict[bytes, str] = {}

    def receive(self) -> list[tuple[bytes, str, object]]:
        slots = self._in
        fd = self.sock.fileno()
        if fd < 0:
            return []
        for _ in range(BATCH):
            count = self._recvmmsg(fd, slots.at, BATCH, MSG_DONTWAIT, None)
            if count >= 0:
                break
            code = ctypes.get_errno()
            if code != errno.EINTR and code not in _SKIP_ONE:
                return []   # nothing waiting (or the socket is gone: the server is closing)
        else:
            return []
        headers, names, data = slots.headers_view, slots.names_view, slots.data_view
        clients, lengths = self._clients, _NAMELEN_AND_LEN.unpack_from
        received = []
        for index in range(count):
            length, size = lengths(headers, index * _HEADER + _NAMELEN_AT)
            name_at = index * NAME_SLOT
            peer = names[name_at:name_at + length].tobytes()
            # The address without the port: clients pick a new source port for every query.
            key = peer[4:8] if length == 16 else peer[8:28]
            client = clients.get(key)
            if client is None:
                client = _client_text(peer)
                if len(clients) >= REMEMBERED_ADDRESSES:
                    clients.clear()
                clients[key] = client
            data_at = index * SLOT
            received.append((data[data_at:data_at + size].tobytes(), client, peer))
        # Each address length back to its slot's size, for the next call: one copy for all of them.
        used = count * _HEADER
        headers[:used] = slots.pristine[:used]
        return received

    def send(self, messages: list[Message]) -> int:
        slots = self._out
        fd = self.sock.fileno()
        if fd < 0:
            return 0
        headers, names, data, iovecs = slots.headers_view, slots.names_view, slots.data_view, slots.iovecs_view
        pack_u32, pack_size = _U32.pack_into, _SIZE_T.pack_into
        full = 0
        for first in range(0, len(messages), BATCH):
            batch = messages[first:first + BATCH]
            for index, (wire, peer) in enumerate(batch):
                size, data_at, name_at = len(wire), index * SLOT, index * NAME_SLOT
                data[data_at:data_at + size] = wire
                pack_size(iovecs, index * _IOVEC + _IOV_LEN_AT, size)
                names[name_at:name_at + len(peer)] = peer
                pack_u32(headers, index * _HEADER + _NAMELEN_AT, len(peer))
            done, count = 0, len(batch)
            while done < count:
                sent = self._sendmmsg(fd, slots.at + done * _HEADER, count - done, 0)
                if sent > 0:
                    done += sent
                    continue
                code = ctypes.get_errno()
                if code == errno.EINTR:
                    continue
                if code in _SKIP_ONE:
                    done += 1       # this client's address is refused; the next may not be
                    continue
                full += count - done    # the socket's buffer is full (or the socket is gone)
                break
        return full


def _client_text(peer: bytes) -> str:
    """A sockaddr's address as `recvfrom` gives it: "192.0.2.1", "2001:db8::1", "fe80::1%eth0"."""
    family = _U16.unpack_from(peer)[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, peer[4:8])
    text = socket.inet_ntop(socket.AF_INET6, peer[8:24])
    scope = _U32.unpack_from(peer, 24)[0]
    if scope:
        try:
            text += "%" + socket.if_indextoname(scope)
        except OSError:
            text += f"%{scope}"
    return text


def _load_calls() -> tuple | None:
    """libc's recvmmsg and sendmmsg, or None where there are none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        receive, send = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    receive.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    receive.restype = ctypes.c_int
    send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    send.restype = ctypes.c_int
    return receive, send


def datagrams_for(sock: socket.socket, batched: bool = True) -> Datagrams:
    """Batched I/O on `sock` where the system has it (and `batched`), else one call a datagram."""
    calls = _load_calls() if batched else None
    if calls is None:
        return PlainDatagrams(sock)
    # Ask the kernel once for each call, peeking so that no datagram is taken and sending none: a
    # sandbox may refuse the calls themselves, and then every batch would fail.
    header = (_MMsgHdr * 1)()
    receive, send = calls
    if receive(sock.fileno(), ctypes.addressof(header), 1, MSG_DONTWAIT | MSG_PEEK, None) < 0 \
            and ctypes.get_errno() not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
        return PlainDatagrams(sock)
    if send(sock.fileno(), ctypes.addressof(header), 0, 0) < 0:
        return PlainDatagrams(sock)
    return BatchedDatagrams(sock, calls)
