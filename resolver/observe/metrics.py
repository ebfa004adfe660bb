"""The resolver's Prometheus metrics: defined here, counted in plain dicts, exported on scrape.

prometheus-client's own Counter takes a lock and, in multiprocess mode, writes a memory
map on every update: several microseconds a query. Here each worker counts in plain dicts
(one event loop, no locks, about 0.1 µs an update), writes a snapshot for the others to
read, and the process serving /metrics adds the snapshots up through a custom collector.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

from fraudwall.resolver.version import fraudwall_version
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codec import Query
from fraudwall.resolver.dns.codes import AnswerKind, Transport
from fraudwall.resolver.dns.explain import blocked_labels, verdict_labels, withheld_labels
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

if TYPE_CHECKING:
    from fraudwall.blocklists.lookup import StoreBlocklist

DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0)

# Bound once: the observer runs for every query.
_bucket = bisect.bisect_left
_BLOCKED, _SCORED = AnswerKind.BLOCKED, AnswerKind.SCORED
# Label values looked up in plain dicts: an enum's `.value` is a property call, slow on the query path.
KIND_LABELS = {kind: kind.value for kind in AnswerKind}
TRANSPORT_LABELS = {transport: transport.value for transport in Transport}
# qtype label values: a closed set, everything else is "other".
_QTYPE_LABELS = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
                 43: "DS", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 255: "ANY"}


class MetricSpec(NamedTuple):
    name: str          # without the _total suffix for counters (prometheus-client adds it)
    kind: str          # counter | gauge | histogram
    help: str
    labels: tuple[str, ...] = ()


SPECS = (
    MetricSpec("fraudwall_queries", "counter", "DNS queries answered, by query type, transport and result.",
               ("qtype", "transport", "result")),
    MetricSpec("fraudwall_blocked", "counter",
               "Queries blocked, by what triggered the block (name, cname, address, scorer), the list or rule, "
               "and the client's policy.", ("reason", "list", "policy")),
    MetricSpec("fraudwall_warned", "counter",
               "Queries answered though a list or the scorer would block them, because the client's policy warns "
               "(mode warn, scorer warn, [scorer] mode warn-only), by what triggered it, the list or rule, and the "
               "policy.", ("reason", "list", "policy")),
    MetricSpec("fraudwall_scorer_verdicts", "counter", "Look-alike scorer verdicts other than allow, by rule.",
               ("verdict", "rule")),
    MetricSpec("fraudwall_newly_observed", "counter",
               "Registrable domains asked for that nobody on this network had asked for lately ([nod]), by what "
               "was done: warn, block (scored at or above [nod] threshold), none (scored below it, or left to "
               "the scorer's own verdict).", ("action",)),
    MetricSpec("fraudwall_query_duration_seconds", "histogram",
               "Time from reading a query to sending its answer."),
    MetricSpec("fraudwall_upstream_requests", "counter", "Tries at an upstream, by outcome (ok, timeout, error).",
               ("upstream", "outcome")),
    MetricSpec("fraudwall_upstream_duration_seconds", "histogram", "Time an upstream took to answer a try.",
               ("upstream",)),
    MetricSpec("fraudwall_cache_hits", "counter", "Queries answered from the cache."),
    MetricSpec("fraudwall_cache_misses", "counter", "Queries the cache could not answer."),
    MetricSpec("fraudwall_cache_entries", "gauge", "Answers held in the cache, all workers together."),
    MetricSpec("fraudwall_cache_stale_answers", "counter",
               "Expired answers served (TTL 30, EDE 3) because no upstream answered (RFC 8767)."),
    MetricSpec("fraudwall_upstream_overload", "counter",
               "Queries answered SERVFAIL at once because too many already waited for an upstream, by the bound "
               "reached (total, client, waiting).", ("bound",)),
    MetricSpec("fraudwall_warning_page_views", "counter", "Warning pages shown for a blocked name.",
               ("lang", "scheme")),
    MetricSpec("fraudwall_warning_reports", "counter", "\"This is a mistake\" reports stored."),
    MetricSpec("fraudwall_at_risk_clients", "gauge", "Clients flagged at risk within the at-risk window."),
    MetricSpec("fraudwall_worker_restarts", "counter", "Workers started again after one died unasked."),
    MetricSpec("fraudwall_ratelimit_limited", "counter",
               "Queries over a client's rate limit, by what was done (refuse, truncate, drop).", ("action",)),
    MetricSpec("fraudwall_ratelimit_clients", "gauge", "Client networks the rate limiter keeps a bucket for."),
    MetricSpec("fraudwall_proxy_refused", "counter",
               "UDP datagrams dropped and TCP connections closed for their PROXY v2 header, by reason (untrusted: "
               "a header from a sender not in proxy_from; missing, malformed: from one in it) and transport.",
               ("reason", "transport")),
    MetricSpec("fraudwall_xfr_secondary_transfers", "counter",
               "Refreshes of a list that follows a primary's zone ([blocklists] follow), by list and result: "
               "transferred (a new serial applied), current (the serial had not moved), held (the import was "
               "held back by a guard), failed (the primary or the import failed).", ("list", "result")),
    MetricSpec("fraudwall_xfr_transfers", "counter",
               "Questions to the zone transfer server ([xfr] listen), by kind (axfr, ixfr, query: SOA or NS; "
               "refused: from outside [xfr] allow) and result: full (the whole zone sent), incremental (an IXFR "
               "difference), current (the secondary had the serial), notauth (a zone not served), unsigned (no "
               "TSIG under require_key), badkey, badsig, badtime, badtrunc, formerr (TSIG failures), refused.",
               ("kind", "result")),
    MetricSpec("fraudwall_xfr_notifies", "counter",
               "NOTIFY messages the zone transfer server sent to [xfr] notify, by result: sent (each try), "
               "acknowledged (a secondary answered), failed (given up after the last try).", ("result",)),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def qtype_label(qtype: int) -> str:
    return _QTYPE_LABELS.get(qtype, "other")


class Histogram:
    """Bucket counts, a sum and a count: what a Prometheus histogram needs, nothing more."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(DURATION_BUCKETS, value)] += 1
        self.sum += value


