"""The lab CA and the leaf certificates the HTTPS listener makes for each blocked name on the fly.

A browser that reached a blocked name over HTTPS expects a certificate for that name.
Clients that installed the lab CA get one made on the spot (EC P-256, signed by the CA, a
few milliseconds with OpenSSL loading it: tls.py makes it off the event loop) and see the
warning page; the others get an ordinary certificate error, which is still better than a hang.
"""

from __future__ import annotations

import collections
import datetime
import os
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
from fraudwall.blocklists.store import default_state_dir

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
    key_pem = _private_pem(key)
    # The key is written through a 0600 descriptor: it never exists with wider rights, even briefly.
    temporary = directory / f".{CA_KEY}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(key_pem)
    os.replace(temporary, key_path)
    cert_path.write_bytes(_pem(certificate))
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


class SigningJob(NamedTuple):
    """The arguments of `sign_leaf` for one leaf, as bytes: what goes to the signing process."""

    ca_certificate_pem: bytes
    ca_key_pem: bytes
    public_key_pem: bytes
    name: str
    days: int
    now: float


def issue_leaf(ca: CertificateAuthority, name: str, days: int, now: datetime.datetime | None = None,
               ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for exactly `name` (SAN), valid `days` days, and its new key."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _leaf(ca, name, days, now or datetime.datetime.now(datetime.timezone.utc), key.public_key()), key


def sign_leaf(job: SigningJob) -> bytes:
    """The PEM of the leaf `job` asks for, signed by the CA: what the signing process (signer.py) runs."""
    ca_key = serialization.load_pem_private_key(job.ca_key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key")
    public = serialization.load_pem_public_key(job.public_key_pem)
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError("the leaf key is not an EC key")
    ca = CertificateAuthority(x509.load_pem_x509_certificate(job.ca_certificate_pem), ca_key)
    moment = datetime.datetime.fromtimestamp(job.now, datetime.timezone.utc)
    return _pem(_leaf(ca, job.name, job.days, moment, public))


def _leaf(ca: CertificateAuthority, name: str, days: int, now: datetime.datetime,
          public: ec.EllipticCurvePublicKey) -> x509.Certificate:
    return (
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


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(certificate.public_bytes(serialization.Encoding.PEM) for certificate in certificates)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class _PemFile:
    """PEM that OpenSSL loads by path (`ssl` loads certificates from files only), kept on no disk.

    A memory file (Linux memfd, close-on-exec) read through /proc/self/fd: it has no name and
    vanishes with its descriptor. Where there is none, a temporary file (0600), removed on close.
    """

    def __init__(self, pem: bytes) -> None:
        self._temporary = None
        if hasattr(os, "memfd_create"):
            self._descriptor = os.memfd_create("fraudwall-leaf", os.MFD_CLOEXEC)
            view = memoryview(pem)
            while view:
                view = view[os.write(self._descriptor, view):]
            self.path = f"/proc/self/fd/{self._descriptor}"
        else:
            self._temporary = tempfile.NamedTemporaryFile(prefix="fraudwall-leaf-", suffix=".pem")
            self._temporary.write(pem)
            self._temporary.flush()
            self.path = self._temporary.name

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.close()
        elif self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1

    def __enter__(self) -> "_PemFile":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _context(chain_pem: bytes, key: _PemFile) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with _PemFile(chain_pem) as chain:
        context.load_cert_chain(chain.path, key.path)
    return context


class _Leaf(NamedTuple):
    expires: float
    context: ssl.SSLContext
    owner: str


class LeafContexts:
    """One SSLContext per blocked name, kept in a bounded LRU until near expiry.

    Making one (`make`) costs milliseconds, never to be spent on the event loop: the signature,
    by `sign` (the signing process of signer.py: a signature holds the interpreter lock
    throughout, which the event loop needs), then OpenSSL loading it (which lets go of the lock).
    Every leaf of a worker carries the same key, made once, so a leaf costs no key generation,
    encryption nor decryption.

    Each leaf belongs to the client (`owner`) whose handshake made it, and an owner holds at most
    `size // OWNER_SHARE` of them: a client asking for ever new names evicts its own leaves, not
    the ones everybody else is served with.
    """

    OWNER_SHARE = 8

    def __init__(self, ca: CertificateAuthority, days: int = 3, size: int = 1024,
                 clock: Callable[[], float] = time.time) -> None:
        self._days = days
        self._size = size
        self._most_owned = max(1, size // self.OWNER_SHARE)
        self._clock = clock
        key = ec.generate_private_key(ec.SECP256R1())
        # Loaded with every leaf: kept unencrypted, in memory only, so that a leaf costs no decryption.
        self._key_file = _PemFile(_private_pem(key))
        self._public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        self._ca_pems = (_pem(ca.certificate), _private_pem(ca.key))
        self._entries: collections.OrderedDict[str, _Leaf] = collections.OrderedDict()
        self._owned: dict[str, collections.OrderedDict[str, None]] = {}
        # `make` runs on a worker thread while the loop's thread looks up `cached`.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def cached(self, name: str) -> ssl.SSLContext | None:
        """The kept context for `name`, or None when there is none or it is near expiry."""
        with self._lock:
            leaf = self._entries.get(name)
            if leaf is None or leaf.expires - self._clock() <= RENEW_BEFORE.total_seconds():
                return None
            self._entries.move_to_end(name)
            return leaf.context

    def make(self, name: str, owner: str = "",
             sign: Callable[[SigningJob], bytes] = sign_leaf) -> ssl.SSLContext:
        """A new leaf for `name`, signed by `sign`, kept as `owner`'s. Slow: off the event loop."""
        job = SigningJob(*self._ca_pems, self._public_pem, name, self._days, self._clock())
        context = _context(sign(job) + self._ca_pems[0], self._key_file)
        with self._lock:
            self._forget(job.name)
            owned = self._owned.setdefault(owner, collections.OrderedDict())
            if len(owned) >= self._most_owned:
                self._forget(next(iter(owned)))
            self._entries[job.name] = _Leaf(job.now + job.days * 86_400, context, owner)
            owned[job.name] = None
            while len(self._entries) > self._size:
                self._forget(next(iter(self._entries)))
        return context

    def context_for(self, name: str, owner: str = "") -> ssl.SSLContext:
        return self.cached(name) or self.make(name, owner)

    def close(self) -> None:
        """Drop the key's memory file; the contexts made keep working."""
        self._key_file.close()

    def _forget(self, name: str) -> None:
        leaf = self._entries.pop(name, None)
        if leaf is None:
            return
        owned = self._owned[leaf.owner]
        del owned[name]
        if not owned:
            del self._owned[leaf.owner]
