import random
import string

import pytest
from fraudwall.blocklists import bloom
from fraudwall.blocklists.bloom import CorruptFilter, NameFilter
from pybloom_live import BloomFilter


def names(count, seed):
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=12)) + ".example" for _ in range(count)]


def test_added_names_are_always_found_and_strangers_rarely(tmp_path):
    inside, outside = names(20_000, 1), names(20_000, 2)
    name_filter = NameFilter.empty(20_000, 0.001)
    name_filter.add_many(inside)
    assert all(name in name_filter for name in inside)
    assert sum(name in name_filter for name in outside) / len(outside) < 0.004


def test_the_file_is_pybloom_lives_format_and_loads_mapped(tmp_path):
    name_filter = NameFilter.empty(5_000, 0.001)
    name_filter.add_many(["a.example.org"])
    crc = name_filter.save(tmp_path / "f.bloom")
    with open(tmp_path / "f.bloom", "rb") as stream:
        reread = BloomFilter.fromfile(stream)
    assert (reread.num_slices, reread.bits_per_slice) == (name_filter.bloom.num_slices, name_filter.bloom.bits_per_slice)
    assert reread.bitarray.tobytes() == name_filter.bloom.bitarray.tobytes()
    loaded = bloom.load(tmp_path / "f.bloom", crc)
    assert "a.example.org" in loaded and "b.example.org" not in loaded


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_a_damaged_file_is_refused(tmp_path, damage):
    name_filter = NameFilter.empty(5_000, 0.001)
    name_filter.add_many(names(100, 3))
    path = tmp_path / "f.bloom"
    crc = name_filter.save(path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-10] ^= 0xFF
    else:
        data[8:16] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFilter):
        bloom.load(path, crc)


def test_a_filter_built_a_few_names_at_a_time_is_the_one_built_at_once(tmp_path):
    """Small batches are added without numpy, big ones with it: the same bits, the same file, the same counts."""
    listed = names(30_000, 4)
    few_at_a_time, at_once = NameFilter.empty(50_000, 0.001), NameFilter.empty(50_000, 0.001)
    for start in range(0, len(listed), 500):
        few_at_a_time.add_many(listed[start:start + 500])
    at_once.add_many(iter(listed))
    assert few_at_a_time.save(tmp_path / "a.bloom") == at_once.save(tmp_path / "b.bloom")
    assert (tmp_path / "a.bloom").read_bytes() == (tmp_path / "b.bloom").read_bytes()
    assert at_once.count_present(listed + names(1_000, 5)) == len(listed) + sum(
        name in at_once for name in names(1_000, 5))
