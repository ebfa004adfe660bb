"""TSIG (RFC 8945): a DNS message signed with a shared secret, bytes in, bytes out, no sockets.

`sign` signs a request or the first message of a reply (its MAC covers the request's MAC, the
message and all the TSIG variables); `sign_next` signs a later message of a multi-message reply
(an AXFR, RFC 8945 5.3.1) with the "timers only" variant: the prior MAC, the messages since,
Time Signed and Fudge. `verify_request` checks a request as a server does and says what to answer;
`ReplyVerifier` checks every message of a reply as a client does, unsigned ones in between
included (up to 99 of them: NSD signs every 96th, BIND every one).

Chosen rules (RFC 8945 5.2): a MAC is accepted at its full length only (a truncated one is BADTRUNC,
a MAC longer than the hash or shorter than max(10, half the hash) is FORMERR); the time fudge is
300 s both ways, as BIND and NSD use; the MAC is checked before the time, so a BADTIME is only
told to the holder of the key (and its answer is signed, carrying the server's time, 5.2.3).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from enum import IntEnum
from typing import NamedTuple

from fraudwall.resolver.dns.codec import HEADER, RR_FIXED, encode_name, read_name

TSIG_TYPE = 250
CLASS_ANY = 255
FUDGE = 300                 # seconds a signature's time may be off either way
MAX_UNSIGNED = 99           # messages of a reply between two signed ones (RFC 8945 5.3.1: "at least every 100th")
ALGORITHMS = {"hmac-sha256": hashlib.sha256, "hmac-sha1": hashlib.sha1, "hmac-sha512": hashlib.sha512}
_TIME = struct.Struct("!HIH")   # Time Signed (48 bits) and Fudge


class TsigError(IntEnum):
    """The TSIG record's Error field (RFC 8945 3, IANA DNS RCODEs)."""

    NOERROR = 0
    BADSIG = 16       # the MAC does not verify
    BADKEY = 17       # the key or its algorithm is not known
    BADTIME = 18      # signed too long ago (or ahead)
    BADTRUNC = 22     # a MAC shorter than the verifier accepts


class Key(NamedTuple):
    name: str          # lowercase, no trailing dot
    algorithm: str     # one of ALGORITHMS
    secret: bytes


class Tsig(NamedTuple):
    """A TSIG record as read from a message."""

    key_name: str
    algorithm: str
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes


class Failure(Exception):
    """A message that does not pass: `error` says which TSIG error (FORMERR for a malformed record).
    From `verify_request`, also what its answer needs: the request without its TSIG (None when the
    record could not be read), the record, and the key when it is known."""

    def __init__(self, error: int, why: str, body: bytes | None = None, tsig: Tsig | None = None,
                 key: Key | None = None) -> None:
        super().__init__(why)
        self.error = error
        self.body = body
        self.tsig = tsig
        self.key = key


FORMERR = 1


def split(message: bytes) -> tuple[bytes, Tsig | None]:
    """The message without its TSIG record (ARCOUNT one less, the original ID put back), and the
    record; (message, None) when it is unsigned. Failure(FORMERR) when a TSIG is not the last record."""
    if len(message) < 12:
        return message, None
    ident, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(message)
    if not arcount:
        return message, None
    try:
        offset = 12
        for _ in range(qdcount):
            _, offset = read_name(message, offset)
            offset += 4
        for number in range(ancount + nscount + arcount):
            start = offset
            owner, offset = read_name(message, offset)
            rtype, rclass, _, length = RR_FIXED.unpack_from(message, offset)
            rdata = offset + RR_FIXED.size
            offset = rdata + length
            if offset > len(message):
                raise ValueError("a record runs past the end")
            if rtype != TSIG_TYPE:
                continue
            if number != ancount + nscount + arcount - 1 or offset != len(message) or rclass != CLASS_ANY:
                raise Failure(FORMERR, "a TSIG record that is not the message's last")
            tsig = _read_rdata(owner, message, rdata, offset)
            head = HEADER.pack(tsig.original_id, flags, qdcount, ancount, nscount, arcount - 1)
            return head + message[12:start], tsig
    except (ValueError, IndexError, struct.error) as error:
        raise Failure(FORMERR, f"a malformed message: {error}") from None
    return message, None


