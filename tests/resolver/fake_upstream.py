"""In-process upstreams for the tests: one answers from a dict and can truncate, stall or spoof;
one floods forged replies at every query."""

from __future__ import annotations

import asyncio
import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset


class FakeUpstream(asyncio.DatagramProtocol):
    def __init__(self, records: dict[str, list[str]], truncate_udp: bool = False, silent: bool = False,
                 spoof_first: bool = False, delay: float = 0.0, rcode: int = 0) -> None:
        self.records = records
        self.rcode = rcode
        self.truncate_udp = truncate_udp
        self.silent = silent
        self.spoof_first = spoof_first
        self.delay = delay
        self.udp_queries: list[str] = []
        self.tcp_queries: list[str] = []
        self.tcp_connections = 0
        self.transport = None
        self.port = 0

    def reply(self, wire: bytes, over_udp: bool) -> bytes:
        query = dns.message.from_wire(wire)
        reply = dns.message.make_response(query)
        reply.set_rcode(self.rcode)
        name = query.question[0].name.to_text().rstrip(".").lower()
        for text in self.records.get(name, []):
            owner, ttl, rdtype, rdata = text.split(maxsplit=3)
            reply.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype, rdata))
        if over_udp and self.truncate_udp:
            reply.answer = []
            reply.flags |= dns.flags.TC
        return reply.to_wire()

    # UDP
    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.udp_queries.append(dns.message.from_wire(data).question[0].name.to_text())
        if self.silent:
            return
        reply = self.reply(data, over_udp=True)
        if self.spoof_first:
            spoofed = bytearray(reply)
            spoofed[0] ^= 0xFF
            self.transport.sendto(bytes(spoofed), addr)
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply, addr)
        else:
            self.transport.sendto(reply, addr)

    # TCP
    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tcp_connections += 1
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(length)
                self.tcp_queries.append(dns.message.from_wire(data).question[0].name.to_text())
                reply = self.reply(data, over_udp=False)
                writer.write(len(reply).to_bytes(2, "big") + reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def start(self) -> "FakeUpstream":
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
            self.port = transport.get_extra_info("sockname")[1]
            try:
                self.tcp_server = await asyncio.start_server(self.serve_tcp, "127.0.0.1", self.port)
            except OSError:   # the UDP port the kernel picked is taken for TCP by another process
                transport.close()
                continue
            return self
        raise OSError("no port free for both UDP and TCP")

    def stop(self) -> None:
        self.transport.close()
        self.tcp_server.close()


FORGED_ADDRESS = "203.0.113.66"


class ForgingUpstream:
    """An upstream that floods forged replies at each query while it is pending (the RFC 5452 attacks).

    For every query, before its real reply: `wrong_ids` replies with other IDs, and replies with
    the right ID but another name, another type, the QR bit clear, or from another source port;
    after it, replies with the right ID and question, arriving too late. Each forgery carries
    FORGED_ADDRESS. A name in `answer_second_try` gets no answer to its first try; when its second
    try comes, the first try's right reply (with FORGED_ADDRESS) goes to the first try's port
    and to the second's, then the real reply. A name in `never_answer` gets the forgeries sent
    before a real reply, and nothing else.
    `smuggle` records go into the answer section of every real reply to another name.

    A thread with plain sockets: a forwarder in this process or in another can be its client.
    """

    def __init__(self, addresses: dict[str, str], wrong_ids: int = 150, answer_second_try: tuple[str, ...] = (),
                 never_answer: tuple[str, ...] = (), smuggle: tuple[str, ...] = ()) -> None:
        self.addresses = addresses
        self.wrong_ids = wrong_ids
        self.answer_second_try = answer_second_try
        self.never_answer = never_answer
        self.smuggle = smuggle
        self.queries: list[str] = []   # names asked, one entry per try
        self.forged = 0                # forged datagrams sent
        self._first_tries: dict[str, tuple[dns.message.Message, tuple]] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.other_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other_port.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="forging-upstream", daemon=True)

    def start(self) -> "ForgingUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self.other_port.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self._answer(dns.message.from_wire(data), client)

    def _answer(self, query: dns.message.Message, client: tuple) -> None:
        name = query.question[0].name.to_text().rstrip(".").lower()
        self.queries.append(name)
        if name in self.answer_second_try and name not in self._first_tries:
            self._first_tries[name] = (query, client)
            return
        forged = self._reply(query, FORGED_ADDRESS)
        before = [_with_id(forged, (query.id + 1 + offset) % 65536) for offset in range(self.wrong_ids)]
        before.append(self._reply(_asking(query, "forged.example.org", query.question[0].rdtype), FORGED_ADDRESS))
        before.append(self._reply(_asking(query, name, dns.rdatatype.AAAA), "2001:db8::66"))
        before.append(forged[:2] + bytes([forged[2] & 0x7F]) + forged[3:])   # QR clear: a query, not a reply
        for wire in before:
            self._send(self.sock, wire, client)
        self._send(self.other_port, forged, client)
        if name in self._first_tries:
            first, first_client = self._first_tries[name]
            late = self._reply(first, FORGED_ADDRESS)
            self._send(self.sock, late, first_client)   # its socket is closed: the kernel drops it
            self._send(self.sock, late, client)         # the first try's ID on the second try's port
        if name in self.never_answer:
            return
        self.sock.sendto(self._reply(query, self.addresses[name], smuggled=True), client)
        for _ in range(10):
            self._send(self.sock, forged, client)       # after the real one: its socket is gone or done

    def _reply(self, query: dns.message.Message, address: str, smuggled: bool = False) -> bytes:
        reply = dns.message.make_response(query)
        rdtype = dns.rdatatype.AAAA if ":" in address else dns.rdatatype.A
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", rdtype, address))
        if smuggled:
            for text in self.smuggle:
                owner, ttl, rdtype_text, rdata = text.split(maxsplit=3)
                if dns.name.from_text(owner) == query.question[0].name:
                    continue   # its own name: the answer, not a smuggled record
                reply.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype_text, rdata))
        return reply.to_wire()

    def _send(self, sock: socket.socket, wire: bytes, client: tuple) -> None:
        sock.sendto(wire, client)
        self.forged += 1


def _with_id(wire: bytes, ident: int) -> bytes:
    return ident.to_bytes(2, "big") + wire[2:]


def _asking(query: dns.message.Message, name: str, rdtype: int) -> dns.message.Message:
    """A query like `query`, same ID, for another name or type."""
    other = dns.message.make_query(name, rdtype)
    other.id = query.id
    return other
