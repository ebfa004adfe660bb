"""The leaf signing process: leaves signed by the CA in a child, which comes back after it died."""

import datetime
import os
import signal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store
from fraudwall.resolver.warning.certificates import SigningJob, create_ca
from fraudwall.resolver.warning.signer import LeafSigner, SignerError


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return create_ca(tmp_path_factory.mktemp("ca"), "Example Org")


def job(ca, name="icbc-tuikuan.example.com", ca_key_pem=None):
    key = ec.generate_private_key(ec.SECP256R1())
    return SigningJob(ca.certificate.public_bytes(serialization.Encoding.PEM),
                      ca_key_pem or ca.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()),
                      key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo),
                      name, 3, datetime.datetime.now(datetime.timezone.utc).timestamp())


def verified_names(ca, pem):
    leaf = x509.load_pem_x509_certificate(pem)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    PolicyBuilder().store(Store([ca.certificate])).time(now).build_server_verifier(x509.DNSName(name)).verify(leaf, [])
    return leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def test_a_child_signs_and_comes_back_after_it_died(ca):
    signer = LeafSigner()
    try:
        assert verified_names(ca, signer.sign(job(ca))) == ["icbc-tuikuan.example.com"]
        child = signer._child
        assert child.pid != os.getpid()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert verified_names(ca, signer.sign(job(ca, "login.example.com"))) == ["login.example.com"]
        assert signer._child.pid != child.pid
    finally:
        signer.close()
    assert child.poll() is not None


def test_a_job_it_cannot_sign_is_an_error_and_the_child_goes_on(ca):
    signer = LeafSigner()
    try:
        with pytest.raises(SignerError, match="ValueError"):
            signer.sign(job(ca, ca_key_pem=b"not a key"))
        assert verified_names(ca, signer.sign(job(ca))) == ["icbc-tuikuan.example.com"]
    finally:
        signer.close()


def test_the_child_ends_with_its_input():
    signer = LeafSigner()
    signer.start()
    child = signer._child
    signer.close()
    assert child.wait(5) == 0
