"""explain: every trigger rendered as the EDE text, the query log's columns, the metric labels and the page's reason."""

import pytest
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns import explain
from fraudwall.resolver.dns.answer import Answer
from fraudwall.resolver.dns.codes import AnswerKind, EDECode, Trigger
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.scoring.score import Score, Verdict

LISTED = Match("fraud.example.net", Action.BLOCK, "demo", "fraud.example.net",
               "/srv/feeds/demo-blocklist.txt:5", 1_700_000_000.0)
NETWORK = Match("192.0.2.0/24", Action.BLOCK, "ipfeed", "192.0.2.0/24", "https://feeds.example.org/ip.txt:9", 0.0)
SCORE = Score(0.9, Verdict.BLOCK, "paypal.com", ("homoglyph of paypal.com", "words"), "homoglyph")
WARNED = Score(0.7, Verdict.WARN, "paypal.com", ("paypal plus other words",), "combosquat")

# trigger: (the answer it decides, its EDE, the query log's (reason, label), fraudwall_blocked_total's labels)
RENDERED = {
    Trigger.NAME: (Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, LISTED),
                   (EDECode.BLOCKED, "listed in demo (demo-blocklist.txt:5)"),
                   ("listed in demo (demo-blocklist.txt:5)", "demo"), ("name", "demo", "default")),
    Trigger.CNAME_TARGET: (Answer(AnswerKind.BLOCKED, b"", Trigger.CNAME_TARGET, LISTED, "cdn.fraud.example.net"),
                           (EDECode.BLOCKED, "alias cdn.fraud.example.net listed in demo (demo-blocklist.txt:5)"),
                           ("alias cdn.fraud.example.net listed in demo (demo-blocklist.txt:5)", "demo"),
                           ("cname", "demo", "default")),
    Trigger.ANSWER_ADDRESS: (Answer(AnswerKind.BLOCKED, b"", Trigger.ANSWER_ADDRESS, NETWORK, "192.0.2.10"),
                             (EDECode.BLOCKED, "address 192.0.2.10 listed in ipfeed (ip.txt:9)"),
                             ("address 192.0.2.10 listed in ipfeed (ip.txt:9)", "ipfeed"), ("address", "ipfeed", "default")),
    Trigger.SCORER: (Answer(AnswerKind.SCORED, b"", Trigger.SCORER, SCORE),
                     (EDECode.FILTERED, "scored 0.90: homoglyph of paypal.com"),
                     ("scored 0.90: homoglyph of paypal.com", "homoglyph"), ("scorer", "homoglyph", "default")),
    Trigger.ACCESS: (Answer(AnswerKind.REFUSED, b"", Trigger.ACCESS),
                     (EDECode.PROHIBITED, "client network not served"), ("client network not served", "access"), None),
    Trigger.RATE_LIMIT: (Answer(AnswerKind.LIMITED, b"", Trigger.RATE_LIMIT, detail="truncate"),
                         None, ("rate limited", "truncate"), None),   # never larger than the query: no EDE
    Trigger.ANY_OVER_UDP: (Answer(AnswerKind.LOCAL, b"", Trigger.ANY_OVER_UDP),
                           None, ("RFC 8482: ANY over UDP", "any"), None),
    Trigger.ZONE_TRANSFER: (Answer(AnswerKind.LOCAL, b"", Trigger.ZONE_TRANSFER),
                            None, ("zone transfer not served", "transfer"), None),
    Trigger.DOH_CANARY: (Answer(AnswerKind.LOCAL, b"", Trigger.DOH_CANARY),
                         None, ("DoH canary: browsers keep using this resolver", "canary"), None),
    Trigger.OTHER_CLASS: (Answer(AnswerKind.LOCAL, b"", Trigger.OTHER_CLASS, detail=3),
                          None, ("class 3 not served", "class"), None),
    Trigger.NO_UPSTREAM: (Answer(AnswerKind.SERVFAIL, b"", Trigger.NO_UPSTREAM),
                          (EDECode.NO_REACHABLE_AUTHORITY, "no upstream answered"),
                          ("no upstream answered", "upstream"), None),
    Trigger.OVERLOAD: (Answer(AnswerKind.OVERLOADED, b"", Trigger.OVERLOAD, detail="client"),
                       (EDECode.OTHER, "too many queries in flight"), ("too many queries in flight", "client"), None),
    Trigger.INTERNAL_ERROR: (Answer(AnswerKind.SERVFAIL, b"", Trigger.INTERNAL_ERROR),
                             (EDECode.NO_REACHABLE_AUTHORITY, "internal error"), ("internal error", "error"), None),
    Trigger.STALE: (Answer(AnswerKind.STALE, b"", Trigger.STALE),
                    (EDECode.STALE_ANSWER, "no upstream answered; answer expired"),
                    ("no upstream answered; answer expired", "stale"), None),
    Trigger.UPSTREAM: (Answer(AnswerKind.RESOLVED, b""), None, ("", ""), None),
    Trigger.CACHE: (Answer(AnswerKind.CACHED, b"", Trigger.CACHE), None, ("", ""), None),
}


