"""fraudwall as an RPZ secondary, without a network: the transfer client reading a primary's bytes, the
refresh applied to a store, the schedule, and the NOTIFY stage."""

from __future__ import annotations

import asyncio

import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rrset
import pytest

from fraudwall.blocklists import store
from fraudwall.blocklists.settings import BlocklistSettings, Follow
from fraudwall.resolver.config import ConfigError, from_document
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.dns.decision import question
from fraudwall.resolver.dns.codec import OPCODE_NOTIFY
from fraudwall.resolver.dns.stages.notify import NotifyStage
from fraudwall.resolver.observe.metrics import families, merge
from fraudwall.resolver.xfr import secondary
from fraudwall.resolver.xfr.client import (
    AxfrReader, Framing, IxfrReader, SoaTimers, TransferFailed, axfr_query, framed, ixfr_query, read_soa, soa_query,
)
from tests.blocklists.blocklist_helpers import cli, fake_guards

ZONE = "phish.rpz.example.org"
SOA_TEXT = "ns.example.org. hostmaster.example.org. {serial} 3600 600 86400 60"


def _reply(request: bytes, records: list[str], rcode: int = dns.rcode.NOERROR) -> bytes:
    """The primary's message answering `request` with these records ("owner TTL IN TYPE RDATA"), as
    dnspython writes it: names compressed."""
    reply = dns.message.make_response(dns.message.from_wire(request))
    reply.set_rcode(rcode)
    for text in records:
        owner, ttl, _, rtype, rdata = text.split(None, 4)
        reply.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", rtype, rdata))
    return reply.to_wire()


def _zone_records(serial: int, names: list[str]) -> list[str]:
    soa = f"{ZONE}. 60 IN SOA {SOA_TEXT.format(serial=serial)}"
    body = [f"{ZONE}. 60 IN NS ns.example.org."]
    for name in names:
        body += [f"{name}.{ZONE}. 60 IN CNAME .", f"*.{name}.{ZONE}. 60 IN CNAME ."]
    return [soa, *body, soa]


# ---------------------------------------------------------------- the client, bytes in and out

def test_the_questions_are_an_soa_query_and_an_axfr_for_the_zone():
    for build, rdtype in ((soa_query, "SOA"), (axfr_query, "AXFR")):
        message = dns.message.from_wire(build(4242, ZONE))
        assert message.id == 4242 and message.opcode() == dns.opcode.QUERY
        assert message.question[0].to_text() == f"{ZONE}. IN {rdtype}"


def test_the_serial_and_timers_are_read_from_the_soa_answer():
    request = soa_query(7, ZONE)
    reply = _reply(request, [f"{ZONE}. 60 IN SOA {SOA_TEXT.format(serial=2026120201)}"])
    assert read_soa(reply, 7, ZONE) == SoaTimers(2026120201, 3600, 600, 86400)


@pytest.mark.parametrize("case, message", [
    ("refused", "the primary answered REFUSED"),
    ("other id", "a reply to another question"),
    ("no soa", "the primary holds no zone phish.rpz.example.org."),
    ("short", "a reply shorter than a DNS header"),
])
def test_a_primary_that_cannot_or_will_not_answer_is_one_line(case, message):
    request = soa_query(7, ZONE)
    reply = {
        "refused": _reply(request, [], dns.rcode.REFUSED),
        "other id": b"\x00\x08" + _reply(request, [])[2:],
        "no soa": _reply(request, []),
        "short": b"\x00\x07\x80",
    }[case]
    with pytest.raises(TransferFailed, match=message):
        read_soa(reply, 7, ZONE)


def test_an_axfr_over_several_messages_becomes_the_zone_file_rpz_reads():
    request = axfr_query(9, ZONE)
    records = _zone_records(5, ["evil-bank.example.com", "nodata.example.net"])
    records.insert(3, f"32.1.2.0.192.rpz-ip.{ZONE}. 60 IN CNAME .")
    records.insert(3, f"redirect.example.com.{ZONE}. 60 IN A 192.0.2.7")
    records.insert(3, f"note.{ZONE}. 60 IN TXT \"a ; comment\"")
    reader = AxfrReader(9, ZONE)
    framing = Framing()
    stream = b"".join(framed(_reply(request, records[start:start + 2])) for start in range(0, len(records), 2))
    lines = []
    for start in range(0, len(stream), 7):        # the bytes arrive in small pieces
        for message in framing.feed(stream[start:start + 7]):
            lines += reader.feed(message)
    assert reader.done and reader.soa == SoaTimers(5, 3600, 600, 86400)
    assert lines[0] == f"{ZONE}. 60 IN SOA {SOA_TEXT.format(serial=5)}"
    assert f"evil-bank.example.com.{ZONE}. 60 IN CNAME ." in lines
    assert f"*.evil-bank.example.com.{ZONE}. 60 IN CNAME ." in lines
    assert f"32.1.2.0.192.rpz-ip.{ZONE}. 60 IN CNAME ." in lines
    assert f"redirect.example.com.{ZONE}. 60 IN A 192.0.2.7" in lines
    assert not any("TXT" in line or ";" in line for line in lines)


