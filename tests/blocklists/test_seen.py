"""The domains a network asked for lately: remembered across restarts, shared by processes, aged by the day."""

import multiprocessing

import pytest
from fraudwall.blocklists.bloom import new_filter
from fraudwall.blocklists.seen import DAY, ERROR_RATE, FILE_NAME, Geometry, SeenError, open_seen, read_seen, seen_path

START = 1_800_000_000.0 - 1_800_000_000.0 % (7 * DAY)   # the first second of a period of 7 days


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def days_later(self, days: float) -> None:
        self.now += days * DAY


def test_a_domain_is_new_once_then_seen(tmp_path):
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 1, Clock())
    assert seen.observe("example.org") is True
    assert seen.observe("example.org") is False
    assert seen.observe("example.net") is True
    # `seen` answers without remembering: asking it twice finds nothing either time.
    assert not seen.seen("example.com") and not seen.seen("example.com")
    assert seen.observe("example.com") is True


def test_the_memory_outlives_a_restart(tmp_path):
    clock = Clock()
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 7, clock)
    seen.observe("example.org")
    seen.close()
    again = open_seen(tmp_path / FILE_NAME, 10_000, 7, clock)
    assert again.observe("example.org") is False
    assert read_seen(tmp_path / FILE_NAME, clock).seen("example.org")


def test_other_settings_start_an_empty_memory_and_say_nothing_wrong(tmp_path):
    clock = Clock()
    open_seen(tmp_path / FILE_NAME, 10_000, 7, clock).observe("example.org")
    bigger = open_seen(tmp_path / FILE_NAME, 20_000, 7, clock)
    assert bigger.observe("example.org") is True
    (tmp_path / "garbage.bloom").write_bytes(b"not a filter")
    with pytest.raises(SeenError, match="garbage.bloom: not a seen-domains file"):
        read_seen(tmp_path / "garbage.bloom")
    assert read_seen(tmp_path / "none.bloom") is None


def test_a_domain_is_never_new_again_within_days_and_new_after_two_quiet_periods(tmp_path):
    clock = Clock(START + 6.5 * DAY)   # late in a period: the pair's worst case
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 7, clock)
    assert seen.observe("example.org") is True
    clock.days_later(1)                 # the next day is the next period: the previous one holds it
    assert seen.seen("example.org")
    clock.days_later(6)
    assert seen.seen("example.org")     # 7 days on, still within the two periods
    clock.days_later(7)
    assert not seen.seen("example.org")  # nobody asked for it for a whole period and more: new again
    assert seen.observe("example.org") is True


def test_a_domain_asked_for_every_period_never_ages(tmp_path):
    clock = Clock()
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 1, clock)
    seen.observe("example.org")
    for _ in range(10):
        clock.days_later(1)
        assert seen.observe("example.org") is False
        # Written into each new period's filter, not only remembered by this process: `fraudwall check`
        # and the other workers read the file.
        assert read_seen(tmp_path / FILE_NAME, clock).seen("example.org")


def test_a_new_period_empties_the_older_filter_in_the_file(tmp_path):
    clock = Clock()
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 1, clock)
    seen.observe("example.org")
    clock.days_later(2)
    seen.observe("example.net")        # the worker that comes first turns the period for all
    other = read_seen(tmp_path / FILE_NAME, clock)
    assert other.seen("example.net") and not other.seen("example.org")


def _observe_in_another_process(path, names, now, results):
    seen = open_seen(path, 10_000, 1, lambda: now)
    results.put([seen.observe(name) for name in names])
    seen.close()


def test_processes_share_one_memory(tmp_path):
    path = tmp_path / FILE_NAME
    clock = Clock()
    seen = open_seen(path, 10_000, 1, clock)
    assert seen.observe("example.org") is True
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    child = spawn.Process(target=_observe_in_another_process,
                          args=(path, ["example.org", "example.net"], clock.now, results))
    child.start()
    try:
        assert results.get(timeout=60) == [False, True]   # it sees the parent's; example.net is new to it
    finally:
        child.join(60)
    # Without reopening: the child's bit is in the parent's mapping.
    assert seen.observe("example.net") is False


def test_false_positives_stay_near_one_percent_at_capacity(tmp_path):
    seen = open_seen(tmp_path / FILE_NAME, 10_000, 1, Clock())
    for index in range(10_000):
        seen.observe(f"seen{index}.example")
    missed = sum(seen.seen(f"other{index}.example") for index in range(10_000))
    assert missed < 200     # 1 % expected: a new domain taken for seen, never the reverse


def test_the_file_sits_beside_the_blocklist_store(tmp_path):
    assert seen_path("", str(tmp_path / "blocklists.db")) == tmp_path / FILE_NAME
    assert seen_path(str(tmp_path / "elsewhere.bloom"), str(tmp_path / "blocklists.db")) == tmp_path / "elsewhere.bloom"


def test_the_filters_are_sized_as_the_blocklists_filter_is():
    for capacity in (10, 10_000, 1_000_000, 12_345_678):
        bloom = new_filter(capacity, ERROR_RATE)
        assert Geometry.of(capacity, 7)[1:] == (bloom.num_slices, bloom.bits_per_slice, bloom.capacity)
    assert Geometry.of(1_000_000, 7).file_bytes < 2_400_000   # 1 M domains: 2.4 MB for both periods