class Counters:
    """One worker's counts: plain dicts keyed by label tuples."""

    def __init__(self) -> None:
        self.counters: dict[str, dict[tuple[str, ...], float]] = {
            spec.name: {} for spec in SPECS if spec.kind == "counter"}
        self.histograms: dict[str, dict[tuple[str, ...], Histogram]] = {
            spec.name: {} for spec in SPECS if spec.kind == "histogram"}
        self.gauges: dict[str, dict[tuple[str, ...], float]] = {
            spec.name: {} for spec in SPECS if spec.kind == "gauge"}
        # Queries are counted by (qtype number, transport, kind) and labelled when a snapshot is taken:
        # the per-query work is one small tuple and one dict update.
        self._queries: defaultdict[tuple[int, Transport, AnswerKind], int] = defaultdict(int)
        self._blocked = self.counters["fraudwall_blocked"] = defaultdict(int)
        self._verdicts = self.counters["fraudwall_scorer_verdicts"] = defaultdict(int)
        self._warned = self.counters["fraudwall_warned"] = defaultdict(int)
        duration = self.histograms["fraudwall_query_duration_seconds"].setdefault((), Histogram())
        self._duration = duration
        self._duration_counts = duration.counts

    def observe_answer(self, query: Query, answer: Answer, seconds: float, count: int = 1) -> None:
        """The handler's observer: called for every answered (or dropped) query, or once for `count`
        replays alike that took `seconds` together (each under the first duration bucket)."""
        kind = answer.kind
        self._queries[(query.qtype, query.transport, kind)] += count
        self._duration_counts[_bucket(DURATION_BUCKETS, seconds / count)] += count
        self._duration.sum += seconds
        if kind is _BLOCKED or kind is _SCORED:
            self._blocked[blocked_labels(answer)] += count
            if kind is _SCORED:
                self._verdicts[verdict_labels(answer)] += count
        elif answer.warning is not None:
            verdict = verdict_labels(answer)
            if verdict is not None:
                self._verdicts[verdict] += count
            withheld = withheld_labels(answer)
            if withheld is not None:
                self._warned[withheld] += count

    def observe_malformed(self, kind: AnswerKind, transport: Transport) -> None:
        self._queries[(-1, transport, kind)] += 1  # -1: no question could be read, labelled "none"

    def _label_queries(self) -> None:
        if not self._queries:
            return  # nothing counted here: merged counts arrive labelled already
        labelled: dict[tuple[str, ...], float] = {}
        for (qtype, transport, kind), count in self._queries.items():
            key = ("none" if qtype < 0 else _QTYPE_LABELS.get(qtype, "other"), TRANSPORT_LABELS[transport],
                   KIND_LABELS[kind])
            labelled[key] = labelled.get(key, 0) + count
        self.counters["fraudwall_queries"] = labelled

    def observe_upstream(self, upstream: str, outcome: str, seconds: float) -> None:
        requests = self.counters["fraudwall_upstream_requests"]
        requests[(upstream, outcome)] = requests.get((upstream, outcome), 0) + 1
        if outcome == "ok":
            durations = self.histograms["fraudwall_upstream_duration_seconds"]
            histogram = durations.get((upstream,))
            if histogram is None:   # not setdefault: that builds a Histogram for every try
                histogram = durations[(upstream,)] = Histogram()
            histogram.observe(seconds)

    def set_gauge(self, name: str, value: float, labels: tuple[str, ...] = ()) -> None:
        self.gauges[name][labels] = value

    def add(self, name: str, amount: float, labels: tuple[str, ...] = ()) -> None:
        values = self.counters[name]
        values[labels] = values.get(labels, 0) + amount

    def snapshot(self) -> dict:
        """Everything counted so far, as JSON-ready data."""
        self._label_queries()
        return {
            "counters": {name: [[list(k), v] for k, v in values.items()] for name, values in self.counters.items()},
            "gauges": {name: [[list(k), v] for k, v in values.items()] for name, values in self.gauges.items()},
            "histograms": {name: [[list(k), h.counts, h.sum] for k, h in values.items()]
                           for name, values in self.histograms.items()},
        }


