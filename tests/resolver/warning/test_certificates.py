"""The lab CA and the leaves: they verify against the CA, and the SNI callback hands out only blocked names'."""

import datetime
import socket
import ssl
import stat
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store
from fraudwall.resolver.warning import certificates
from fraudwall.resolver.warning.certificates import (
    CAError,
    LeafContexts,
    create_ca,
    issue_leaf,
    load_ca,
)


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ca")
    create_ca(directory, "Example Org")
    return directory


def test_ca_files_and_key_mode(ca_dir):
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    ca = load_ca(ca_dir)
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "Example Org" in ca.certificate.subject.rfc4514_string()


def test_refuses_to_overwrite_without_force(ca_dir):
    before = (ca_dir / "ca.crt").read_bytes()
    with pytest.raises(CAError, match="--force"):
        create_ca(ca_dir, "Example Org")
    assert (ca_dir / "ca.crt").read_bytes() == before


def test_force_replaces(tmp_path):
    first = create_ca(tmp_path, "x")
    second = create_ca(tmp_path, "x", force=True)
    assert first.certificate.serial_number != second.certificate.serial_number
    assert load_ca(tmp_path).certificate == second.certificate


def test_missing_ca_says_what_to_run(tmp_path):
    with pytest.raises(CAError, match="ca init"):
        load_ca(tmp_path / "nothing")


def test_leaf_verifies_against_the_ca(ca_dir):
    ca = load_ca(ca_dir)
    leaf, key = issue_leaf(ca, "icbc-tuikuan.example.com", days=3)
    assert isinstance(key.public_key(), type(ca.key.public_key()))
    now = datetime.datetime.now(datetime.timezone.utc)
    verifier = PolicyBuilder().store(Store([ca.certificate])).time(now).build_server_verifier(
        x509.DNSName("icbc-tuikuan.example.com"))
    chain = verifier.verify(leaf, [])
    assert chain[-1] == ca.certificate
    assert leaf.not_valid_after_utc - now <= datetime.timedelta(days=3)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["icbc-tuikuan.example.com"]
    other = PolicyBuilder().store(Store([ca.certificate])).time(now).build_server_verifier(
        x509.DNSName("example.org"))
    with pytest.raises(Exception):
        other.verify(leaf, [])


def test_leaf_cache_is_bounded_and_reused(ca_dir):
    leaves = LeafContexts(load_ca(ca_dir), days=3, size=2)
    first = leaves.context_for("a.example.com")
    assert leaves.context_for("a.example.com") is first
    leaves.context_for("b.example.com")
    leaves.context_for("c.example.com")
    assert len(leaves) == 2
    assert leaves.context_for("a.example.com") is not first


def test_leaf_renewed_near_expiry(ca_dir):
    now = [1_900_000_000.0]
    leaves = LeafContexts(load_ca(ca_dir), days=1, size=10, clock=lambda: now[0])
    first = leaves.context_for("a.example.com")
    now[0] += 13 * 3600
    assert leaves.context_for("a.example.com") is not first


@pytest.mark.parametrize("name, ok", [("a.example.com", True), ("xn--icb-bpa.com", True), ("", False),
                                      ("a..b", False), ("<x>.com", False), ("a" * 64 + ".com", False),
                                      ("-a.com", False), ("中.com", False)])
def test_certifiable_names(name, ok):
    assert certificates.is_certifiable(name) is ok


def handshake(context: ssl.SSLContext, ca_file, server_name):
    """A real TLS handshake over a socket pair; returns the peer's certificate or raises ssl.SSLError."""
    server_sock, client_sock = socket.socketpair()
    errors = []

    def serve():
        try:
            with context.wrap_socket(server_sock, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError) as error:
            errors.append(error)

    thread = threading.Thread(target=serve)
    thread.start()
    client = ssl.create_default_context(cafile=str(ca_file))
    client.check_hostname = server_name is not None
    if server_name is None:
        client.verify_mode = ssl.CERT_NONE
    try:
        with client.wrap_socket(client_sock, server_hostname=server_name) as tls:
            tls.settimeout(5)
            return tls.getpeercert()
    finally:
        client_sock.close()
        thread.join(5)


def test_sni_blocked_name_gets_a_trusted_leaf(ca_dir):
    leaves = LeafContexts(load_ca(ca_dir))
    context = certificates.sni_context(leaves, lambda name: name.endswith("example.com"))
    peer = handshake(context, ca_dir / "ca.crt", "icbc-tuikuan.example.com")
    assert ("DNS", "icbc-tuikuan.example.com") in peer["subjectAltName"]


@pytest.mark.parametrize("name", ["www.example.org", None])
def test_sni_unblocked_name_or_none_fails_with_an_alert(ca_dir, name):
    leaves = LeafContexts(load_ca(ca_dir))
    context = certificates.sni_context(leaves, lambda name: name.endswith("example.com"))
    with pytest.raises(ssl.SSLError):
        handshake(context, ca_dir / "ca.crt", name)
    assert len(leaves) == 0


def test_sni_explain_failure_is_an_alert(ca_dir):
    def broken(name):
        raise RuntimeError("boom")
    context = certificates.sni_context(LeafContexts(load_ca(ca_dir)), broken)
    with pytest.raises(ssl.SSLError):
        handshake(context, ca_dir / "ca.crt", "a.example.com")


def test_spki_hash_is_of_the_public_key(ca_dir):
    ca = load_ca(ca_dir)
    der = ca.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    import hashlib
    assert certificates.spki_sha256(ca.certificate) == hashlib.sha256(der).digest()
