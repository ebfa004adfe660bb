"""What the transfer server answers, driven with a fake store: access, zones, SOA, AXFR, IXFR, NOTIFY."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from fraudwall.blocklists.formats import DomainEntry, Mode
from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.xfr.notify import Notifier
from fraudwall.resolver.xfr.primary import Primary
from fraudwall.resolver.xfr.zones import Soa

SUFFIX = "rpz.fraudwall"


class FakeStream:
    def __init__(self, serial: int, names: list[str]) -> None:
        self.serial = serial
        self._names = names
        self.closed = False

    def names(self):
        return (DomainEntry(name, Mode.EXACT, Action.BLOCK, 0, "") for name in self._names)

    def networks(self):
        return iter(())

    def close(self) -> None:
        self.closed = True


class FakeCatalogue:
    """Lists by name: (serial, names)."""

    def __init__(self) -> None:
        self.lists = {"phish": (4, ["bank.example.com"]), "manual": (10, ["a.example.org"]),
                      "abuse.ch": (2, ["c2.example.net"])}
        self.streams: list[FakeStream] = []

    def serials(self):
        return {name: serial for name, (serial, _) in self.lists.items()}

    def stream(self, list_name):
        stream = FakeStream(*self.lists[list_name])
        self.streams.append(stream)
        return stream


@pytest.fixture
def catalogue():
    return FakeCatalogue()


@pytest.fixture
def primary(catalogue):
    return Primary(catalogue, SUFFIX, ("127.0.0.0/8", "::1/128"))


def ask(primary, name, rdtype, client="127.0.0.1", tcp=True, serial=None):
    query = dns.message.make_query(name, rdtype)
    if serial is not None:
        query.authority.append(dns.rrset.from_text(name, 0, "IN", "SOA", f"a. b. {serial} 1 1 1 1"))
    return [dns.message.from_wire(wire, xfr=True) for wire in primary.respond(query.to_wire(), client, tcp)]


def records(replies):
    return [(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
            for reply in replies for rrset in reply.answer for rdata in rrset]


def serial_of(record):
    return int(record[2].split()[2])


def test_a_transfer_from_outside_allow_is_refused(primary):
    for rdtype in ("AXFR", "SOA"):
        (reply,) = ask(primary, "phish.rpz.fraudwall.", rdtype, client="192.0.2.1")
        assert reply.rcode() == dns.rcode.REFUSED and not reply.answer
    (reply,) = ask(primary, "phish.rpz.fraudwall.", "AXFR", client="::ffff:127.0.0.1")   # IPv4-mapped loopback
    assert reply.rcode() == dns.rcode.NOERROR


def test_a_zone_not_served_is_notauth_for_a_transfer_and_refused_for_a_query(primary):
    (reply,) = ask(primary, "other.rpz.fraudwall.", "AXFR")
    assert reply.rcode() == dns.rcode.NOTAUTH
    (reply,) = ask(primary, "example.org.", "SOA")
    assert reply.rcode() == dns.rcode.REFUSED


def test_an_soa_query_gives_the_lists_serial(primary):
    (reply,) = ask(primary, "phish.rpz.fraudwall.", "SOA", tcp=False)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    assert serial_of(records([reply])[0]) == 4


def test_an_axfr_sends_the_list_and_closes_what_it_read(primary, catalogue):
    found = records(ask(primary, "phish.rpz.fraudwall.", "AXFR"))
    assert [rtype for _, rtype, _ in found] == ["SOA", "NS", "CNAME", "SOA"]
    assert found[2][0] == "bank.example.com.phish.rpz.fraudwall."
    assert catalogue.streams[-1].closed


def test_a_list_whose_name_has_a_dot_is_served_under_that_whole_name(primary):
    found = records(ask(primary, "abuse.ch.rpz.fraudwall.", "AXFR"))
    assert found[2][0] == "c2.example.net.abuse.ch.rpz.fraudwall."
    (reply,) = ask(primary, "ch.rpz.fraudwall.", "AXFR")
    assert reply.rcode() == dns.rcode.NOTAUTH


def test_an_axfr_over_udp_is_refused_and_an_ixfr_over_udp_says_use_tcp(primary):
    (reply,) = ask(primary, "phish.rpz.fraudwall.", "AXFR", tcp=False)
    assert reply.rcode() == dns.rcode.REFUSED
    (reply,) = ask(primary, "phish.rpz.fraudwall.", "IXFR", tcp=False, serial=1)
    assert [rtype for _, rtype, _ in records([reply])] == ["SOA"]


def test_an_ixfr_from_the_current_serial_is_the_soa_alone(primary):
    found = records(ask(primary, "phish.rpz.fraudwall.", "IXFR", serial=4))
    assert [rtype for _, rtype, _ in found] == ["SOA"] and serial_of(found[0]) == 4


def test_an_ixfr_of_an_imported_list_is_the_whole_zone(primary, catalogue):
    catalogue.lists["phish"] = (5, ["bank.example.com", "new.example.com"])
    assert primary.refresh() == [Soa("phish.rpz.fraudwall", 5)]
    found = records(ask(primary, "phish.rpz.fraudwall.", "IXFR", serial=4))
    assert [rtype for _, rtype, _ in found] == ["SOA", "NS", "CNAME", "CNAME", "SOA"]   # AXFR-style


def test_an_ixfr_of_the_operators_zone_sends_only_what_changed(primary, catalogue):
    catalogue.lists["manual"] = (12, ["a.example.org", "b.example.org"])
    primary.refresh()
    catalogue.lists["manual"] = (13, ["b.example.org"])
    primary.refresh()
    found = records(ask(primary, "manual.rpz.fraudwall.", "IXFR", serial=10))
    summary = [serial_of(r) if r[1] == "SOA" else r[0].split(".")[0] for r in found]
    assert summary == [13, 10, "a", 13, "b", 13]       # a removed and b added since 10, in one sequence
    found = records(ask(primary, "manual.rpz.fraudwall.", "IXFR", serial=12))
    assert [serial_of(r) if r[1] == "SOA" else r[0].split(".")[0] for r in found] == [13, 12, "a", 13, 13]


def test_an_ixfr_from_a_version_the_journal_never_saw_is_the_whole_zone(primary):
    found = records(ask(primary, "manual.rpz.fraudwall.", "IXFR", serial=3))
    assert [rtype for _, rtype, _ in found] == ["SOA", "NS", "CNAME", "SOA"]


def test_refresh_names_each_zone_whose_serial_moved(primary, catalogue):
    assert primary.refresh() == []
    catalogue.lists["new"] = (1, [])
    catalogue.lists["manual"] = (11, [])
    assert sorted(primary.refresh()) == [Soa("manual.rpz.fraudwall", 11), Soa("new.rpz.fraudwall", 1)]


def test_a_notify_is_sent_again_with_growing_waits_until_acknowledged():
    notifier = Notifier((("127.0.0.1", 53), ("127.0.0.2", 53)), tries=3, first_wait=1.0)
    notifier.changed(Soa("phish.rpz.fraudwall", 5), now=0.0)
    first = notifier.due(0.0)
    assert {send.target for send in first} == {("127.0.0.1", 53), ("127.0.0.2", 53)}
    assert notifier.due(0.5) == []
    assert notifier.answered(("127.0.0.1", 53), first[0].ident if first[0].target[0] == "127.0.0.1" else first[1].ident)
    assert [send.target for send in notifier.due(1.0)] == [("127.0.0.2", 53)]   # after 1 s
    assert notifier.due(2.5) == []                                               # then 2 s
    assert [send.target for send in notifier.due(3.0)] == [("127.0.0.2", 53)]
    assert notifier.due(7.0) == [] and notifier.failed == 1 and notifier.wake_at() is None
    assert notifier.sent == 4 and notifier.acknowledged == 1


def test_a_newer_serial_replaces_a_notify_still_owed():
    notifier = Notifier((("127.0.0.1", 53),))
    notifier.changed(Soa("manual.rpz.fraudwall", 5), now=0.0)
    notifier.changed(Soa("manual.rpz.fraudwall", 6), now=0.0)
    assert [send.soa.serial for send in notifier.due(0.0)] == [6]


def test_an_operators_zone_too_big_for_the_journal_is_sent_whole(catalogue, monkeypatch):
    monkeypatch.setattr("fraudwall.resolver.xfr.primary.JOURNAL_RECORDS", 1)
    catalogue.lists["manual"] = (10, ["a.example.org", "b.example.org"])
    primary = Primary(catalogue, SUFFIX, ("127.0.0.0/8",))
    catalogue.lists["manual"] = (11, ["b.example.org"])
    primary.refresh()
    found = records(ask(primary, "manual.rpz.fraudwall.", "IXFR", serial=10))
    assert [rtype for _, rtype, _ in found] == ["SOA", "NS", "CNAME", "SOA"]
    read = len(catalogue.streams)
    primary.refresh()                       # nothing changed: the zone is not read again
    assert len(catalogue.streams) == read
