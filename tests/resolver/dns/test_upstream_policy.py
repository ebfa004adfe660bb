from fraudwall.resolver.dns.upstream_policy import Upstream, UpstreamPool

A = Upstream("127.0.0.1", 5301)
B = Upstream("127.0.0.1", 5302)


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def test_fastest_first_once_measured():
    pool = UpstreamPool((A, B), Clock())
    pool.succeeded(A, 0.040)
    pool.succeeded(B, 0.002)
    assert pool.order() == [B, A]


def test_a_failed_server_is_held_back_then_tried_again():
    clock = Clock()
    pool = UpstreamPool((A, B), clock)
    pool.succeeded(A, 0.001)
    pool.succeeded(B, 0.010)
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
