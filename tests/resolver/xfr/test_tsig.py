"""TSIG (RFC 8945) on bytes, held against dnspython's implementation: requests and every message of
a transfer signed and verified both ways, the errors a server answers (BADKEY, BADSIG, BADTIME,
BADTRUNC) and the limits a client puts on a reply."""

from __future__ import annotations

import base64
import os
import struct
import time

import dns.message
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import pytest

from fraudwall.resolver.dns.codec import HEADER
from fraudwall.resolver.xfr import keys, messages, tsig
from fraudwall.resolver.xfr.client import Signing, TransferFailed
from fraudwall.resolver.xfr.primary import Primary
from tests.resolver.xfr.test_primary import SUFFIX, FakeCatalogue

SECRET = "dO8RrYBbCJzXjEeDD+QwLN+g9E2WIevtnGrs5zgnu5Q="
KEY = tsig.Key("transfer-key", "hmac-sha256", base64.b64decode(SECRET))
KEYS = {KEY.name: KEY}
RING = dns.tsigkeyring.from_text({"transfer-key.": ("hmac-sha256", SECRET)})
WRONG_RING = dns.tsigkeyring.from_text({"transfer-key.": ("hmac-sha256", base64.b64encode(b"x" * 32).decode())})


@pytest.fixture
def now() -> int:
    """Our side's clock: this test's start. dnspython signs and checks against its own clock, so not
    the time the module was imported, minutes earlier in a whole run."""
    return int(time.time())



def _signed_query(name="phish.rpz.fraudwall.", rdtype="AXFR", ring=RING, algorithm="hmac-sha256", fudge=300):
    query = dns.message.make_query(name, rdtype)
    query.use_tsig(ring, keyname="transfer-key.", algorithm=algorithm, fudge=fudge)
    return query


def _reply_body(ident: int, records: int = 0) -> bytes:
    """A reply header and question, as the transfer server builds one, unsigned."""
    question = dns.message.make_query("phish.rpz.fraudwall.", "AXFR").to_wire()[12:]
    return HEADER.pack(ident, 0x8400, 1, records, 0, 0) + question


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hmac-sha1", "hmac-sha512"])
def test_a_request_signed_by_dnspython_verifies_and_gives_the_message_back_unsigned(algorithm):
    key = KEY._replace(algorithm=algorithm)
    ring = dns.tsigkeyring.from_text({"transfer-key.": (algorithm, SECRET)})
    query = _signed_query(ring=ring, algorithm=algorithm)
    wire = query.to_wire()
    body, verified = tsig.verify_request(wire, {key.name: key}, int(query.tsig[0].time_signed))
    assert verified is not None and verified.key == key and verified.mac == query.mac
    assert body == dns.message.make_query("phish.rpz.fraudwall.", "AXFR", id=query.id).to_wire()


def test_an_unsigned_request_is_passed_as_it_is(now):
    wire = dns.message.make_query("phish.rpz.fraudwall.", "AXFR").to_wire()
    assert tsig.verify_request(wire, KEYS, now) == (wire, None)


def test_an_unknown_key_a_wrong_secret_and_a_stale_time_are_told_apart():
    query = _signed_query()
    wire = query.to_wire()
    when = tsig.split(wire)[1].time_signed
    with pytest.raises(tsig.Failure) as unknown:
        tsig.verify_request(wire, {}, when)
    assert unknown.value.error == tsig.TsigError.BADKEY
    with pytest.raises(tsig.Failure) as wrong:
        tsig.verify_request(_signed_query(ring=WRONG_RING).to_wire(), KEYS, when)
    assert wrong.value.error == tsig.TsigError.BADSIG
    # The fudge is 300 s: 300 s off still passes, 301 s does not.
    assert tsig.verify_request(wire, KEYS, when + 300)[1] is not None
    with pytest.raises(tsig.Failure) as late:
        tsig.verify_request(wire, KEYS, when + 301)
    assert late.value.error == tsig.TsigError.BADTIME and late.value.key == KEY


def test_a_truncated_mac_is_badtrunc_and_a_too_short_one_formerr(now):
    message = _reply_body(7)
    signed, mac = tsig.sign(message, KEY, now)
    body, record = tsig.split(signed)

    def with_mac(size: int) -> bytes:
        return tsig._append(body, record._replace(mac=mac[:size]))

    with pytest.raises(tsig.Failure) as truncated:
        tsig.verify_request(with_mac(16), KEYS, now)       # half of SHA-256's 32 octets: allowed by the RFC, not here
    assert truncated.value.error == tsig.TsigError.BADTRUNC
    with pytest.raises(tsig.Failure) as short:
        tsig.verify_request(with_mac(9), KEYS, now)        # under max(10, 16): never a MAC
    assert short.value.error == tsig.FORMERR


