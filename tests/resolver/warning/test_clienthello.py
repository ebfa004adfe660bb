"""The SNI reader over real ClientHellos (made by Python's own TLS client) and over hostile bytes."""

import ssl

import pytest
from fraudwall.resolver.warning import clienthello
from fraudwall.resolver.warning.clienthello import MOST_BYTES, ClientHello, Incomplete, NotClientHello, read
from hypothesis import given, settings
from hypothesis import strategies as st


def hello(server_name: str | None = "icbc-tuikuan.example.com", maximum=ssl.TLSVersion.TLSv1_3) -> bytes:
    """The first flight of a real TLS client: the records carrying its ClientHello."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = maximum
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def split_records(first_flight: bytes, size: int) -> bytes:
    """The same ClientHello sent in records of `size` bytes (TLS lets a client fragment it)."""
    body = first_flight[5:]
    return b"".join(first_flight[:3] + len(piece).to_bytes(2, "big") + piece
                    for piece in (body[i:i + size] for i in range(0, len(body), size)))


REAL = hello()


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_the_server_name_of_a_real_client_hello(maximum):
    data = hello("login.icbc-tuikuan.example.com", maximum)
    assert read(data) == ClientHello("login.icbc-tuikuan.example.com", len(data))
    # What follows the ClientHello (early data, the next flight) is not read.
    assert read(data + b"\x17\x03\x03\x00\x05hello") == ClientHello("login.icbc-tuikuan.example.com", len(data))


def test_a_client_hello_without_a_name():
    assert read(hello(None)).server_name == ""


@pytest.mark.parametrize("size", [1, 7, 100, 512])
def test_a_client_hello_split_over_records(size):
    data = split_records(REAL, size)
    assert read(data) == ClientHello("icbc-tuikuan.example.com", len(data))


def test_every_prefix_asks_for_more_than_it_has():
    data = split_records(REAL, 100)
    for cut in range(len(data)):
        result = read(data[:cut])
        assert isinstance(result, Incomplete) and cut < result.needed <= len(data)


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: icbc-tuikuan.example.com\r\n\r\n",     # plain HTTP on the HTTPS port
    b"\x80\x2e\x01\x00\x02",                                           # an SSLv2 ClientHello
    b"\x16\x03\x01\x00\x00",                                           # an empty record
    b"\x16\x03\x01\x40\x01",                                           # a record longer than TLS allows
    b"\x16\x03\x01\x00\x04\x02\x00\x00\x00",                           # a ServerHello, not a ClientHello
    b"\x16\x03\x01\x00\x04\x01\xff\xff\xff",                           # a 16 MB ClientHello
    REAL[:6] + (40).to_bytes(3, "big") + REAL[9:],                     # a session id past the message's end
])
def test_what_is_not_a_client_hello_is_refused(data):
    with pytest.raises(NotClientHello):
        read(data)


def test_a_hello_spread_over_more_bytes_than_the_bound_is_refused():
    # Records of one byte each: a valid framing that would make the reader hold five times the hello.
    with pytest.raises(NotClientHello):
        read(split_records(REAL[:5] + (4 + clienthello.MOST_HELLO - 4).to_bytes(2, "big") + b"\x01\x00\x3f\xfc"
                           + bytes(clienthello.MOST_HELLO - 4), 1)[:MOST_BYTES + 6])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_else(data):
    try:
        result = read(data)
    except NotClientHello:
        return
    assert isinstance(result, (ClientHello, Incomplete))
    if isinstance(result, Incomplete):
        assert len(data) < result.needed <= MOST_BYTES


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(REAL) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_client_hellos_never_raise_anything_else(changes):
    data = bytearray(REAL)
    for position, value in changes:
        data[position] = value
    try:
        result = read(bytes(data))
    except NotClientHello:
        return
    if isinstance(result, Incomplete):
        assert len(data) < result.needed <= MOST_BYTES
    else:
        assert isinstance(result.server_name, str) and len(result.server_name) < 2 ** 16