@pytest.mark.parametrize("records, message", [
    ([f"evil.{ZONE}. 60 IN CNAME ."], "does not start with the SOA"),
    ([f"{ZONE}. 60 IN SOA {SOA_TEXT.format(serial=1)}"] * 2 + [f"evil.{ZONE}. 60 IN CNAME ."],
     "after the transfer's closing SOA"),
])
def test_a_transfer_that_is_not_a_zone_stops(records, message):
    request = axfr_query(9, ZONE)
    with pytest.raises(TransferFailed, match=message):
        AxfrReader(9, ZONE).feed(_reply(request, records))


def test_a_zone_past_the_record_limit_stops():
    request = axfr_query(9, ZONE)
    reader = AxfrReader(9, ZONE, max_records=3)
    with pytest.raises(TransferFailed, match="more than 3 records"):
        reader.feed(_reply(request, _zone_records(1, ["a.example", "b.example"])))


def _soa(serial: int) -> str:
    return f"{ZONE}. 60 IN SOA {SOA_TEXT.format(serial=serial)}"


def test_an_ixfr_query_carries_the_serial_held():
    message = dns.message.from_wire(ixfr_query(11, ZONE, 41))
    assert message.question[0].to_text() == f"{ZONE}. IN IXFR"
    assert message.authority[0][0].serial == 41


def test_an_ixfr_answered_with_the_soa_alone_is_current():
    request = ixfr_query(11, ZONE, 4)
    reader = IxfrReader(11, ZONE, 4)
    assert reader.feed(_reply(request, [_soa(4)])) == []
    assert reader.done and reader.current


def test_an_ixfr_answered_with_the_whole_zone_is_read_as_an_axfr():
    request = ixfr_query(11, ZONE, 4)
    reader = IxfrReader(11, ZONE, 4)
    lines = reader.feed(_reply(request, _zone_records(6, ["a.example.com"])))
    assert reader.done and not reader.incremental and not reader.current
    assert lines[0] == _soa(6) and f"a.example.com.{ZONE}. 60 IN CNAME ." in lines


def test_ixfr_difference_sequences_are_applied_to_the_old_zone_file():
    """RFC 1995 4: from 4 to 5 (b removed, c added), from 5 to 6 (c removed again, d added)."""
    old = [_soa(4), f"a.example.com.{ZONE}. 60 IN CNAME .", f"b.example.com.{ZONE}. 60 IN CNAME ."]
    records = [_soa(6),
               _soa(4), f"b.example.com.{ZONE}. 60 IN CNAME .", _soa(5), f"c.example.com.{ZONE}. 60 IN CNAME .",
               _soa(5), f"c.example.com.{ZONE}. 300 IN CNAME .", _soa(6), f"d.example.com.{ZONE}. 60 IN CNAME .",
               _soa(6)]
    request = ixfr_query(11, ZONE, 4)
    reader = IxfrReader(11, ZONE, 4)
    for start in range(0, len(records), 4):
        assert reader.feed(_reply(request, records[start:start + 4])) == []
    assert reader.done and reader.incremental and reader.soa.serial == 6
    assert list(reader.apply(line + "\n" for line in old)) == [
        _soa(6), f"a.example.com.{ZONE}. 60 IN CNAME .", f"d.example.com.{ZONE}. 60 IN CNAME ."]


# ---------------------------------------------------------------- the config

