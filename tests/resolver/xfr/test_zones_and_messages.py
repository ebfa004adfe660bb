"""The RPZ records of each kind of entry, and how transfers are cut into messages (dnspython reads them)."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdatatype
import pytest

from fraudwall.blocklists.formats import DomainEntry, Mode, NetworkEntry
from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.dns.codec import read_query
from fraudwall.resolver.xfr import messages, zones

ZONE = "phish.rpz.fraudwall"


def entry(name: str, action: Action = Action.BLOCK, mode: Mode = Mode.SUBTREE, redirect: tuple = ()) -> DomainEntry:
    return DomainEntry(name, mode, action, 0, "", False, redirect)


def read(wires) -> list[tuple[str, str, str]]:
    """(owner, type, data) of every answer record of the messages, in order."""
    found = []
    for wire in wires:
        message = dns.message.from_wire(wire, xfr=True)
        assert message.question[0].name == dns.name.from_text(ZONE)   # every message echoes the question
        for rrset in message.answer:
            for rdata in rrset:
                found.append((rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text()))
    return found


def query(rdtype: str, zone: str = ZONE):
    return read_query(dns.message.make_query(zone + ".", rdtype).to_wire())


def test_each_action_is_the_rpz_policy_a_consumer_enforces():
    names = [entry("bank.example.com"), entry("exact.example.com", mode=Mode.EXACT),
             entry("below.example.com", mode=Mode.BELOW), entry("gone.example.com", Action.NXDOMAIN, Mode.EXACT),
             entry("empty.example.com", Action.NODATA, Mode.EXACT), entry("ok.example.com", Action.ALLOW, Mode.EXACT),
             entry("quiet.example.com", Action.DROP, Mode.EXACT),
             entry("page.example.com", Action.REDIRECT, Mode.EXACT, ("192.0.2.1", "2001:db8::1"))]
    networks = [NetworkEntry("198.51.100.7", Action.BLOCK, 0), NetworkEntry("2001:db8::/32", Action.BLOCK, 0)]
    found = read(messages.messages(query("AXFR"), zones.records(ZONE, names, networks)))
    under = f".{ZONE}."
    assert found == [
        ("bank.example.com" + under, "CNAME", "."), ("*.bank.example.com" + under, "CNAME", "."),
        ("exact.example.com" + under, "CNAME", "."),
        ("*.below.example.com" + under, "CNAME", "."),
        ("gone.example.com" + under, "CNAME", "."),
        ("empty.example.com" + under, "CNAME", "*."),
        ("ok.example.com" + under, "CNAME", "rpz-passthru."),
        ("quiet.example.com" + under, "CNAME", "rpz-drop."),
        ("page.example.com" + under, "A", "192.0.2.1"), ("page.example.com" + under, "AAAA", "2001:db8::1"),
        ("32.7.100.51.198.rpz-ip" + under, "CNAME", "."),
        ("32.zz.db8.2001.rpz-ip" + under, "CNAME", "."),
    ]


def test_a_name_too_long_under_the_zone_is_left_out_not_sent_broken():
    long_name = ".".join(["a" * 60] * 4)        # 244 octets: with the zone's name past 255
    found = read(messages.messages(query("AXFR"), zones.records(ZONE, [entry(long_name, mode=Mode.EXACT),
                                                                      entry("ok.example.com", mode=Mode.EXACT)], [])))
    assert found == [(f"ok.example.com.{ZONE}.", "CNAME", ".")]


def test_an_axfr_is_the_soa_every_record_the_soa_in_messages_under_16_kb():
    names = [entry(f"name{index}.example.com") for index in range(5000)]
    wires = list(messages.axfr(query("AXFR"), zones.soa_record(7), zones.records(ZONE, names, [])))
    assert len(wires) > 5 and all(len(wire) <= messages.MESSAGE_OCTETS for wire in wires)
    found = read(wires)
    assert found[0] == found[-1] == (f"{ZONE}.", "SOA", "localhost. hostmaster.localhost. 7 300 60 1209600 60")
    assert len(found) == 2 + 2 * 5000
    assert all(dns.message.from_wire(wire, xfr=True).flags & 0x0400 for wire in wires)   # authoritative


def test_a_transfer_reads_its_records_only_as_it_sends_them():
    taken = []

    def endless():
        index = 0
        while True:
            taken.append(index)
            yield zones.record(f"name{index}.example.com", "CNAME", ".", len(ZONE) + 2)
            index += 1

    first = next(messages.axfr(query("AXFR"), zones.soa_record(1), endless()))
    assert len(first) <= messages.MESSAGE_OCTETS
    assert len(taken) < 1000          # one message's worth (and one more), not the whole list


def test_an_ixfr_is_one_difference_sequence():
    request = messages.read_request(_ixfr_wire(ZONE, 3))
    assert request.serial == 3
    deleted = [zones.record("old.example.com", "CNAME", ".", 21)]
    added = [zones.record("new.example.com", "CNAME", ".", 21)]
    found = read(messages.ixfr(request.query, zones.soa_record(3), zones.soa_record(5), deleted, added))
    serials = [int(data.split()[2]) if rtype == "SOA" else owner.split(".")[0] for owner, rtype, data in found]
    assert serials == [5, 3, "old", 5, "new", 5]


def test_an_ixfr_without_the_secondarys_soa_is_a_format_error():
    request = messages.read_request(dns.message.make_query(ZONE + ".", "IXFR").to_wire())
    assert dns.message.from_wire(request.reply).rcode() == dns.rcode.FORMERR


def test_serials_compare_as_rfc_1982_says():
    assert messages.newer(2, 1) and not messages.newer(1, 2) and not messages.newer(1, 1)
    assert messages.newer(1, 0xFFFFFFFF)           # the serial wrapped


def test_a_notify_names_the_zone_and_its_new_serial():
    message = dns.message.from_wire(messages.notify(1234, ZONE, zones.soa_record(9)))
    assert message.opcode() == dns.opcode.NOTIFY and message.id == 1234
    assert message.question[0].name == dns.name.from_text(ZONE)
    assert message.answer[0][0].serial == 9
    reply = dns.message.make_response(message)
    assert messages.notify_reply(reply.to_wire()) == (1234, 0)
    assert messages.notify_reply(dns.message.make_response(dns.message.make_query("x.", "A")).to_wire()) is None


def _ixfr_wire(zone: str, serial: int) -> bytes:
    import dns.rrset
    message = dns.message.make_query(zone + ".", "IXFR")
    message.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA",
                                                 f"localhost. hostmaster.localhost. {serial} 1 1 1 1"))
    return message.to_wire()