def test_every_trigger_is_rendered():
    assert set(RENDERED) == set(Trigger)


@pytest.mark.parametrize("trigger", list(Trigger), ids=lambda trigger: trigger.name)
def test_the_ede_the_log_columns_and_the_metric_labels(trigger):
    answer, ede, log, blocked = RENDERED[trigger]
    assert answer.trigger is trigger
    assert explain.ede(answer) == answer.ede == ede
    assert explain.log_columns(answer.trigger, answer.match, answer.detail, answer.warning) == log
    if blocked is not None:
        assert explain.blocked_labels(answer) == blocked


@pytest.mark.parametrize("trigger", sorted(explain.LIST_TRIGGERS, key=lambda t: t.name), ids=lambda t: t.name)
def test_a_list_block_on_the_page_says_which_list_why_and_since_when(trigger):
    answer, ede, _, _ = RENDERED[trigger]
    reason = BlockReason.of("www.example.org", answer.trigger, answer.match, answer.detail)
    assert reason == BlockReason("www.example.org", "list", answer.match.list, ede[1], "",
                                 answer.match.added or None)


def test_a_scorer_block_on_the_page_names_the_rule_and_the_brand():
    reason = BlockReason.of("paypa1.com", Trigger.SCORER, SCORE)
    assert reason == BlockReason("paypa1.com", "scorer", "homoglyph", "scored 0.90: homoglyph of paypal.com",
                                 "paypal.com", None)


def test_a_warning_is_logged_with_its_score_whatever_answered_the_query():
    for answer in (Answer(AnswerKind.RESOLVED, b"", warning=WARNED),
                   Answer(AnswerKind.SERVFAIL, b"", Trigger.NO_UPSTREAM, warning=WARNED)):
        assert explain.log_columns(answer.trigger, answer.match, answer.detail, answer.warning) == (
            "scored 0.70: paypal plus other words", "combosquat")
        assert explain.verdict_labels(answer) == ("warn", "combosquat")
    # The EDE of the reply still says what happened to it, not the warning.
    assert Answer(AnswerKind.SERVFAIL, b"", Trigger.NO_UPSTREAM, warning=WARNED).ede[1] == "no upstream answered"


def test_scorer_verdict_labels():
    assert explain.verdict_labels(RENDERED[Trigger.SCORER][0]) == ("block", "homoglyph")
    assert explain.verdict_labels(RENDERED[Trigger.NAME][0]) is None


def test_a_score_without_reasons_still_reads_as_a_reason():
    bare = Score(0.95, Verdict.BLOCK, None, (), "shape")
    assert explain.text(Trigger.SCORER, bare) == "scored 0.95: fraud-like name"
    assert BlockReason.of("x.example.net", Trigger.SCORER, bare).brand == ""


def test_the_operators_reason_is_what_people_read():
    manual = Match("bad.example.net", Action.BLOCK, "manual", "reported by helpdesk ticket 42", "cli", 0.0)
    answer = Answer(AnswerKind.BLOCKED, b"", Trigger.NAME, manual)
    assert answer.ede == (EDECode.BLOCKED, "listed in manual (cli): reported by helpdesk ticket 42")
    assert BlockReason.of("bad.example.net", Trigger.NAME, manual).reason == answer.ede[1]
    # Without --reason the rule is the name itself: nothing more to say.
    assert explain.listed(manual._replace(rule="bad.example.net")) == "listed in manual (cli)"


def test_a_policy_is_named_in_the_ede_and_the_metric_labels():
    answer = RENDERED[Trigger.NAME][0]._replace(policy="guests")
    assert answer.ede == (EDECode.BLOCKED, "listed in demo (demo-blocklist.txt:5) (policy guests)")
    assert explain.blocked_labels(answer) == ("name", "demo", "guests")


def test_a_long_chinese_reason_is_cut_at_a_character_in_the_ede():
    from fraudwall.resolver.dns.codec import make_reply, render

    from tests.resolver.helpers import ede_of, make_query, parse

    manual = Match("bad.example.net", Action.BLOCK, "manual", "用户举报的诈骗网站" * 20, "cli", 0.0)
    query = make_query("bad.example.net", use_edns=0)
    body = make_reply(query, 0)
    [(code, text)] = ede_of(parse(render(query, body, Answer(AnswerKind.BLOCKED, body, Trigger.NAME, manual).ede)))
    assert code == 15 and text.startswith("listed in manual (cli): 用户举报") and len(text.encode()) <= 200
