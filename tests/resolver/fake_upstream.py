"""An in-process upstream for unit tests: answers from a dict, can truncate, stall, or spoof."""

from __future__ import annotations

import asyncio

import dns.flags
import dns.message
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
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        self.port = transport.get_extra_info("sockname")[1]
        self.tcp_server = await asyncio.start_server(self.serve_tcp, "127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        self.transport.close()
        self.tcp_server.close()
