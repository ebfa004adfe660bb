"""Why a name is blocked, as the warning page asks: the lists, the scorer, or a block just given."""

import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.warning.provenance import Provenance
from fraudwall.scoring.scorer import Scorer

from tests.resolver.helpers import make_query


def entry(name, action=Action.BLOCK):
    return Match(name, action, "phish", name, "/srv/feeds/phish.txt:12", 1_700_000_000.0)


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def test_a_listed_name_is_explained_by_its_list_line_and_date(scorer):
    provenance = Provenance(MemoryBlocklist([entry("fraud.example.net")]), scorer, True)
    reason = provenance.explain("login.fraud.example.net")
    assert reason.source_kind == "list" and reason.label == "phish"
    assert reason.reason == "listed in phish (phish.txt:12)"
    assert reason.since == 1_700_000_000.0


def test_an_allowed_or_unknown_name_is_not_explained(scorer):
    provenance = Provenance(MemoryBlocklist([entry("example.net"), entry("ok.example.net", Action.ALLOW)]),
                            scorer, True)
    assert provenance.explain("ok.example.net") is None
    assert provenance.explain("www.example.org") is None


def test_a_scorer_block_names_the_rule_and_the_brand(scorer):
    reason = Provenance(MemoryBlocklist(), scorer, True).explain("paypa1.com")
    assert reason.source_kind == "scorer" and reason.brand == "paypal.com"
    assert "paypal" in reason.reason
    assert Provenance(MemoryBlocklist(), scorer, False).explain("paypa1.com") is None  # warn-only mode


def test_a_block_by_cname_target_is_remembered_from_the_answer(scorer):
    provenance = Provenance(MemoryBlocklist(), scorer, True, size=2)
    answer = Answer(AnswerKind.BLOCKED, b"", Trigger.CNAME_TARGET, entry("example.net"), "cdn.example.net")
    provenance.observe(make_query("www.example.org"), answer, 0.001)
    reason = provenance.explain("www.example.org")
    assert reason.reason == "alias cdn.example.net listed in phish (phish.txt:12)" == answer.ede[1]
    assert reason.source_kind == "list" and reason.label == "phish" and reason.since == 1_700_000_000.0
    for name in ("a.example.org", "b.example.org"):
        provenance.observe(make_query(name), answer, 0.001)
    assert provenance.explain("www.example.org") is None  # bounded: the oldest is forgotten


def test_a_list_change_forgets_the_blocks_remembered_from_answers():
    from fraudwall.resolver.config import Config
    from fraudwall.resolver.server.worker import Resolver
    from fraudwall.resolver.dns.upstream_policy import Upstream
    from fraudwall.resolver.warning.settings import WarningSettings
    from fraudwall.scoring.settings import ScorerSettings

    config = Config(warning=WarningSettings(listen=("127.0.0.1:8080",)), scorer=ScorerSettings(mode="off"))
    resolver = Resolver(config, MemoryBlocklist(), (Upstream("127.0.0.1", 9),))
    network = Match("192.0.2.0/24", Action.BLOCK, "ipfeed", "192.0.2.0/24", "ip.txt:1", 0.0)
    answer = Answer(AnswerKind.BLOCKED, b"", Trigger.ANSWER_ADDRESS, network, "192.0.2.10")
    resolver.provenance.observe(make_query("www.example.org"), answer, 0.001)
    assert resolver.provenance.explain("www.example.org").label == "ipfeed"
    # What a list change and SIGHUP call: the address may be off the list now, so the name is not blocked.
    resolver.on_generation(1)
    assert resolver.provenance.explain("www.example.org") is None
