"""The lab CA and the leaves: they verify against the CA, and the SNI callback hands out only blocked names'."""

import datetime
import ssl
import stat

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


def test_one_client_cannot_evict_the_leaves_of_the_others(ca_dir):
    leaves = LeafContexts(load_ca(ca_dir), days=3, size=16)    # a client may hold 16 // 8 = 2
    kept = leaves.make("icbc-tuikuan.example.com", owner="192.0.2.7")
    for number in range(40):                                    # a flood of new names from one client
        leaves.make(f"n{number}.icbc-tuikuan.example.com", owner="198.51.100.9")
    assert leaves.cached("icbc-tuikuan.example.com") is kept
    assert len(leaves) == 3 and leaves.cached("n39.icbc-tuikuan.example.com") is not None
    assert leaves.cached("n37.icbc-tuikuan.example.com") is None


def handshake_in_memory(server_context: ssl.SSLContext, ca_file, name: str) -> bytes:
    """A whole TLS handshake between two in-memory ends; the certificate the client got (DER)."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context(cafile=str(ca_file)).wrap_bio(to_client, to_server, server_hostname=name)
    from_client, from_server = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_context.wrap_bio(from_client, from_server, server_side=True)
    for _ in range(4):     # ClientHello, the server's flight, the client's Finished
        for end in (client, server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        from_client.write(to_server.read())
        to_client.write(from_server.read())
    return client.getpeercert(binary_form=True)


def test_every_leaf_of_a_worker_has_one_key_and_serves_tls(ca_dir):
    leaves = LeafContexts(load_ca(ca_dir))
    first = leaves.make("a.example.com")
    peers = [handshake_in_memory(leaves.context_for(name), ca_dir / "ca.crt", name)
             for name in ("a.example.com", "b.example.com")]
    assert leaves.context_for("a.example.com") is first
    keys = {x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) for der in peers}
    assert len(keys) == 1


def test_spki_hash_is_of_the_public_key(ca_dir):
    ca = load_ca(ca_dir)
    der = ca.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    import hashlib
    assert certificates.spki_sha256(ca.certificate) == hashlib.sha256(der).digest()
