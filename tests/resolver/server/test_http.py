"""The sans-I/O HTTP core: parsing in pieces, and each bound a client could push on."""

import pytest
from fraudwall.resolver.server.http import HttpError, Limits, RequestParser, Response


def parse(data: bytes, limits: Limits = Limits(), step: int = 0):
    parser = RequestParser(limits)
    if not step:
        return parser.feed(data)
    result = None
    for start in range(0, len(data), step):
        result = parser.feed(data[start:start + step])
    return result


def test_get_in_one_piece_and_byte_by_byte():
    raw = b"GET /a?b=1 HTTP/1.1\r\nHost: Example.COM\r\nAccept-Language: en\r\n\r\n"
    for step in (0, 1, 7):
        request = parse(raw, step=step)
        assert request.method == "GET" and request.target == "/a?b=1" and request.version == "HTTP/1.1"
        assert request.header("host") == "Example.COM" and request.header("accept-language") == "en"


def test_incomplete_request_waits():
    assert parse(b"GET / HTTP/1.1\r\nHost: x\r\n") is None


def test_post_body_by_content_length():
    raw = b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\ncomment=a"
    parser = RequestParser()
    assert parser.feed(raw[:-3]) is None
    assert parser.feed(raw[-3:]).body == b"comment=a"


def test_request_line_limit():
    with pytest.raises(HttpError) as error:
        parse(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", Limits(request_line=100))
    assert error.value.status == 414
    # Caught before the line ends, so a client cannot make the parser buffer it.
    with pytest.raises(HttpError) as error:
        parse(b"GET /" + b"a" * 200, Limits(request_line=100))
    assert error.value.status == 414


def test_header_bytes_limit_before_the_headers_end():
    with pytest.raises(HttpError) as error:
        parse(b"GET / HTTP/1.1\r\nX: " + b"a" * 5000, Limits(header_bytes=1000))
    assert error.value.status == 431


def test_header_count_limit():
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(20))
    with pytest.raises(HttpError) as error:
        parse(b"GET / HTTP/1.1\r\n" + many + b"\r\n", Limits(headers=10))
    assert error.value.status == 431
    with pytest.raises(HttpError) as error:
        parse(b"GET / HTTP/1.1\r\n" + many, Limits(headers=10))
    assert error.value.status == 431


def test_body_limit_from_the_announced_length():
    with pytest.raises(HttpError) as error:
        parse(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", Limits(body=1000))
    assert error.value.status == 413


@pytest.mark.parametrize("raw, status", [
    (b"GET /\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"G<T / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
])
def test_malformed_requests(raw, status):
    with pytest.raises(HttpError) as error:
        parse(raw)
    assert error.value.status == status


def test_response_bytes_and_head():
    response = Response(200, (("Content-Type", "text/plain"),), b"hello")
    assert response.to_bytes() == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                                   b"Connection: close\r\n\r\nhello")
    assert response.to_bytes(head_only=True).endswith(b"Content-Length: 5\r\nConnection: close\r\n\r\n")


def test_response_refuses_header_injection():
    with pytest.raises(ValueError):
        Response(303, (("Location", "/x\r\nSet-Cookie: a=b"),)).to_bytes()
