"""Clients at risk: people who keep reaching fraud names, flagged for a call back.

A client is at risk when, within one window (24 h by default), it tried to reach
`distinct_names` different blocked fraud names, or it was blocked after the scorer had
warned it about a brand look-alike. `assess` is a pure function over query log entries;
`AtRiskWatcher` runs it now and then off the query path and tells a webhook, with
retries and back-off, about each client newly at risk.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections import defaultdict
from typing import Callable, Iterable, NamedTuple

from fraudwall.resolver.observe.querylog import LogEntry, QueryLog

log = logging.getLogger(__name__)

BLOCKED_VERDICTS = ("blocked", "scored")
# Scorer rules that mean "imitates a brand", as opposed to shape, words or TLD alone.
LOOKALIKE_RULES = ("typosquat", "homoglyph", "combosquat", "brand-subdomain", "tld-swap")


class AtRiskClient(NamedTuple):
    client: str
    trigger: str                      # why, in words an operator acts on
    first: float                      # the first and last fraud attempt in the report
    last: float
    attempts: tuple[LogEntry, ...]    # the blocked and warned names it tried, oldest first
    policy: str = ""                  # its `[[policy]]` at the last attempt; "" when none is configured

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(entry.name for entry in self.attempts))


def assess(entries: Iterable[LogEntry], distinct_names: int = 5, window_seconds: float = 86_400.0,
           after_warning: bool = True) -> list[AtRiskClient]:
    """The clients at risk among `entries`, most recent attempt first."""
    by_client: dict[str, list[LogEntry]] = defaultdict(list)
    for entry in entries:
        if entry.verdict in BLOCKED_VERDICTS or entry.verdict == "warned":
            by_client[entry.client].append(entry)
    flagged = []
    for client, attempts in by_client.items():
        attempts.sort(key=lambda entry: entry.time)
        trigger = _trigger(attempts, distinct_names, window_seconds, after_warning)
        if trigger:
            policy = attempts[-1].policy
            if policy:
                # In the words the report prints: whoever calls back sees which rules the client is under.
                trigger = f"{trigger} (policy {policy})"
            flagged.append(AtRiskClient(client, trigger, attempts[0].time, attempts[-1].time, tuple(attempts),
                                        policy))
    flagged.sort(key=lambda client: -client.last)
    return flagged


def _trigger(attempts: list[LogEntry], distinct_names: int, window: float, after_warning: bool) -> str:
    blocked = [entry for entry in attempts if entry.verdict in BLOCKED_VERDICTS]
    start = 0
    for end, entry in enumerate(blocked):
        while entry.time - blocked[start].time > window:
            start += 1
        names = {other.name for other in blocked[start:end + 1]}
        if len(names) >= distinct_names:
            return f"{len(names)} distinct fraud names blocked within {window / 3600:g} h"
    if after_warning:
        for warning in attempts:
            if warning.verdict == "warned" and warning.label in LOOKALIKE_RULES:
                for entry in blocked:
                    if warning.time <= entry.time <= warning.time + window:
                        return (f"blocked ({entry.name}) after a look-alike warning for {warning.name}")
    return ""


def as_json(client: AtRiskClient) -> dict:
    return {
        "client": client.client, "trigger": client.trigger, "policy": client.policy,
        "first": client.first, "last": client.last,
        "names": list(client.names),
        "attempts": [{"time": entry.time, "name": entry.name, "qtype": entry.qtype, "verdict": entry.verdict,
                      "reason": entry.reason, "list": entry.label, "policy": entry.policy}
                     for entry in client.attempts],
    }


def post_json(url: str, document: dict, timeout: float = 5.0) -> None:
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "fraudwall"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


class AtRiskWatcher:
    """Looks at the query log now and then; counts clients at risk; tells the webhook about new ones.

    Runs in a worker thread (SQLite and HTTP block); `check` never raises.
    """

    def __init__(self, log_path: str, distinct_names: int, window_seconds: float, after_warning: bool,
                 webhook: str = "", attempts: int = 5, backoff: float = 2.0,
                 post: Callable[[str, dict], None] = post_json, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.log_path = log_path
        self.distinct_names = distinct_names
        self.window_seconds = window_seconds
        self.after_warning = after_warning
        self.webhook = webhook
        self.attempts = attempts
        self.backoff = backoff
        self.post = post
        self.clock = clock
        self.sleep = sleep
        self.notified: dict[str, float] = {}
        self.count = 0

    def check(self) -> list[AtRiskClient]:
        now = self.clock()
        try:
            querylog = QueryLog(self.log_path)
            try:
                entries = querylog.read(now - self.window_seconds, limit=500_000)
            finally:
                querylog.close()
        except Exception:  # noqa: BLE001 - a broken log must not stop the resolver
            log.exception("cannot read the query log %s", self.log_path)
            return []
        flagged = assess(entries, self.distinct_names, self.window_seconds, self.after_warning)
        self.count = len(flagged)
        self.notified = {client: at for client, at in self.notified.items() if now - at < self.window_seconds}
        for client in flagged:
            if client.client not in self.notified:
                self.notified[client.client] = now
                if self.webhook:
                    self._notify(client)
        return flagged

    def _notify(self, client: AtRiskClient) -> None:
        document = {"event": "fraudwall.at_risk", **as_json(client)}
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                self.post(self.webhook, document)
                return
            except Exception as error:  # noqa: BLE001 - every failure is retried the same way
                log.warning("webhook %s failed (try %d of %d): %s", self.webhook, attempt, self.attempts, error)
                if attempt < self.attempts:
                    self.sleep(delay)
                    delay *= 2
