"""The lab CA and the leaf certificates the HTTPS listener makes for each blocked name on the fly.

A browser that reached a blocked name over HTTPS expects a certificate for that name.
Clients that installed the lab CA get one made on the spot (EC P-256: a key and a
signature take well under a millisecond) and see the warning page; the others get
an ordinary certificate error, which is still better than a hang.
"""

from __future__ import annotations

import collections
import datetime
import os
import secrets
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fraudwall.resolver.warning.reports import default_state_dir

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
CA_YEARS = 5
# A leaf is made anew when less than this is left of it, so no client sees one expire.
RENEW_BEFORE = datetime.timedelta(hours=12)
# Backdated a little: clients with a clock a few minutes slow still accept a fresh leaf.
BACKDATE = datetime.timedelta(hours=1)


class CAError(Exception):
    """The CA directory is missing, incomplete or unreadable; the message says what to run."""


class CertificateAuthority(NamedTuple):
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def default_ca_dir() -> Path:
    return default_state_dir() / "ca"


def ca_dir_of(setting: str) -> Path:
    return Path(setting).expanduser() if setting else default_ca_dir()


def create_ca(directory: Path, organisation: str, force: bool = False,
              now: datetime.datetime | None = None) -> CertificateAuthority:
    """Writes ca.crt and ca.key (0600) into `directory`; CAError if a CA is there and not `force`."""
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if not force and (cert_path.exists() or key_path.exists()):
        raise CAError(f"{directory}: a CA is already there; --force replaces it "
                      "(every client must then install the new ca.crt)")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} warning page lab CA"),
    ])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # The key is written through a 0600 descriptor: it never exists with wider rights, even briefly.
    temporary = directory / f".{CA_KEY}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(key_pem)
    os.replace(temporary, key_path)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(certificate, key)


def load_ca(directory: Path) -> CertificateAuthority:
    try:
        certificate = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), password=None)
    except FileNotFoundError as error:
        raise CAError(f"{error.filename}: missing; run `fraudwall ca init --dir {directory}`") from None
    except (OSError, ValueError) as error:
        raise CAError(f"{directory}: cannot load the CA: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CAError(f"{directory / CA_KEY}: not an EC key; run `fraudwall ca init --force`")
    return CertificateAuthority(certificate, key)


def spki_sha256(certificate: x509.Certificate) -> bytes:
    """The SHA-256 of the SubjectPublicKeyInfo (what HPKP pins and Chromium's SPKI lists use)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    return digest.finalize()


def issue_leaf(ca: CertificateAuthority, name: str, days: int,
               now: datetime.datetime | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for exactly `name` (SAN), valid `days` days, and its new key."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.certificate.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256()))
    return certificate, key


def is_certifiable(name: str) -> bool:
    """A name a leaf can carry: ASCII LDH labels (punycode for IDNs), at most 253 characters."""
    if not name or len(name) > 253 or name.startswith(".") or ".." in name:
        return False
    for label in name.split("."):
        if not 0 < len(label) <= 63 or label.startswith("-") or label.endswith("-"):
            return False
        if not all(c.isascii() and (c.isalnum() or c in "-_") for c in label):
            return False
    return True


def server_context(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                   chain: tuple[x509.Certificate, ...] = ()) -> ssl.SSLContext:
    """An SSLContext serving `certificate`.

    `ssl` only loads certificates from files; the key goes there encrypted under a
    one-time password and the file is gone before this returns.
    """
    password = secrets.token_bytes(32)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    pem += b"".join(extra.public_bytes(serialization.Encoding.PEM) for extra in chain)
    pem += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(password))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.NamedTemporaryFile(prefix="fraudwall-leaf-", suffix=".pem") as stream:
        stream.write(pem)
        stream.flush()
        context.load_cert_chain(stream.name, password=password)
    return context


class LeafContexts:
    """One SSLContext per SNI name, made on first use and kept in a bounded LRU until near expiry."""

    def __init__(self, ca: CertificateAuthority, days: int = 3, size: int = 1024,
                 clock: Callable[[], float] = time.time) -> None:
        self._ca = ca
        self._days = days
        self._size = size
        self._clock = clock
        self._entries: collections.OrderedDict[str, tuple[float, ssl.SSLContext]] = collections.OrderedDict()
        # The SNI callback runs on whichever thread does the handshake.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def context_for(self, name: str) -> ssl.SSLContext:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and entry[0] - now > RENEW_BEFORE.total_seconds():
                self._entries.move_to_end(name)
                return entry[1]
        moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        certificate, key = issue_leaf(self._ca, name, self._days, moment)
        context = server_context(certificate, key, (self._ca.certificate,))
        expires = certificate.not_valid_after_utc.timestamp()
        with self._lock:
            self._entries[name] = (expires, context)
            self._entries.move_to_end(name)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return context


def sni_context(leaves: LeafContexts, blocked: Callable[[str], bool]) -> ssl.SSLContext:
    """The listener's context: it has no certificate itself; the SNI callback swaps in the name's.

    A name that is not blocked (or no SNI at all) ends the handshake with an alert:
    the sinkhole must never hand out a certificate for a name people may trust.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    def choose(connection: ssl.SSLObject, server_name: str | None, _base: ssl.SSLContext) -> int | None:
        if not server_name:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        name = server_name.lower().rstrip(".")
        try:
            if not is_certifiable(name) or not blocked(name):
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            connection.context = leaves.context_for(name)
        except Exception:  # an alert, not a stuck handshake, whatever went wrong
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    context.sni_callback = choose
    return context