def merge(snapshots: Iterable[dict]) -> Counters:
    """All workers' snapshots added up into one `Counters`."""
    total = Counters()
    for snapshot in snapshots:
        for section, target in (("counters", total.counters), ("gauges", total.gauges)):
            for name, rows in snapshot.get(section, {}).items():
                values = target.get(name)
                if values is None:
                    continue
                for labels, value in rows:
                    key = tuple(labels)
                    values[key] = values.get(key, 0) + value
        for name, rows in snapshot.get("histograms", {}).items():
            histograms = total.histograms.get(name)
            if histograms is None:
                continue
            for labels, counts, value_sum in rows:
                histogram = histograms.setdefault(tuple(labels), Histogram())
                for index, count in enumerate(counts[:len(histogram.counts)]):
                    histogram.counts[index] += count
                histogram.sum += value_sum
    return total


def families(counters: Counters) -> Iterable[object]:
    """prometheus-client metric families for the merged counts."""
    for spec in SPECS:
        if spec.kind == "counter":
            family = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, value in sorted(counters.counters[spec.name].items()):
                family.add_metric(labels, value)
        elif spec.kind == "gauge":
            family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, value in sorted(counters.gauges[spec.name].items()):
                family.add_metric(labels, value)
        else:
            family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, histogram in sorted(counters.histograms[spec.name].items()):
                cumulative = 0
                buckets = []
                for bound, count in zip((*map(str, DURATION_BUCKETS), "+Inf"), histogram.counts):
                    cumulative += count
                    buckets.append((bound, cumulative))
                family.add_metric(labels, buckets, histogram.sum)
        yield family


SNAPSHOT_PREFIX = "fraudwall-metrics-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # another user's
    return True


