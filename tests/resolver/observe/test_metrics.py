"""Metrics: counted per answer with bounded labels, added up across workers, exported in Prometheus text."""

import os

from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codes import AnswerKind, Transport, Trigger
from fraudwall.scoring.score import Score, Verdict
from fraudwall.resolver.observe.metrics import Collector, Counters, SnapshotFolder, merge
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.resolver.helpers import make_query


def samples(counters, others=()):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(counters, lambda: list(others)))
    text = generate_latest(registry).decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_queries_by_type_transport_and_result():
    counters = Counters()
    counters.observe_answer(make_query(), Answer(AnswerKind.CACHED, b""), 0.0002)
    counters.observe_answer(make_query(rdtype="TYPE999"), Answer(AnswerKind.RESOLVED, b""), 0.02)
    counters.observe_answer(make_query(transport=Transport.TCP), Answer(AnswerKind.CACHED, b""), 0.0002)
    values = samples(counters)
    assert values[("fraudwall_queries_total", (("qtype", "A"), ("result", "cached"), ("transport", "udp")))] == 1
    assert values[("fraudwall_queries_total", (("qtype", "other"), ("result", "answered"), ("transport", "udp")))] == 1
    assert values[("fraudwall_query_duration_seconds_count", ())] == 3
    assert values[("fraudwall_query_duration_seconds_bucket", (("le", "0.00025"),))] == 2


def test_blocks_by_trigger_and_list_and_scorer_verdicts():
    counters = Counters()
    listed = Match("x.example.net", Action.BLOCK, "demo", "x.example.net", "x:1", 0.0)
    network = Match("192.0.2.0/24", Action.BLOCK, "ipfeed", "192.0.2.0/24", "ip.txt:1", 0.0)
    homoglyph = Score(0.9, Verdict.BLOCK, "paypal.com", ("homoglyph of paypal.com",), "homoglyph")
    combosquat = Score(0.7, Verdict.WARN, "paypal.com", ("paypal plus other words",), "combosquat")
    counters.observe_answer(make_query(), Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, listed), 0.001)
    counters.observe_answer(make_query(), Answer(AnswerKind.BLOCKED, b"", Trigger.CNAME_TARGET, listed,
                                                 "cdn.x.example.net"), 0.001)
    counters.observe_answer(make_query(), Answer(AnswerKind.BLOCKED, b"", Trigger.ANSWER_ADDRESS, network,
                                                 "192.0.2.1"), 0.001)
    counters.observe_answer(make_query(), Answer(AnswerKind.SCORED, b"", Trigger.SCORER, homoglyph), 0.001)
    # A warned name is labelled by the scorer's rule, whatever answered it (here the upstream's SERVFAIL).
    counters.observe_answer(make_query(), Answer(AnswerKind.SERVFAIL, b"", Trigger.NO_UPSTREAM, warning=combosquat),
                            0.001)
    values = samples(counters)
    assert values[("fraudwall_blocked_total", (("list", "demo"), ("policy", "default"), ("reason", "name")))] == 1
    assert values[("fraudwall_blocked_total", (("list", "demo"), ("policy", "default"), ("reason", "cname")))] == 1
    assert values[("fraudwall_blocked_total", (("list", "ipfeed"), ("policy", "default"), ("reason", "address")))] == 1
    assert values[("fraudwall_blocked_total", (("list", "homoglyph"), ("policy", "default"), ("reason", "scorer")))] == 1
    assert values[("fraudwall_scorer_verdicts_total", (("rule", "homoglyph"), ("verdict", "block")))] == 1
    assert values[("fraudwall_scorer_verdicts_total", (("rule", "combosquat"), ("verdict", "warn")))] == 1