def _read_rdata(owner: str, message: bytes, offset: int, end: int) -> Tsig:
    algorithm, offset = read_name(message, offset)
    high, low, fudge = _TIME.unpack_from(message, offset)
    offset += _TIME.size
    (size,) = struct.unpack_from("!H", message, offset)
    mac = message[offset + 2:offset + 2 + size]
    offset += 2 + size
    original_id, error, other_size = struct.unpack_from("!HHH", message, offset)
    other = message[offset + 6:offset + 6 + other_size]
    if len(mac) != size or len(other) != other_size or offset + 6 + other_size != end:
        raise ValueError("the TSIG record's lengths do not add up")
    return Tsig(owner, algorithm, high << 32 | low, fudge, mac, original_id, error, other)


def _variables(tsig: Tsig) -> bytes:
    """The TSIG variables a first message's MAC covers (RFC 8945 4.3.3), names in canonical form."""
    return (encode_name(tsig.key_name) + struct.pack("!HI", CLASS_ANY, 0) + encode_name(tsig.algorithm)
            + _timers(tsig) + struct.pack("!HH", tsig.error, len(tsig.other)) + tsig.other)


def _timers(tsig: Tsig) -> bytes:
    return _TIME.pack(tsig.time_signed >> 32, tsig.time_signed & 0xFFFFFFFF, tsig.fudge)


def _prefixed(mac: bytes) -> bytes:
    return struct.pack("!H", len(mac)) + mac if mac else b""


def _mac(key: Key, *parts: bytes) -> bytes:
    digest = hmac.new(key.secret, digestmod=ALGORITHMS[key.algorithm])
    for part in parts:
        digest.update(part)
    return digest.digest()


def _record(tsig: Tsig) -> bytes:
    rdata = (encode_name(tsig.algorithm) + _timers(tsig) + struct.pack("!H", len(tsig.mac)) + tsig.mac
             + struct.pack("!HHH", tsig.original_id, tsig.error, len(tsig.other)) + tsig.other)
    return encode_name(tsig.key_name) + RR_FIXED.pack(TSIG_TYPE, CLASS_ANY, 0, len(rdata)) + rdata


def _append(message: bytes, tsig: Tsig) -> bytes:
    ident, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(message)
    return HEADER.pack(ident, flags, qdcount, ancount, nscount, arcount + 1) + message[12:] + _record(tsig)


def sign(message: bytes, key: Key, now: int, request_mac: bytes = b"", error: int = 0,
         other: bytes = b"", time_signed: int | None = None) -> tuple[bytes, bytes]:
    """(the message with its TSIG, the MAC): a request (no `request_mac`) or the first message of
    a reply to a request that carried `request_mac`."""
    ident = HEADER.unpack_from(message)[0]
    tsig = Tsig(key.name, key.algorithm, now if time_signed is None else time_signed, FUDGE, b"", ident, error, other)
    mac = _mac(key, _prefixed(request_mac), message, _variables(tsig))
    return _append(message, tsig._replace(mac=mac)), mac


def sign_next(message: bytes, key: Key, now: int, prior_mac: bytes, unsigned: bytes = b"") -> tuple[bytes, bytes]:
    """(the message with its TSIG, the MAC) for a later message of a reply: the prior MAC, the
    messages sent unsigned since (`unsigned`, as sent), this one, and the timers (RFC 8945 5.3.1)."""
    ident = HEADER.unpack_from(message)[0]
    tsig = Tsig(key.name, key.algorithm, now, FUDGE, b"", ident, 0, b"")
    mac = _mac(key, _prefixed(prior_mac), unsigned, message, _timers(tsig))
    return _append(message, tsig._replace(mac=mac)), mac


def unsigned_error(message: bytes, tsig: Tsig, error: int) -> bytes:
    """The reply to a request that failed BADKEY or BADSIG: its TSIG carries the error and no MAC
    (RFC 8945 5.3.2: the server cannot or must not sign)."""
    ident = HEADER.unpack_from(message)[0]
    return _append(message, tsig._replace(mac=b"", original_id=ident, error=error, other=b""))


def refusal(reply: bytes, failure: Failure, now: int) -> bytes:
    """`reply` (NOTAUTH, the request's question echoed) with the TSIG that tells `failure` (RFC 8945
    5.2): BADTIME signed, the request's time kept and ours in Other Data (the client holds the key);
    BADKEY, BADSIG, BADTRUNC unsigned. Not for FORMERR: that answer carries no TSIG."""
    if failure.error == TsigError.BADTIME:
        return sign(reply, failure.key, now, request_mac=failure.tsig.mac, error=failure.error,
                    other=struct.pack("!HI", now >> 32, now & 0xFFFFFFFF), time_signed=failure.tsig.time_signed)[0]
    return unsigned_error(reply, failure.tsig, failure.error)