def test_follow_is_read_from_the_config_and_a_wrong_one_is_one_line():
    config = from_document({"blocklists": {"follow": [f"phish={ZONE}.,127.0.0.1:5353", "other=example.net,[::1]"]}},
                           "fraudwall.toml")
    assert config.blocklists.follow == (Follow("phish", ZONE, "127.0.0.1:5353"),
                                        Follow("other", "example.net", "[::1]"))
    assert [follow.address for follow in config.blocklists.follow] == [("127.0.0.1", 5353), ("::1", 53)]
    with pytest.raises(ConfigError, match=r"^fraudwall.toml: \[blocklists\] follow: 'phish=x.example,primary': "
                                          r"primary: 'primary' is not ADDR\[:PORT\]"):
        from_document({"blocklists": {"follow": ["phish=x.example,primary"]}}, "fraudwall.toml")
    with pytest.raises(ConfigError, match="list 'phish' is filled twice"):
        from_document({"blocklists": {"follow": ["phish=a.example,192.0.2.1", "phish=b.example,192.0.2.2"]}}, "t")


# ---------------------------------------------------------------- a refresh applied to the store

class FakePrimary:
    """Answers the SOA query and the AXFR from `zone` (serial, names), as a connected socket would."""

    def __init__(self) -> None:
        self.zone = (1, ["evil-bank.example.com"])
        self.asked: list[str] = []
        self.reachable = True
        self.ixfr = "whole"       # how an IXFR is answered: whole (the zone, AXFR style), diff, or an rcode
        self.versions: dict[int, list[str]] = {}
        self.ixfr_from: list[int] = []

    def connect(self, address, timeout):
        if not self.reachable:
            raise TransferFailed(f"cannot connect to {address[0]} port {address[1]}: Connection refused")
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, primary: FakePrimary) -> None:
        self.primary = primary
        self.pending = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def sendall(self, data: bytes) -> None:
        request = data[2:]
        qtype = dns.message.from_wire(request).question[0].rdtype
        primary = self.primary
        serial, names = primary.zone
        primary.versions[serial] = names
        records = _zone_records(serial, names)
        if qtype == 6:
            primary.asked.append("SOA")
            self.pending = framed(_reply(request, records[:1]))
            return
        primary.asked.append("AXFR" if qtype == 252 else "IXFR")
        if qtype == 251 and isinstance(primary.ixfr, int):
            self.pending = framed(_reply(request, [], primary.ixfr))
            return
        if qtype == 251 and primary.ixfr == "diff":
            held = dns.message.from_wire(request).authority[0][0].serial
            primary.ixfr_from.append(held)
            before = primary.versions[held]
            removed = [record for name in before if name not in names
                       for record in (f"{name}.{ZONE}. 60 IN CNAME .", f"*.{name}.{ZONE}. 60 IN CNAME .")]
            added = [record for name in names if name not in before
                     for record in (f"{name}.{ZONE}. 60 IN CNAME .", f"*.{name}.{ZONE}. 60 IN CNAME .")]
            records = [_soa(serial), _soa(held), *removed, _soa(serial), *added, _soa(serial)]
        self.pending = b"".join(framed(_reply(request, records[i:i + 3])) for i in range(0, len(records), 3))

    def recv(self, size: int) -> bytes:
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


@pytest.fixture
def primary(monkeypatch) -> FakePrimary:
    fake = FakePrimary()
    monkeypatch.setattr(secondary, "_connect", fake.connect)
    return fake


def _refresh(db, follow=Follow("phish", ZONE, "192.0.2.53")):
    state = secondary.refresh(db, follow, BlocklistSettings(), fake_guards())
    secondary.write_state(db, follow.name, state)
    return state


def _names(db, list_name="phish") -> set[str]:
    connection = store.connect_catalogue(db, create=False)
    try:
        entries, _ = store.list_entries(store.StorePaths(db), connection, list_name)
    finally:
        connection.close()
    return {entry.name for entry in entries}


