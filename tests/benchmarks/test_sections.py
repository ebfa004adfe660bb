"""The cost benchmarks' sections of RESULTS.md (benchmarks/section.py and each script's `report`): what a
reader of the file sees, checked on made-up figures and a copy of the file; no benchmark runs here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import cold_start  # noqa: E402
import first_seen_cost  # noqa: E402
import forward_cost  # noqa: E402
import import_command  # noqa: E402
import nod_cost  # noqa: E402
import score_stdin  # noqa: E402
import section  # noqa: E402
from section import Occasion  # noqa: E402

QUIET = Occasion(".venv/bin/python benchmarks/nod_cost.py --count 2000", "2026-12-02 23:00 UTC", 0.12)
SHARED = Occasion(".venv/bin/python benchmarks/nod_cost.py", "2026-12-02 23:00 UTC", 1.7)
OTHER_SECTION = "<!-- resolver:begin -->\n## Resolver QPS\n\n| cached | 50,665 |\n<!-- resolver:end -->\n"


def test_a_run_says_when_on_what_and_with_which_command():
    occasion = section.begin("first_seen_cost", ["--count", "2000", "--rows", "defaults,nod off"])
    assert occasion.command == ".venv/bin/python benchmarks/first_seen_cost.py --count 2000 --rows 'defaults,nod off'"
    first, _, command, _ = section.opening(occasion, ["uvloop 0.23.0"], end_load=0.2)
    assert first.startswith(f"Measured {occasion.when} on ") and " cores (" in first
    assert "Python 3." in first and "uvloop 0.23.0" in first and "fraudwall " in first
    assert command == f"Command: `{occasion.command}`"
    # The machine's speed then, so that a figure that moved with the machine can be told apart.
    assert occasion.speed > 0 and f"took {occasion.speed:.2f} CPU-s" in first


def test_a_loaded_machine_is_said_to_be_shared():
    assert "the machine was shared: load average 1.70 at the start, 1.20 at the end" in \
        section.opening(SHARED, end_load=1.2)[0]
    quiet = section.opening(QUIET, end_load=0.3)[0]
    assert "load average 0.12 at the start, 0.30 at the end" in quiet and "shared" not in quiet


def test_a_section_replaces_its_own_and_leaves_the_others(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n" + OTHER_SECTION)
    section.publish("nod-cost", "NOD cost", "first run\n", no_write=False, path=results)
    section.publish("nod-cost", "NOD cost", "second run\n", no_write=False, path=results)
    text = results.read_text()
    assert OTHER_SECTION.strip() in text
    assert text.count("<!-- nod-cost:begin -->") == 1 and "second run" in text and "first run" not in text


def test_no_write_leaves_the_file_alone(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(OTHER_SECTION)
    section.publish("nod-cost", "NOD cost", "a quick look\n", no_write=True, path=results)
    assert results.read_text() == OTHER_SECTION


@pytest.mark.parametrize("module", [first_seen_cost, forward_cost, nod_cost, import_command, cold_start, score_stdin])
def test_every_cost_benchmark_offers_no_write(module, capsys):
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0 and "--no-write" in capsys.readouterr().out


def test_first_seen_shows_the_shipped_defaults_first_and_what_each_part_costs():
    args = argparse.Namespace(count=2000, repeat=1, listed=10_000, parents=1000, flush=10_000, concurrency=64)
    figures = {"defaults": {"unique-sld": (2000, 0.1, 0), "cached": (2000, 0.004, 0)},
               "nod off": {"unique-sld": (1500, 0.06, 2), "cached": (2000, 0.004, 0)}}
    text = first_seen_cost.report(figures, ["unique-sld", "cached"], args, True, QUIET, 0.2)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0] == "| parts | unique-sld | cached |"
    assert table[1] == "| defaults | 50.0 | 2.0 |"
    assert table[2] == "| nod off | 40.0 (1,500, 2 wrong) | 2.0 |"
    assert "**nod off**: `[nod] enabled = false`" in text and "**2 wrong answers.**" in text
    assert "What limits the figure" in text and "Command: `" in text


def test_forward_cost_shows_the_socket_pool_then_a_socket_per_try():
    args = argparse.Namespace(count=2000, concurrency=64, seconds=60.0)
    shipped = forward_cost.UpstreamSettings.outgoing_range
    text = forward_cost.report([(shipped, 2000, 0, 0.05, 0.1), (0, 1000, 0, 0.05, 60.0)], args, "uvloop 0.23.0",
                               QUIET, 0.2)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[1].startswith(f"| shipped defaults (a pool of sockets) | {shipped} | 2,000 | 0 | 25.0 |")
    assert table[2].startswith("| a fresh socket per try | 0 | 1,000 (stopped at 60 s) | 0 | 50.0 |")
    assert "What limits the figure" in text


def test_nod_cost_shows_the_shipped_chain_the_scorer_alone_and_the_difference():
    args = argparse.Namespace(count=2000, rounds=7)
    text = nod_cost.report({"seen": {"scorer": 0.7, "scorer+nod": 0.9}, "new": {"scorer": 2.0, "scorer+nod": 6.5}},
                           {"warn": 10, "block": 0, "none": 1990}, args, QUIET, 0.2)
    assert "| workload | shipped defaults (scorer + NOD) | NOD off (scorer alone) | NOD's cost |" in text
    assert "| 0.90 | 0.70 | 0.20 |" in text and "| 6.50 | 2.00 | 4.50 |" in text
    assert "warn 10, block 0, none 1,990" in text


def test_import_command_shows_wall_cpu_and_peak_memory():
    result = {"wall": 140.2, "user": 120.5, "system": 9.5, "peak_rss_mb": 1850.0, "load_before": 0.1,
              "load_after": 1.9, "summary": "list big (created): 25000000 names"}
    text = import_command.report(25_000_000, result, 2_500_000_000, "ext4", QUIET, 1.9)
    assert "| 25,000,000 | 140.2 | 120.5 | 9.5 | 130.0 | 1850 | 0.10-1.90 |" in text
    assert "a fresh store on ext4" in text and "The store: 2,500 MB." in text


def cold_round(index, cache, seconds, qps=None, passes=1.0, rcodes="NOERROR 1000 (100.00%)"):
    measured = cold_start.Throughput(qps, 3, 42.0, rcodes, passes) if qps is not None else None
    return cold_start.Round(index, cache, seconds, 0.1, measured)


def test_cold_start_counts_the_cold_rounds_and_says_when_the_cache_was_not_dropped():
    cold = cold_start.Series(25_000_000, (cold_round(0, "cold", 2.5), cold_round(1, "cold", 0.9),
                                          cold_round(2, "cold", 0.7), cold_round(3, "cold", None),
                                          cold_round(4, "warm", 0.4)))
    text = cold_start.report([cold], 0, "ext4", QUIET, 0.1)
    assert "25,000,000 names: cold rounds counted 2, first answer median 0.80 s, worst 0.90 s." in text
    assert "| 25,000,000 | 0 | cold (not counted:" in text and "**A round got no blocked answer in time.**" in text
    assert "No QPS runs (`--qps-seconds 0`)." in text and "no ratio" not in text
    warm = cold_start.report([cold_start.Series(1000, (cold_round(0, "warm", 1.0), cold_round(1, "warm", 0.5)))],
                             0, "ext4", QUIET, 0.1)
    assert "**The page cache was not dropped**" in warm and "1,000 names: no cold round counted." in warm


def test_cold_start_sets_the_big_stores_cold_qps_against_the_small_ones():
    big = cold_start.Series(25_000_000, (cold_round(0, "cold", 3.0), cold_round(1, "cold", 1.2, 30_000.0),
                                         cold_round(2, "cold", 1.1, 50_000.0), cold_round(3, "warm", 0.6, 90_000.0)))
    small = cold_start.Series(1_000_000, (cold_round(0, "cold", 1.0), cold_round(1, "cold", 0.8, 78_000.0),
                                          cold_round(2, "cold", 0.7, 82_000.0), cold_round(3, "warm", 0.5, 95_000.0)))
    text = cold_start.report([big, small], 5, "ext4", QUIET, 0.1)
    assert "`dnsperf -l 5 -c 4 -q 100`" in text
    assert "| 25,000,000 | 1 | cold | 1.20 | 30,000 | 3 | 42.0 | 0.10 |" in text
    assert "| 1,000,000 | 0 | cold (not counted:" in text and "| - | - | - |" in text
    assert "25,000,000 names: cold rounds counted 2, first answer median 1.15 s, worst 1.20 s; " \
           "cold QPS median 40,000, lowest 30,000." in text
    assert "Cold QPS, 25,000,000 names / 1,000,000 names: 0.50x (40,000 / 80,000 QPS, medians of the cold " \
           "rounds); issue 14's target (25 M against 1 M) >= 0.5x: met." in text
    slow = cold_start.Series(25_000_000, (cold_round(0, "cold", 3.0), cold_round(1, "cold", 3.5, 1_800.0)))
    assert "0.02x (1,800 / 80,000 QPS" in cold_start.report([slow, small], 5, "ext4", QUIET, 0.1)
    assert "NOT met." in cold_start.printed([slow, small]).splitlines()[-1]


def test_cold_start_says_when_names_repeated_or_were_not_blocked():
    big = cold_start.Series(300_000, (cold_round(0, "cold", 1.0), cold_round(1, "cold", 0.9, 20_000.0, passes=1.4)))
    forwarded = "NOERROR 90 (90.00%), SERVFAIL 10 (10.00%)"
    small = cold_start.Series(100_000, (cold_round(0, "cold", 1.0), cold_round(1, "cold", 0.8, 40_000.0, rcodes=forwarded)))
    text = cold_start.report([big, small], 2, "ext4", QUIET, 0.1)
    assert "**A round's names ran out before dnsperf stopped**" in text
    assert "**Some answers were not NOERROR**" in text
    alone = cold_start.report([cold_start.Series(300_000, (cold_round(0, "cold", 1.0), cold_round(1, "cold", 0.9)))],
                              2, "ext4", QUIET, 0.1)
    assert "**A round got no QPS figure**" in alone and "Cold QPS," not in alone


def test_cold_start_asks_each_listed_name_once_per_run(tmp_path):
    feed = tmp_path / "feed.txt"
    feed.write_text("".join(f"name{number}-fraud.top\n" for number in range(1000)) + "name7-fraud.top\n")
    probes = ["name1-fraud.top", "name2-fraud.top"]
    files = cold_start.query_files(tmp_path, feed, 1000, 2, 1, probes)
    for path in files:
        lines = path.read_text().splitlines()
        assert len(lines) == 998 and len(set(lines)) == 998 and all(line.endswith(" A") for line in lines)
        assert not {f"{probe} A" for probe in probes} & set(lines)
    assert cold_start.query_files(tmp_path, feed, 1000, 2, 1, probes)[0].read_text() == files[0].read_text()


@pytest.mark.parametrize("arguments, said", [(["--qps-seconds", "500"], "--qps-seconds: 0 to 100, not 500"),
                                             (["--names", "1000", "--compare-names", "1000"], "--compare-names:")])
def test_cold_start_refuses_a_bad_option_in_one_line(arguments, said, capsys):
    with pytest.raises(SystemExit) as done:
        cold_start.main(arguments)
    assert done.value.code == 2 and said in capsys.readouterr().err