def _check_mac_size(tsig: Tsig) -> None:
    full = ALGORITHMS[tsig.algorithm]().digest_size
    if len(tsig.mac) > full or len(tsig.mac) < max(10, full // 2):
        raise Failure(FORMERR, f"a MAC of {len(tsig.mac)} octets for {tsig.algorithm}")
    if len(tsig.mac) < full:
        raise Failure(TsigError.BADTRUNC, f"a MAC truncated to {len(tsig.mac)} octets")


def _check_time(tsig: Tsig, now: int) -> None:
    if abs(now - tsig.time_signed) > tsig.fudge:
        raise Failure(TsigError.BADTIME, f"signed at {tsig.time_signed}, {now - tsig.time_signed:+d} s from now "
                                         f"(fudge {tsig.fudge} s)")


class Verified(NamedTuple):
    message: bytes      # without the TSIG
    key: Key
    mac: bytes          # the request's MAC, which the reply's first MAC covers
    tsig: Tsig


def verify_request(message: bytes, keys: dict[str, Key], now: int) -> tuple[bytes, Verified | None]:
    """(the message without its TSIG, what verified: None when unsigned), or Failure saying which
    error to answer."""
    body, tsig = split(message)
    if tsig is None:
        return body, None
    key = keys.get(tsig.key_name)
    if key is None or key.algorithm != tsig.algorithm:
        raise Failure(TsigError.BADKEY, f"key {tsig.key_name} ({tsig.algorithm}) is not known", body, tsig)
    try:
        _check_mac_size(tsig)
        if not hmac.compare_digest(tsig.mac, _mac(key, body, _variables(tsig))):
            raise Failure(TsigError.BADSIG, f"the MAC of key {key.name} does not verify")
        _check_time(tsig, now)
    except Failure as failure:
        raise Failure(failure.error, str(failure), body, tsig, key) from None
    return body, Verified(body, key, tsig.mac, tsig)


class ReplyVerifier:
    """Every message of a reply to a request signed with `key`, checked as it comes (a client's side).

    `check(message)` gives the message without its TSIG, or raises Failure: a reply not signed by
    `key`, a first message unsigned, a MAC that does not verify, a server's TSIG error, more than
    MAX_UNSIGNED messages in a row unsigned. `complete` says whether the last message checked was signed
    (a transfer must end on a signed one).
    """

    def __init__(self, key: Key, request_mac: bytes, now) -> None:
        self.key = key
        self.prior = request_mac
        self.now = now                  # a clock: time.time
        self.first = True
        self.unsigned: list[bytes] = []
        self.complete = False

    def check(self, message: bytes) -> bytes:
        body, tsig = split(message)
        if tsig is None:
            if self.first:
                raise Failure(TsigError.BADSIG, f"the answer is not signed (with key {self.key.name})")
            if len(self.unsigned) >= MAX_UNSIGNED:
                raise Failure(TsigError.BADSIG, f"more than {MAX_UNSIGNED} messages in a row unsigned")
            self.unsigned.append(message)
            self.complete = False
            return body
        if tsig.error:
            name = TsigError(tsig.error).name if tsig.error in TsigError._value2member_map_ else str(tsig.error)
            raise Failure(tsig.error, f"the server answered {name} to key {self.key.name}")
        if tsig.key_name != self.key.name or tsig.algorithm != self.key.algorithm:
            raise Failure(TsigError.BADKEY, f"the answer is signed with key {tsig.key_name}, not {self.key.name}")
        _check_mac_size(tsig)
        if self.first:
            expected = _mac(self.key, _prefixed(self.prior), body, _variables(tsig))
        else:
            expected = _mac(self.key, _prefixed(self.prior), b"".join(self.unsigned), body, _timers(tsig))
        if not hmac.compare_digest(tsig.mac, expected):
            raise Failure(TsigError.BADSIG, f"the answer's MAC does not verify with key {self.key.name}")
        _check_time(tsig, int(self.now()))
        self.first, self.prior, self.unsigned, self.complete = False, tsig.mac, [], True
        return body
