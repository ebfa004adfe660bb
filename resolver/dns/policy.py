"""policy: which rules decide a client's queries, chosen once per query by the client's address.

`[[policy]]` tables select clients by network, the first that holds the address wins; every
other client gets the default policy (every list, `[scorer] mode`, `[sinkhole]`). A `Policy` is
frozen data: the policy stage puts it on the query, and the blocking stages read it from there,
so no stage knows about networks and `fraudwall check --client` runs the same selection.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from fraudwall.blocklists.store import MANUAL_LIST
from fraudwall.blocklists.verdict import Match
from fraudwall.resolver.dns.sinkhole import Sinkhole
from fraudwall.resolver.dns.stages.access import REMEMBERED_CLIENTS, client_address, parse_networks

if TYPE_CHECKING:
    from fraudwall.resolver.config import Config

BLOCK, WARN, OFF = "block", "warn", "off"
DEFAULT_NAME = "default"
# `[scorer] mode` as a policy's scorer setting.
_SCORER_BY_MODE = {"block": BLOCK, "warn-only": WARN, "off": OFF}


class Policy(NamedTuple):
    name: str
    mode: str                      # block | warn (answer, log and count) | off (answer, log only)
    lists: frozenset[str] | None   # the lists that apply; None: all (the operator's own entries always do)
    scorer: str                    # block | warn | off, as the mode leaves it: a warn policy never blocks
    sinkhole: Sinkhole
    # Appended to the cache key of the queries it decides: policies that could decide an upstream
    # answer differently never share a cached one ("" for the default).
    tag: bytes = b""

    def applies(self, match: Match) -> bool:
        """Whether a list entry counts for this policy's clients."""
        lists = self.lists
        return lists is None or match.list in lists or match.list == MANUAL_LIST


def default_policy(config: Config) -> Policy:
    return Policy(DEFAULT_NAME, BLOCK, None, _SCORER_BY_MODE[config.scorer.mode], Sinkhole(config.sinkhole))


def policies_of(config: Config) -> tuple[tuple[tuple, Policy], ...]:
    """The `[[policy]]` tables in order, each as (its networks, its Policy)."""
    chosen = []
    tags: dict[tuple, bytes] = {(BLOCK, None, _SCORER_BY_MODE[config.scorer.mode]): b""}
    for settings in config.policy:
        scorer = settings.scorer or _SCORER_BY_MODE[config.scorer.mode]
        if settings.mode == OFF:
            scorer = OFF
        elif settings.mode == WARN and scorer == BLOCK:
            scorer = WARN
        lists = frozenset(settings.lists) if settings.lists is not None else None
        # What decides an answer below the cache (inspection): the mode, the lists and the scorer.
        # The sinkhole does not: sinkholed answers are never cached.
        tag = tags.setdefault((settings.mode, lists, scorer), len(tags).to_bytes(2, "big"))
        sinkhole = Sinkhole(dataclasses.replace(config.sinkhole, **dict(settings.sinkhole)))
        chosen.append((parse_networks(settings.clients), Policy(settings.name, settings.mode, lists, scorer,
                                                                 sinkhole, tag)))
    return tuple(chosen)


def unknown_lists(chosen: tuple[tuple[tuple, Policy], ...], known: set[str] | dict) -> list[str]:
    """One line per `[[policy]] lists` name that no list in the store has: a typo applies nothing."""
    return [f"[[policy]] {policy.name} lists: no list named {name!r} in the store; it applies once imported"
            for _, policy in chosen for name in sorted((policy.lists or frozenset()) - set(known) - {MANUAL_LIST})]


def select(chosen: tuple[tuple[tuple, Policy], ...], default: Policy, client: str) -> Policy:
    """The policy of `client` (an address as the listeners write it): the first whose networks hold it."""
    address = client_address(client)
    if address is not None:
        for networks, policy in chosen:
            if any(address in network for network in networks):
                return policy
    return default


class Policies:
    """`select` with its answers remembered per client address: parsing an address costs more than a query."""

    def __init__(self, config: Config) -> None:
        self.default = default_policy(config)
        self.chosen = policies_of(config)
        self.names = (DEFAULT_NAME, *(policy.name for _, policy in self.chosen))
        self._selected: dict[str, Policy] = {}

    def __bool__(self) -> bool:
        """Whether any `[[policy]]` table is configured (else every client gets the default)."""
        return bool(self.chosen)

    def select(self, client: str) -> Policy:
        policy = self._selected.get(client)
        if policy is None:
            policy = select(self.chosen, self.default, client)
            if len(self._selected) >= REMEMBERED_CLIENTS:
                self._selected.clear()
            self._selected[client] = policy
        return policy

