"""Newly observed domains: a middling score counts when nobody on this network asked for the domain lately."""

import dataclasses

import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.seen import DAY, FILE_NAME, open_seen, read_seen
from fraudwall.resolver.config import Config, NodSettings
from fraudwall.resolver.dns import explain
from fraudwall.resolver.dns.answer import Withheld
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Trigger
from fraudwall.resolver.dns.decision import checker, decide, decision_stages, question
from fraudwall.resolver.dns.policy import Policies
from fraudwall.resolver.dns.stages.nod import NodStage
from fraudwall.resolver.dns.stages.scorer import ScorerStage
from fraudwall.resolver.observe.metrics import Counters
from fraudwall.resolver.observe.querylog import verdict_of
from fraudwall.scoring.score import Verdict
from fraudwall.scoring.scorer import Scorer

from tests.resolver.helpers import FixedAnswer, make_query, policy, run

MIDDLING = "account-verify.example.org"   # ~0.5: fraud words, under the scorer's warn_threshold (0.6)
WARNED = "account-verify.com"             # ~0.65: the scorer warns about it itself
START = 1_800_000_000.0 - 1_800_000_000.0 % DAY


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def scorer():
    scorer = Scorer()
    # What these tests are about: a middling score, and one the scorer warns about (a refit may move them).
    assert 0.3 <= scorer.score(MIDDLING).value < 0.6, f"{MIDDLING} is no longer middling: pick another name"
    assert scorer.score(WARNED).verdict is Verdict.WARN, f"{WARNED} is no longer warned: pick another name"
    return scorer


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def seen(tmp_path, clock):
    memory = open_seen(tmp_path / FILE_NAME, 10_000, 1, clock)
    yield memory
    memory.close()


def chain(seen, scorer, action="warn", client_policy=None):
    """The scorer and NOD stages as the resolver links them, over an upstream that answers everything."""
    chosen = client_policy or policy()
    nod = NodStage(seen, scorer, chosen, 0.3, action)
    return link(ScorerStage(scorer, chosen), nod, FixedAnswer("x.example.org. 300 A 192.0.2.1")), nod


def test_a_first_seen_domain_with_a_middling_score_is_warned_and_logged_as_newly_observed(seen, scorer):
    stages, nod = chain(seen, scorer)
    answer = run(stages.resolve(make_query(MIDDLING)))
    assert answer.kind is AnswerKind.RESOLVED and answer.steady_until == 0   # answered as usual, never replayed
    assert answer.warning == Withheld(Trigger.SCORER, scorer.score(MIDDLING), "example.org", "warn")
    assert verdict_of(answer) == "warned"
    reason, label = explain.log_columns(answer.trigger, answer.match, answer.detail, answer.warning)
    assert reason == f"newly observed: example.org is new to this network; {explain.scored(scorer.score(MIDDLING))}"
    assert reason.startswith("newly observed: example.org is new to this network; scored 0.")
    assert label == "newly-observed"
    assert nod.observed == {"warn": 1, "block": 0, "none": 0}


def test_the_same_domain_asked_again_or_the_next_day_is_not_new(seen, scorer, clock):
    stages, nod = chain(seen, scorer)
    run(stages.resolve(make_query(MIDDLING)))
    assert run(stages.resolve(make_query(MIDDLING))).warning is None
    assert run(stages.resolve(make_query("login.example.org"))).warning is None   # same registrable domain
    clock.now += DAY
    assert run(stages.resolve(make_query(MIDDLING))).warning is None
    clock.now += 3 * DAY                                   # nobody asked for two whole days: new again
    assert run(stages.resolve(make_query(MIDDLING))).warning is not None
    assert nod.observed["warn"] == 2


def test_a_low_score_is_remembered_and_counted_but_not_warned(seen, scorer):
    stages, nod = chain(seen, scorer)
    assert run(stages.resolve(make_query("www.example.net"))).warning is None
    assert seen.seen("example.net")
    assert nod.observed == {"warn": 0, "block": 0, "none": 1}


