"""The upstream policy without sockets: which server next, when TCP, what counts as a failure."""

import pytest
from fraudwall.resolver.dns.codes import Rcode, Transport
from fraudwall.resolver.dns.upstream_policy import Outcome, Resolution, Upstream, UpstreamPool

A = Upstream("127.0.0.1", 5301)
B = Upstream("127.0.0.1", 5302)
UDP, TCP = Transport.UDP, Transport.TCP


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def measured(*rtts: float, clock=None) -> UpstreamPool:
    """A pool of A and B (and so on) that has seen each answer once in `rtts` seconds."""
    servers = (A, B)[:len(rtts)]
    pool = UpstreamPool(servers, clock or Clock())
    for server, rtt in zip(servers, rtts):
        pool.succeeded(server, rtt)
    return pool


def drive(resolution: Resolution, *outcomes: Outcome) -> list[tuple[Upstream, Transport]]:
    """The requests `resolution` makes while it hears `outcomes` in turn (each with reply "reply N")."""
    requests = []
    for index, outcome in enumerate(outcomes):
        request = resolution.next_request()
        assert request is not None, f"done after {requests}, before hearing {outcome}"
        requests.append(request)
        resolution.record(outcome, 0.010, f"reply {index}")
    return requests


def test_fastest_first_once_measured():
    pool = measured(0.040, 0.002)
    assert pool.order() == [B, A]


def test_a_failed_server_is_held_back_then_tried_again():
    clock = Clock()
    pool = measured(0.001, 0.010, clock=clock)
    pool.failed(A)
    assert pool.order() == [B, A]  # still a last resort
    assert not pool.is_healthy(A)
    clock.now += 0.6
    assert pool.order() == [A, B]  # its hold-back is over: it gets a fair chance
    pool.failed(A)
    clock.now += 0.6
    assert pool.order() == [B, A]  # the second failure holds it back longer
    clock.now += 0.6
    pool.succeeded(A, 0.001)
    assert pool.order() == [A, B] and pool.is_healthy(A)


def test_hold_back_is_bounded():
    clock = Clock()
    pool = UpstreamPool((A,), clock)
    for _ in range(30):
        pool.failed(A)
    clock.now += 61
    assert pool.order() == [A]


def test_an_answer_ends_the_resolution_at_the_fastest_server_over_udp():
    pool = measured(0.040, 0.002)
    before = pool.smoothed_rtt(B)
    resolution = Resolution(pool, attempts=2)
    assert drive(resolution, Outcome.OK) == [(B, UDP)]
    assert resolution.next_request() is None
    assert resolution.reply == "reply 0"
    assert pool.smoothed_rtt(B) == pytest.approx(before + 0.3 * (0.010 - before))


@pytest.mark.parametrize("failure", [Outcome.TIMEOUT, Outcome.ERROR, Outcome.REFUSED])
def test_a_timeout_an_error_or_refused_asks_the_next_and_holds_the_first_back(failure):
    pool = measured(0.001, 0.010)
    resolution = Resolution(pool, attempts=1)
    assert drive(resolution, failure, Outcome.OK) == [(A, UDP), (B, UDP)]
    assert resolution.reply == "reply 1"   # nothing of the failed try is kept
    assert not pool.is_healthy(A) and pool.order() == [B, A]


def test_servfail_asks_the_next_without_holding_the_first_back():
    pool = measured(0.001, 0.010)
    resolution = Resolution(pool, attempts=1)
    assert drive(resolution, Outcome.SERVFAIL, Outcome.OK) == [(A, UDP), (B, UDP)]
    assert resolution.reply == "reply 1"   # a better answer wins
    assert pool.is_healthy(A) and pool.order() == [A, B]


def test_servfail_stands_when_nobody_answers_better():
    resolution = Resolution(measured(0.001, 0.010), attempts=1)
    drive(resolution, Outcome.SERVFAIL, Outcome.TIMEOUT)
    assert resolution.next_request() is None
    assert resolution.reply == "reply 0"


def test_truncated_over_udp_asks_the_same_server_over_tcp_and_times_both():
    pool = measured(0.001, 0.010)
    before = pool.smoothed_rtt(A)
    resolution = Resolution(pool, attempts=1)
    requests = [resolution.next_request()]
    resolution.record(Outcome.TRUNCATED, 0.002)
    requests.append(resolution.next_request())
    resolution.record(Outcome.OK, 0.003, "whole")
    assert requests == [(A, UDP), (A, TCP)]
    assert resolution.next_request() is None and resolution.reply == "whole"
    assert pool.smoothed_rtt(A) == pytest.approx(before + 0.3 * (0.005 - before))


def test_a_failed_tcp_retry_fails_the_server_and_the_next_is_asked_over_udp():
    pool = measured(0.001, 0.010)
    resolution = Resolution(pool, attempts=1)
    assert drive(resolution, Outcome.TRUNCATED, Outcome.TIMEOUT, Outcome.OK) == [(A, UDP), (A, TCP), (B, UDP)]
    assert not pool.is_healthy(A)


def test_truncated_over_tcp_is_a_failure():
    pool = measured(0.001, 0.010)
    resolution = Resolution(pool, attempts=1)
    assert drive(resolution, Outcome.TRUNCATED, Outcome.TRUNCATED, Outcome.OK) == [(A, UDP), (A, TCP), (B, UDP)]
    assert resolution.reply == "reply 2"
    assert not pool.is_healthy(A)


def test_attempts_are_rounds_over_the_order_taken_at_the_start():
    pool = measured(0.001, 0.010)
    resolution = Resolution(pool, attempts=2)
    # A is held back after its first failure, yet keeps its place in the second round.
    requests = drive(resolution, Outcome.TIMEOUT, Outcome.ERROR, Outcome.REFUSED, Outcome.TIMEOUT)
    assert requests == [(A, UDP), (B, UDP), (A, UDP), (B, UDP)]
    assert resolution.next_request() is None and resolution.reply is None


def test_record_before_a_request_is_a_mistake():
    with pytest.raises(RuntimeError):
        Resolution(measured(0.001), attempts=1).record(Outcome.OK, 0.001)


def test_what_a_reply_says():
    assert Outcome.of_rcode(Rcode.NOERROR) is Outcome.OK
    assert Outcome.of_rcode(Rcode.NXDOMAIN) is Outcome.OK
    assert Outcome.of_rcode(Rcode.SERVFAIL) is Outcome.SERVFAIL
    assert Outcome.of_rcode(Rcode.REFUSED) is Outcome.REFUSED
    assert [outcome.label for outcome in Outcome] == ["ok", "ok", "error", "ok", "timeout", "error"]