def test_the_first_refresh_transfers_the_zone_into_the_list_and_an_unmoved_serial_transfers_nothing(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    state = _refresh(db)
    assert (state.result, state.serial, state.refresh, state.retry) == ("transferred", 1, 3600, 600)
    assert "evil-bank.example.com" in _names(db)
    assert primary.asked == ["SOA", "AXFR"]

    state = _refresh(db)
    assert (state.result, state.serial) == ("current", 1)
    assert primary.asked == ["SOA", "AXFR", "SOA"]
    assert state.counts == {"transferred": 1, "current": 1}

    primary.zone = (2, ["evil-bank.example.com", "new-phish.example.net"])
    state = _refresh(db)
    assert (state.result, state.serial) == ("transferred", 2)
    assert "new-phish.example.net" in _names(db)


def test_a_moved_serial_comes_by_ixfr_and_a_primary_without_ixfr_sends_the_whole_zone(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    primary.ixfr = "diff"
    primary.zone = (1, ["a.example.com", "b.example.com"])
    _refresh(db)
    primary.zone = (2, ["a.example.com", "c.example.com"])
    state = _refresh(db)
    assert state.result == "transferred" and state.detail.startswith("serial 2 by IXFR; ")
    assert primary.asked[-2:] == ["SOA", "IXFR"]
    assert _names(db) == {"a.example.com", "c.example.com"}

    primary.ixfr = dns.rcode.NOTIMP
    primary.zone = (3, ["d.example.com"])
    state = _refresh(db)
    assert state.detail.startswith("serial 3 by AXFR; ") and primary.asked[-3:] == ["SOA", "IXFR", "AXFR"]
    assert _names(db) == {"d.example.com"}


def test_a_serial_that_went_back_is_not_applied(tmp_path, primary):
    """RFC 1982: 4,000,000,000 then 5 is a step forward; 3 after 5 is a step back."""
    db = tmp_path / "blocklists.db"
    primary.zone = (4_000_000_000, ["a.example.com"])
    _refresh(db)
    primary.zone = (5, ["b.example.com"])
    assert _refresh(db).result == "transferred"
    primary.zone = (3, ["c.example.com"])
    assert (_refresh(db).result, _names(db)) == ("current", {"b.example.com"})


def test_a_zone_that_changes_too_much_is_held_back_as_an_import_is(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    primary.zone = (1, [f"name{index}.example.com" for index in range(100)])   # the importer's minimum
    _refresh(db)
    primary.zone = (2, [f"other{index}.example.net" for index in range(100)])
    state = _refresh(db)
    assert (state.result, state.serial) == ("held", 1)
    assert "held back" in state.detail
    assert "name0.example.com" in _names(db)


def test_a_held_copy_is_tried_again_and_the_next_ixfr_starts_from_it(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    primary.ixfr = "diff"
    first = [f"name{index}.example.com" for index in range(100)]
    primary.zone = (1, first)
    _refresh(db)
    primary.zone = (2, [f"other{index}.example.net" for index in range(100)])
    assert _refresh(db).result == "held"
    asked = len(primary.asked)
    state = _refresh(db)                    # the primary is still at 2: its copy is imported again
    assert (state.result, state.serial, primary.asked[asked:]) == ("held", 1, ["SOA"])
    primary.zone = (3, [*first, "new.example.com"])
    state = _refresh(db)
    assert (state.result, state.serial, primary.ixfr_from[-1]) == ("transferred", 3, 2)
    assert _names(db) == {*first, "new.example.com"}


def test_a_zone_naming_a_popular_site_leaves_it_in_quarantine(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    primary.zone = (1, ["evil-bank.example.com", "google.com"])
    assert _refresh(db).result == "transferred"
    assert "google.com" not in _names(db)


def test_an_unreachable_primary_is_a_failure_and_keeps_the_list(tmp_path, primary):
    db = tmp_path / "blocklists.db"
    _refresh(db)
    primary.reachable = False
    state = _refresh(db)
    assert (state.result, state.serial) == ("failed", 1)
    assert state.detail == "cannot connect to 192.0.2.53 port 53: Connection refused"
    assert "evil-bank.example.com" in _names(db)


def test_lists_shows_each_followed_list_its_primary_serial_and_last_refresh(tmp_path, primary, capsys):
    db = tmp_path / "blocklists.db"
    _refresh(db)
    primary.reachable = False
    _refresh(db)
    follows = (Follow("phish", ZONE, "192.0.2.53"), Follow("later", "later.example.net", "192.0.2.54:5353"))
    config = from_document({"blocklists": {"db": str(db), "follow": [
        f"{follow.name}={follow.zone},{follow.primary}" for follow in follows]}}, "t")
    assert cli("lists", "--db", db, config=config) == 0
    out = capsys.readouterr().out.splitlines()
    # A failed refresh does not hide the transfer before it: the serial in force and where it came from.
    assert out[-2].startswith(f"phish follows {ZONE}. at 192.0.2.53: serial 1; last transfer ")
    assert ": serial 1 by AXFR; list phish (created)" in out[-2]
    assert out[-2].endswith(" failed: cannot connect to 192.0.2.53 port 53: Connection refused")
    assert out[-1] == "later follows later.example.net. at 192.0.2.54:5353: no transfer yet (`serve` refreshes it)"


# ---------------------------------------------------------------- the schedule and /metrics

class FakeProcess:
    def __init__(self) -> None:
        self.code = None

    def poll(self):
        return self.code


def test_a_notify_trigger_starts_a_refresh_at_once_and_the_soa_refresh_the_next(tmp_path, monkeypatch):
    db = tmp_path / "blocklists.db"
    now = [100.0]
    follow = Follow("phish", ZONE, "192.0.2.53")
    following = secondary.Following(db, BlocklistSettings(follow=(follow,)), clock=lambda: now[0])
    started: list[FakeProcess] = []
    monkeypatch.setattr(following, "_start", lambda follow: started.append(FakeProcess()) or started[-1])

    assert following.tick() == secondary.POLL_SECONDS and len(started) == 1     # at start
    secondary.write_state(db, "phish", secondary.FollowState(
        follow.primary, ZONE, 1, 3600, 600, 0.0, "transferred", "", {"transferred": 1}))
    started[0].code = 0
    now[0] += secondary.MIN_REFRESH                     # the refresh took 2 s
    following.tick()
    assert len(started) == 1 and following.due["phish"] == pytest.approx(102.0 + 3600)

    secondary.trigger_path(db, "phish").touch()       # what the NOTIFY stage leaves
    following.tick()
    assert len(started) == 2 and not secondary.trigger_path(db, "phish").exists()

    started[1].code = 0
    now[0] += 0.5
    secondary.trigger_path(db, "phish").touch()       # a flood of NOTIFYs: one refresh every 2 s at most
    following.tick()
    assert len(started) == 2
    now[0] += secondary.MIN_REFRESH
    following.tick()
    assert len(started) == 3

    started[2].code = -9                               # killed before it wrote its state: retry, not refresh
    now[0] += 1
    following.tick()
    assert following.due["phish"] == pytest.approx(now[0] + 600)

    rows = merge([following.snapshot()]).counters[secondary.METRIC]
    assert rows == {("phish", "transferred"): 1}
    family = next(f for f in families(merge([following.snapshot()])) if f.name == secondary.METRIC)
    assert [(s.labels, s.value) for s in family.samples] == [({"list": "phish", "result": "transferred"}, 1)]


# ---------------------------------------------------------------- the NOTIFY stage

class Next(Stage):
    async def resolve(self, query):
        return Answer(AnswerKind.RESOLVED, None, Trigger.UPSTREAM)


def _run(stage: Stage, query):
    return asyncio.run(stage.resolve(query))


def _notify(client: str, zone: str = ZONE):
    query = question(zone, client, qtype=6)
    return query._replace(flags=query.flags | OPCODE_NOTIFY)


@pytest.fixture
def notify_stage(tmp_path):
    db = tmp_path / "blocklists.db"
    (tmp_path / "follow").mkdir()
    stage = NotifyStage((Follow("phish", ZONE, "192.0.2.53:5353"),), db)
    stage.next = Next()
    return stage, secondary.trigger_path(db, "phish")


def test_a_notify_from_the_primary_is_acknowledged_and_asks_for_a_refresh(notify_stage):
    stage, trigger = notify_stage
    answer = _run(stage, _notify("192.0.2.53"))
    reply = dns.message.from_wire(answer.body)
    assert (reply.opcode(), reply.rcode(), reply.id) == (dns.opcode.NOTIFY, dns.rcode.NOERROR, 0)
    assert reply.question[0].name == dns.name.from_text(ZONE)
    assert trigger.exists()


@pytest.mark.parametrize("client, zone", [("192.0.2.54", ZONE), ("192.0.2.53", "other.rpz.example.org")])
def test_a_notify_from_anyone_else_or_for_another_zone_is_refused(notify_stage, client, zone):
    stage, trigger = notify_stage
    reply = dns.message.from_wire(_run(stage, _notify(client, zone)).body)
    assert (reply.opcode(), reply.rcode()) == (dns.opcode.NOTIFY, dns.rcode.REFUSED)
    assert not trigger.exists()


def test_an_ordinary_query_goes_on_down_the_chain(notify_stage):
    stage, trigger = notify_stage
    assert _run(stage, question(ZONE, "192.0.2.53", qtype=6)).kind is AnswerKind.RESOLVED
    assert not trigger.exists()