def test_a_tsig_that_is_not_the_last_record_is_formerr(now):
    signed, _ = tsig.sign(_reply_body(7), KEY, now)
    ident, flags, qd, an, ns, ar = HEADER.unpack_from(signed)
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    with pytest.raises(tsig.Failure) as error:
        tsig.split(HEADER.pack(ident, flags, qd, an, ns, ar + 1) + signed[12:] + opt)
    assert error.value.error == tsig.FORMERR


def test_every_message_of_a_transfer_we_sign_verifies_in_dnspython_unsigned_ones_between_too(now):
    request = _signed_query()
    first, mac = tsig.sign(_reply_body(request.id), KEY, now, request_mac=request.mac)
    middle = _reply_body(request.id)                          # sent unsigned: covered by the next MAC
    last, _ = tsig.sign_next(_reply_body(request.id), KEY, now, mac, unsigned=middle)
    context = None
    for number, wire in enumerate((first, middle, last)):
        message = dns.message.from_wire(wire, keyring=RING, request_mac=request.mac if number == 0 else b"",
                                        multi=True, tsig_ctx=context, xfr=True)
        context = message.tsig_ctx
    assert message.had_tsig
    # The same three, which dnspython took, pass our client's check too.
    verifier = tsig.ReplyVerifier(KEY, request.mac, lambda: now)
    assert [verifier.check(wire) for wire in (first, middle, last)][1] == middle
    assert verifier.complete


def test_a_reply_dnspython_signs_passes_our_client_check(now):
    query = dns.message.make_query("phish.rpz.fraudwall.", "SOA")
    signing = Signing(KEY, clock=lambda: now)
    wire = signing.request(query.to_wire())
    request = dns.message.from_wire(wire, keyring=RING)     # dnspython verifies our request ...
    reply = dns.message.make_response(request)
    reply.use_tsig(RING, keyname="transfer-key.", fudge=300)
    reply.request_mac = request.mac
    body = signing.reply(reply.to_wire())                   # ... and we verify its reply
    assert dns.message.from_wire(body).id == query.id
    signing.finished()


def test_the_client_refuses_an_unsigned_a_badly_signed_or_a_server_error_reply(now):
    for reply in (lambda request: _reply_body(request.id),
                  lambda request: tsig.sign(_reply_body(request.id), KEY._replace(secret=b"x" * 32), now,
                                            request_mac=request.mac)[0],
                  lambda request: tsig.unsigned_error(_reply_body(request.id), tsig.split(request.to_wire())[1],
                                                      tsig.TsigError.BADSIG)):
        signing = Signing(KEY, clock=lambda: now)
        request = dns.message.from_wire(signing.request(_reply_body(1)[:2] + b"\0\0" + _reply_body(1)[4:]),
                                        keyring=RING)
        with pytest.raises(TransferFailed, match="TSIG: "):
            signing.reply(reply(request))


def test_a_transfer_ending_on_an_unsigned_message_or_100_unsigned_in_a_row_fails(now):
    signing = Signing(KEY, clock=lambda: now)
    request = dns.message.from_wire(signing.request(_reply_body(3)), keyring=RING)
    first, _ = tsig.sign(_reply_body(request.id), KEY, now, request_mac=request.mac)
    signing.reply(first)
    signing.reply(_reply_body(request.id))
    with pytest.raises(TransferFailed, match="last message is not signed"):
        signing.finished()
    for _ in range(tsig.MAX_UNSIGNED - 1):
        signing.reply(_reply_body(request.id))
    with pytest.raises(TransferFailed, match="in a row unsigned"):
        signing.reply(_reply_body(request.id))


# ---------------------------------------------------------------- the transfer server

def _primary(require_key=False, now=None):
    return Primary(FakeCatalogue(), SUFFIX, ("127.0.0.0/8",), KEYS, require_key,
                   clock=(lambda: now) if now is not None else time.time)


def test_a_signed_axfr_is_answered_with_every_message_signed(monkeypatch):
    monkeypatch.setattr(messages.axfr, "__defaults__", (80,))     # a record or two a message
    query = _signed_query()
    primary = _primary()
    replies = list(primary.respond(query.to_wire(), "127.0.0.1"))
    assert len(replies) >= 3
    # dnspython reads the transfer as a secondary does, each message's MAC chained to the last.
    context = None
    for number, wire in enumerate(replies):
        message = dns.message.from_wire(wire, keyring=RING, request_mac=query.mac if number == 0 else b"",
                                        multi=True, tsig_ctx=context, xfr=True)
        assert message.had_tsig
        context = message.tsig_ctx