def test_a_name_the_scorer_warns_about_keeps_the_scorers_reason(seen, scorer):
    stages, nod = chain(seen, scorer)
    answer = run(stages.resolve(make_query(WARNED)))
    assert answer.warning == scorer.score(WARNED)
    assert nod.observed["none"] == 1 and seen.seen(WARNED)


def test_action_block_sinkholes_a_first_sighting_with_the_reason_on_the_ede(seen, scorer):
    stages, nod = chain(seen, scorer, action="block")
    answer = run(stages.resolve(make_query(MIDDLING)))
    assert answer.kind is AnswerKind.SCORED and answer.steady_until == 0   # never replayed
    assert answer.ede == (EDECode.FILTERED, "newly observed: example.org is new to this network; "
                                            + explain.scored(scorer.score(MIDDLING)))
    assert explain.blocked_labels(answer) == ("scorer", "newly-observed", "default")
    assert run(stages.resolve(make_query(MIDDLING))).kind is AnswerKind.RESOLVED   # seen now
    assert nod.observed["block"] == 1


def test_a_policy_whose_scorer_only_warns_turns_a_block_into_a_warning(seen, scorer):
    stages, nod = chain(seen, scorer, action="block", client_policy=policy(scorer="warn"))
    answer = run(stages.resolve(make_query(MIDDLING)))
    assert answer.kind is AnswerKind.RESOLVED and answer.warning.detail == "example.org"


def test_a_policy_with_the_scorer_off_remembers_without_acting(seen, scorer):
    stages, nod = chain(seen, scorer, client_policy=policy(scorer="off", mode="off"))
    assert run(stages.resolve(make_query(MIDDLING))).warning is None
    assert seen.seen("example.org") and nod.observed["none"] == 1


def test_a_name_a_list_allows_is_neither_remembered_nor_judged(seen, scorer):
    config = Config(allowlist=dataclasses.replace(Config().allowlist, names=("example.org",)))
    stages = link(*decision_stages(config, MemoryBlocklist([]), scorer, Policies(config), seen),
                  FixedAnswer("x.example.org. 300 A 192.0.2.1"))
    assert run(stages.resolve(make_query(MIDDLING))).warning is None
    assert not seen.seen("example.org")


def test_metrics_count_newly_observed_warnings_apart_from_withheld_blocks(seen, scorer):
    stages, _ = chain(seen, scorer)
    counters = Counters()
    query = make_query(MIDDLING)
    counters.observe_answer(query, run(stages.resolve(query)), 0.001)
    assert counters.counters["fraudwall_warned"] == {}
    assert dict(counters.counters["fraudwall_scorer_verdicts"]) == {("warn", "newly-observed"): 1}


def test_check_runs_the_stage_without_remembering(tmp_path, scorer, clock):
    config = Config(nod=NodSettings(days=1))
    open_seen(tmp_path / FILE_NAME, 10_000, 1, clock).close()
    readonly = read_seen(tmp_path / FILE_NAME, clock)
    checking = checker(config, MemoryBlocklist([]), scorer, Policies(config), seen=readonly)
    for _ in range(2):   # asked twice, new both times: check never marks
        answer = decide(checking, question(MIDDLING))
        assert answer.warning is not None and answer.warning.detail == "example.org"
    assert not readonly.seen("example.org")


@pytest.mark.parametrize("table, message", [
    ({"action": "drop"}, "[nod] action: must be warn or block, not 'drop'"),
    ({"threshold": 0}, "[nod] threshold: must be above 0 and at most 1"),
    ({"days": 0}, "[nod] days: must be from 1 to 366"),
    ({"size": 10}, "[nod] size: must be from 1000 to 100000000 domains"),
    ({"enabled": "yes"}, "[nod] enabled: must be true or false, not 'yes'"),
])
def test_a_wrong_nod_setting_is_one_line_naming_the_key(table, message):
    from fraudwall.resolver.config import ConfigError, from_document

    with pytest.raises(ConfigError) as raised:
        from_document({"nod": table}, "fraudwall.toml")
    assert str(raised.value) == f"fraudwall.toml: {message}"