class SnapshotFolder:
    """Where the workers of one `serve` leave their snapshots for the one serving /metrics."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls) -> "SnapshotFolder":
        """A new folder named after this process, once those of processes that are gone are removed: a
        supervisor killed outright (SIGKILL) could not remove its own."""
        for stale in Path(tempfile.gettempdir()).glob(f"{SNAPSHOT_PREFIX}*-*"):
            pid = stale.name[len(SNAPSHOT_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and not _running(int(pid)) and stale.stat().st_uid == os.geteuid():
                shutil.rmtree(stale, ignore_errors=True)
        return cls(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-"))

    def write(self, worker: int | str, snapshot: dict) -> None:
        target = self.path / f"worker-{worker}.json"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        os.replace(temporary, target)

    def read_others(self, worker: int) -> list[dict]:
        snapshots = []
        for file in sorted(self.path.glob("worker-*.json")):
            if file.name == f"worker-{worker}.json":
                continue
            try:
                snapshots.append(json.loads(file.read_text()))
            except (OSError, ValueError):
                continue  # a worker is rewriting it right now; its counts come on the next scrape
        return snapshots

    def retire(self, worker: int | None, restarts: int) -> None:
        """The supervisor's snapshot: its restart count, and the counts of every worker that is gone, `worker`
        now folded in (None: only the count, e.g. 0 at start, so that the first restart shows in a rate).

        A gone worker's counters and histograms stay in the totals, so none goes backwards when it is
        replaced (Prometheus would take that for a reset); its gauges (cache entries) go with it. A scrape
        in the moment between the write and the unlink may count it twice, never zero times.
        """
        files = [self.path / "worker-supervisor.json"]
        if worker is not None:
            files.append(self.path / f"worker-{worker}.json")
        snapshots = []
        for file in files:
            try:
                snapshot = json.loads(file.read_text())
            except (OSError, ValueError):
                continue  # none yet, or the worker died while writing it: its last second is lost
            snapshot.pop("gauges", None)
            snapshots.append(snapshot)
        total = merge(snapshots)
        total.counters["fraudwall_worker_restarts"][()] = restarts
        self.write("supervisor", total.snapshot())
        if worker is not None:
            files[1].unlink(missing_ok=True)


class Collector:
    """A prometheus-client collector: this worker's live counts plus the other workers' snapshots."""

    def __init__(self, counters: Counters, others: Callable[[], list[dict]],
                 refresh: Callable[[], None] = lambda: None, extra: Callable[[], Iterable[object]] = tuple) -> None:
        self.counters = counters
        self.others = others
        self.refresh = refresh
        self.extra = extra

    def collect(self) -> Iterable[object]:
        self.refresh()
        yield from families(merge([self.counters.snapshot(), *self.others()]))
        yield from self.extra()


def blocklist_families(blocklist: "StoreBlocklist") -> Iterable[object]:
    entries = GaugeMetricFamily("fraudwall_blocklist_entries", "Names and networks each list holds.",
                                labels=("list",))
    imported = GaugeMetricFamily("fraudwall_blocklist_last_import_timestamp_seconds",
                                 "When each list was last imported (seconds since the epoch).", labels=("list",))
    for name, info in sorted(blocklist.lists.items()):
        entries.add_metric((name,), info.names + info.networks)
        if info.imported_at:
            imported.add_metric((name,), info.imported_at)
    fill = GaugeMetricFamily("fraudwall_blocklist_filter_fill_ratio", "Share of the Bloom filter's bits set.")
    fill.add_metric((), blocklist.fill_ratio)
    error = GaugeMetricFamily("fraudwall_blocklist_filter_false_positive_ratio",
                              "Expected share of unlisted names the filter sends to the exact store.")
    error.add_metric((), blocklist.expected_false_positive_ratio)
    generation = GaugeMetricFamily("fraudwall_blocklist_generation",
                                   "The store's change counter the lists in force reflect (moves with every list "
                                   "change, never back).")
    generation.add_metric((), blocklist.generation)
    return entries, imported, fill, error, generation


def build_info_family() -> GaugeMetricFamily:
    info = GaugeMetricFamily("fraudwall_build_info", "fraudwall's version.", labels=("version",))
    info.add_metric((fraudwall_version(),), 1)
    return info


