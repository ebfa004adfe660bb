"""The scorer stage: block verdicts sinkholed with the scorer as provenance, warnings marked, modes."""

import pytest
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import render
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.dns.stages.scorer import ScorerStage
from fraudwall.scoring.score import Verdict
from fraudwall.scoring.scorer import Scorer

from tests.resolver.helpers import FixedAnswer, ede_of, make_query, parse, policy, run


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def chain(scorer, blocks=True):
    upstream = FixedAnswer("x. 300 A 192.0.2.1")
    return link(ScorerStage(scorer, policy(scorer="block" if blocks else "warn")), upstream), upstream


def a_name_with(scorer, verdict):
    for name in ("paypa1.com", "icbc-tuikuan.top", "secure-paypal-login.top", "paypal-support.com",
                 "amaz0n-account.com", "appleid-verify.com", "login-microsoft.com", "binance-kefu.com",
                 "amazon-parcel.com", "account-update.top", "track-parcel.top", "wellsfargo.co"):
        if scorer.score(name).verdict is verdict:
            return name
    pytest.fail(f"no sample name scores {verdict}")


def test_a_block_verdict_is_sinkholed_with_the_scorer_as_reason(scorer):
    stage, upstream = chain(scorer)
    query = make_query("paypa1.com", use_edns=0)
    answer = run(stage.resolve(query))
    assert answer.kind is AnswerKind.SCORED and upstream.calls == 0
    assert answer.trigger is Trigger.SCORER and answer.match == scorer.score("paypa1.com")
    assert parse(answer.body).answer[0][0].address == "0.0.0.0"
    code, text = ede_of(parse(render(query, answer.body, answer.ede)))[0]
    assert code == 17 and "paypal.com" in text


def test_warn_only_mode_answers_and_marks_the_answer(scorer):
    stage, upstream = chain(scorer, blocks=False)
    answer = run(stage.resolve(make_query("paypa1.com")))
    assert answer.kind is AnswerKind.RESOLVED and upstream.calls == 1
    assert answer.warning.match.brand == "paypal.com" and answer.warning.mode == "warn"


def test_a_warn_verdict_is_answered_and_marked(scorer):
    name = a_name_with(scorer, Verdict.WARN)
    stage, upstream = chain(scorer)
    answer = run(stage.resolve(make_query(name)))
    assert answer.kind is AnswerKind.RESOLVED and answer.warning is not None


def test_ordinary_and_brand_names_pass_unmarked(scorer):
    stage, upstream = chain(scorer)
    for name in ("www.example.org", "www.paypal.com", "icbc.com.cn", "_dmarc.example.org", "1.0.0.127.in-addr.arpa"):
        answer = run(stage.resolve(make_query(name)))
        assert answer.kind is AnswerKind.RESOLVED and answer.warning is None, name


def test_allowed_queries_are_not_scored(scorer):
    stage, upstream = chain(scorer)
    answer = run(stage.resolve(make_query("paypa1.com")._replace(allowed=True)))
    assert answer.kind is AnswerKind.RESOLVED


class Judged:
    """The scorer, with the names it was asked to judge (around it: compiled, it takes no Python subclass)."""

    def __init__(self):
        self.scorer = Scorer()
        self.asked = []

    def score(self, name):
        self.asked.append(name)
        return self.scorer.score(name)


def test_a_new_subdomain_of_a_listed_name_is_answered_by_the_list_and_never_scored():
    from fraudwall.blocklists.memory import MemoryBlocklist
    from fraudwall.blocklists.verdict import Action, Match
    from fraudwall.resolver.dns.stages.blocklist import BlocklistStage

    judged = Judged()
    listed = MemoryBlocklist([Match("paypa1.com", Action.BLOCK, "fraud", "paypa1.com", "fraud.txt:1", 0.0)])
    upstream = FixedAnswer("x. 300 A 192.0.2.1")
    stage = link(BlocklistStage(listed, policy()), ScorerStage(judged, policy()), upstream)
    for name in ("paypa1.com", "x7f3k2.paypa1.com", "a.b.c.paypa1.com"):
        answer = run(stage.resolve(make_query(name)))
        assert answer.kind is AnswerKind.BLOCKED and answer.trigger is Trigger.NAME, name
    assert judged.asked == [] and upstream.calls == 0
    run(stage.resolve(make_query("paypa1.net")))
    assert judged.asked == ["paypa1.net"]