def test_a_signed_request_with_a_wrong_key_gets_notauth_badsig_unsigned():
    replies = list(_primary().respond(_signed_query(ring=WRONG_RING).to_wire(), "127.0.0.1"))
    assert len(replies) == 1
    body, record = tsig.split(replies[0])
    assert HEADER.unpack_from(body)[1] & 0xF == 9                     # NOTAUTH
    assert (record.error, record.mac) == (tsig.TsigError.BADSIG, b"")
    unknown = dns.message.make_query("phish.rpz.fraudwall.", "AXFR")
    unknown.use_tsig(dns.tsigkeyring.from_text({"other.": SECRET}), keyname="other.")
    assert tsig.split(next(_primary().respond(unknown.to_wire(), "127.0.0.1")))[1].error == tsig.TsigError.BADKEY


def test_a_stale_request_gets_a_signed_badtime_carrying_the_servers_time():
    query = _signed_query()
    wire = query.to_wire()
    signed_at = tsig.split(wire)[1].time_signed
    later = signed_at + 3600
    reply = next(_primary(now=later).respond(wire, "127.0.0.1"))
    with pytest.raises(dns.tsig.PeerBadTime):           # dnspython checks the MAC, then reads the error
        dns.message.from_wire(reply, keyring=RING, request_mac=query.mac)
    record = tsig.split(reply)[1]
    assert record.time_signed == signed_at
    assert struct.unpack("!HI", record.other) == (later >> 32, later & 0xFFFFFFFF)


def test_with_require_key_an_unsigned_transfer_is_refused_and_a_signed_one_served():
    primary = _primary(require_key=True)
    plain = dns.message.make_query("phish.rpz.fraudwall.", "AXFR")
    assert dns.message.from_wire(next(primary.respond(plain.to_wire(), "127.0.0.1"))).rcode() == dns.rcode.REFUSED
    soa = dns.message.make_query("phish.rpz.fraudwall.", "SOA")
    assert dns.message.from_wire(next(primary.respond(soa.to_wire(), "127.0.0.1"))).rcode() == dns.rcode.NOERROR
    signed = _signed_query()
    reply = dns.message.from_wire(next(primary.respond(signed.to_wire(), "127.0.0.1")), keyring=RING,
                                  request_mac=signed.mac, xfr=True)
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer
    assert primary.counts[("axfr", "unsigned")] == 1


# ---------------------------------------------------------------- the key file

TSIG_KEYGEN = f'key "transfer-key" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n'


def test_the_key_file_tsig_keygen_prints_is_read(tmp_path):
    path = tmp_path / "xfr.key"
    path.write_text("# made by tsig-keygen\n" + TSIG_KEYGEN + '// a second\nkey other. { algorithm hmac-sha512; '
                    'secret "YWJj"; };\n')
    path.chmod(0o600)
    assert keys.load(path) == {"transfer-key": KEY, "other": tsig.Key("other", "hmac-sha512", b"abc")}


def test_a_key_file_others_may_read_is_refused_naming_it(tmp_path):
    path = tmp_path / "xfr.key"
    path.write_text(TSIG_KEYGEN)
    path.chmod(0o640)
    with pytest.raises(keys.KeyFileError, match=rf"^{path}: the TSIG keys are readable by others \(mode 0640\)"):
        keys.load(path)


@pytest.mark.parametrize("text, says", [
    ('key "k" { algorithm hmac-md5; secret "YWJj"; };', "algorithm hmac-md5 is not one of"),
    ('key "k" { algorithm hmac-sha256; secret "no base64!"; };', "line 1: not a key statement"),
    ('\n\nkey "k" { secret "YWJj"; };', "line 3: not a key statement"),
    (TSIG_KEYGEN + TSIG_KEYGEN, "key transfer-key is written twice"),
])
def test_a_wrong_key_file_is_one_line_naming_the_place(text, says):
    with pytest.raises(keys.KeyFileError, match=says):
        keys.parse(text, "xfr.key")


def test_a_key_file_that_cannot_be_read_is_one_line(tmp_path):
    with pytest.raises(keys.KeyFileError, match="cannot read the TSIG keys: No such file"):
        keys.load(tmp_path / os.path.join("absent.key"))