def test_replays_counted_together_add_their_number_to_every_count():
    # The handler hands on a client's replays of one reply at once: 40 blocked replays in 1.2 ms.
    counters = Counters()
    listed = Match("x.example.net", Action.BLOCK, "demo", "x.example.net", "x:1", 0.0)
    counters.observe_answer(make_query(), Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, listed), 0.0012, 40)
    counters.observe_answer(make_query(), Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, listed), 0.002)
    values = samples(counters)
    assert values[("fraudwall_queries_total", (("qtype", "A"), ("result", "blocked"), ("transport", "udp")))] == 41
    assert values[("fraudwall_blocked_total", (("list", "demo"), ("policy", "default"), ("reason", "name")))] == 41
    assert values[("fraudwall_query_duration_seconds_bucket", (("le", "0.0001"),))] == 40
    assert values[("fraudwall_query_duration_seconds_bucket", (("le", "0.0025"),))] == 41
    assert abs(values[("fraudwall_query_duration_seconds_sum", ())] - 0.0032) < 1e-9

def test_upstream_tries_and_malformed_queries():
    counters = Counters()
    counters.observe_upstream("127.0.0.1:53", "ok", 0.003)
    counters.observe_upstream("127.0.0.1:53", "timeout", 1.5)
    counters.observe_malformed(AnswerKind.FORMERR, Transport.UDP)
    values = samples(counters)
    assert values[("fraudwall_upstream_requests_total", (("outcome", "timeout"), ("upstream", "127.0.0.1:53")))] == 1
    assert values[("fraudwall_upstream_duration_seconds_count", (("upstream", "127.0.0.1:53"),))] == 1
    assert values[("fraudwall_queries_total", (("qtype", "none"), ("result", "formerr"), ("transport", "udp")))] == 1


def test_workers_add_up_through_their_snapshots(tmp_path):
    folder = SnapshotFolder(str(tmp_path))
    first, second = Counters(), Counters()
    for counters in (first, second):
        counters.observe_answer(make_query(), Answer(AnswerKind.CACHED, b""), 0.0001)
        counters.set_gauge("fraudwall_cache_entries", 10)
    second.observe_answer(make_query(), Answer(AnswerKind.CACHED, b""), 0.0001)
    folder.write(0, first.snapshot())
    folder.write(1, second.snapshot())
    (tmp_path / "worker-2.json").write_text("{not json")
    values = samples(first, folder.read_others(0))
    assert values[("fraudwall_queries_total", (("qtype", "A"), ("result", "cached"), ("transport", "udp")))] == 3
    assert values[("fraudwall_cache_entries", ())] == 20
    assert merge([first.snapshot()]).histograms["fraudwall_query_duration_seconds"][()].counts[0] == 1


def test_a_worker_that_is_gone_keeps_its_counts_but_not_its_gauges(tmp_path):
    folder = SnapshotFolder(str(tmp_path))
    serving, gone = Counters(), Counters()
    for counters in (serving, gone, gone):
        counters.observe_answer(make_query(), Answer(AnswerKind.CACHED, b""), 0.0001)
    gone.set_gauge("fraudwall_cache_entries", 10)
    folder.retire(None, 0)
    assert samples(serving, folder.read_others(1))[("fraudwall_worker_restarts_total", ())] == 0
    folder.write(2, gone.snapshot())
    folder.retire(2, 1)                    # worker 2 died, and was started again
    folder.retire(None, 1)
    values = samples(serving, folder.read_others(1))
    assert values[("fraudwall_queries_total", (("qtype", "A"), ("result", "cached"), ("transport", "udp")))] == 3
    assert values[("fraudwall_query_duration_seconds_count", ())] == 3
    assert ("fraudwall_cache_entries", ()) not in values   # its cache went with it
    assert values[("fraudwall_worker_restarts_total", ())] == 1
    assert not (tmp_path / "worker-2.json").exists()


def test_a_new_folder_removes_those_of_supervisors_that_are_gone(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = tmp_path / "fraudwall-metrics-999999999-abc"     # no such pid: killed before it cleaned up
    alive = tmp_path / f"fraudwall-metrics-{os.getpid()}-abc"
    older = tmp_path / "fraudwall-metrics-abc_1"            # named as before: not ours to judge
    for folder in (gone, alive, older):
        folder.mkdir()
    created = SnapshotFolder.create()
    assert created.path.name.startswith(f"fraudwall-metrics-{os.getpid()}-")
    assert not gone.exists() and alive.exists() and older.exists()
