"""The notify stage for a list followed with a TSIG key: the primary's NOTIFY is taken only signed
with that key, and the reply is signed over its MAC (what NSD and BIND check); anything else is
refused as RFC 8945 says, and asks for no refresh."""

from __future__ import annotations

import base64
import struct
import time

import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest

from fraudwall.blocklists.settings import Follow
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.chain import Stage
from fraudwall.resolver.dns.codec import read_query
from fraudwall.resolver.dns.codes import AnswerKind, Transport, Trigger
from fraudwall.resolver.dns.stages.notify import NotifyStage
from fraudwall.resolver.xfr import secondary, tsig
from tests.resolver.helpers import run

ZONE = "phish.rpz.example.org"
PRIMARY = "192.0.2.53"
KEY = "transfer-key"
SECRET = base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = base64.b64encode(bytes(range(1, 33))).decode()


class Next(Stage):
    async def resolve(self, query):
        return Answer(AnswerKind.RESOLVED, None, Trigger.UPSTREAM)


def _keyring() -> dict:
    return dns.tsigkeyring.from_text({f"{KEY}.": ("hmac-sha256", SECRET)})


def _key_file(tmp_path, secret: str = SECRET):
    path = tmp_path / "xfr.key"
    path.write_text(f'key "{KEY}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
    path.chmod(0o600)
    return path


@pytest.fixture
def now() -> int:
    """The stages' clock: this test's start (dnspython checks a reply's time against its own clock, so
    not the time the module was imported, minutes earlier in a whole run)."""
    return int(time.time())


@pytest.fixture
def keyed(tmp_path, now):
    """A stage following ZONE from PRIMARY with the key, its clock at `now`, and the list's trigger file."""
    db = tmp_path / "blocklists.db"
    (tmp_path / "follow").mkdir()
    follow = Follow("phish", ZONE, f"{PRIMARY}:5353", KEY, str(_key_file(tmp_path)))
    stage = NotifyStage((follow,), db, clock=lambda: now)
    stage.next = Next()
    return stage, secondary.trigger_path(db, "phish")


def _rcode_and_tsig_error(body: bytes) -> tuple[int, int | None]:
    rest, record = tsig.split(body)
    return struct.unpack_from("!H", rest, 2)[0] & 0xF, None if record is None else record.error


def _key(secret: str = SECRET, name: str = KEY) -> tsig.Key:
    return tsig.Key(name, "hmac-sha256", base64.b64decode(secret))


def _signed_notify(key: tsig.Key | None, signed_at: int) -> bytes:
    """A NOTIFY as NSD and BIND send it (no EDNS), signed with `key` at `signed_at` (None: unsigned)."""
    request = dns.message.make_query(ZONE, dns.rdatatype.SOA)
    request.set_opcode(dns.opcode.NOTIFY)
    wire = request.to_wire()
    return wire if key is None else tsig.sign(wire, key, signed_at)[0]


def _answer(stage: NotifyStage, wire: bytes, client: str = PRIMARY) -> bytes:
    return run(stage.resolve(read_query(wire, client, Transport.UDP))).body


def test_a_notify_signed_with_the_key_is_acknowledged_signed_and_asks_for_a_refresh(keyed, now):
    stage, trigger = keyed
    request = dns.message.make_query(ZONE, dns.rdatatype.SOA)
    request.set_opcode(dns.opcode.NOTIFY)
    wire, mac = tsig.sign(request.to_wire(), _key(), now)
    body = run(stage.resolve(read_query(wire, PRIMARY, Transport.UDP))).body
    # dnspython checks the reply's TSIG over the NOTIFY's MAC, as NSD and BIND do.
    reply = dns.message.from_wire(body, keyring=_keyring(), request_mac=mac)
    assert (reply.opcode(), reply.rcode()) == (dns.opcode.NOTIFY, dns.rcode.NOERROR)
    assert reply.had_tsig
    assert trigger.exists()


def test_an_unsigned_notify_from_the_primary_is_refused(keyed, now):
    stage, trigger = keyed
    assert _rcode_and_tsig_error(_answer(stage, _signed_notify(None, now))) == (dns.rcode.REFUSED, None)
    assert not trigger.exists()


@pytest.mark.parametrize("key, error", [
    (_key(OTHER_SECRET), tsig.TsigError.BADSIG),            # the key's name, another secret
    (_key(SECRET, "another-key"), tsig.TsigError.BADKEY),   # a key it does not know
])
def test_a_notify_badly_signed_is_notauth_with_the_tsig_error_unsigned(keyed, now, key, error):
    stage, trigger = keyed
    body = _answer(stage, _signed_notify(key, now))
    assert _rcode_and_tsig_error(body) == (9, error)   # NOTAUTH
    assert tsig.split(body)[1].mac == b""               # RFC 8945 5.3.2: the server cannot sign it
    assert not trigger.exists()


def test_a_notify_signed_too_long_ago_is_notauth_badtime_signed_with_our_time(keyed, now):
    stage, trigger = keyed
    body = _answer(stage, _signed_notify(_key(), signed_at=now - 3600))
    assert _rcode_and_tsig_error(body) == (9, tsig.TsigError.BADTIME)
    record = tsig.split(body)[1]
    assert record.mac and struct.unpack("!HI", record.other) == (now >> 32, now & 0xFFFFFFFF)
    assert not trigger.exists()


def test_a_signed_notify_from_anyone_but_the_primary_is_still_refused(keyed, now):
    stage, trigger = keyed
    assert _rcode_and_tsig_error(_answer(stage, _signed_notify(_key(), now), "192.0.2.54")) == (dns.rcode.REFUSED, None)
    assert not trigger.exists()


def test_a_key_file_gone_since_the_config_was_read_refuses_the_zones_notifies(tmp_path, now):
    db = tmp_path / "blocklists.db"
    (tmp_path / "follow").mkdir()
    follow = Follow("phish", ZONE, f"{PRIMARY}:5353", KEY, str(tmp_path / "gone.key"))
    stage = NotifyStage((follow,), db, clock=lambda: now)
    stage.next = Next()
    assert _rcode_and_tsig_error(_answer(stage, _signed_notify(_key(), now))) == (9, tsig.TsigError.BADKEY)
    assert _rcode_and_tsig_error(_answer(stage, _signed_notify(None, now)))[0] == dns.rcode.REFUSED
    assert not secondary.trigger_path(db, "phish").exists()


def test_a_list_followed_without_a_key_takes_its_primarys_notify_unsigned_as_before(tmp_path, now):
    db = tmp_path / "blocklists.db"
    (tmp_path / "follow").mkdir()
    stage = NotifyStage((Follow("phish", ZONE, f"{PRIMARY}:5353"),), db, clock=lambda: now)
    stage.next = Next()
    assert _rcode_and_tsig_error(_answer(stage, _signed_notify(None, now))) == (dns.rcode.NOERROR, None)
    assert secondary.trigger_path(db, "phish").exists()
