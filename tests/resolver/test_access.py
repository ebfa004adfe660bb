import dns.rcode
from fraudwall.resolver.access import AccessStage
from fraudwall.resolver.chain import link
from fraudwall.resolver.codes import AnswerKind

from tests.resolver.helpers import FixedAnswer, make_query, parse, run


def chain(networks=("127.0.0.0/8", "::1/128")):
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    return link(AccessStage(networks), upstream), upstream


def test_loopback_is_served_by_default():
    stage, upstream = chain()
    assert run(stage.resolve(make_query(client="127.0.0.1"))).kind is AnswerKind.RESOLVED
    assert run(stage.resolve(make_query(client="::1"))).kind is AnswerKind.RESOLVED


def test_other_clients_are_refused_and_nothing_is_forwarded():
    stage, upstream = chain()
    answer = run(stage.resolve(make_query(client="192.0.2.99")))
    assert answer.kind is AnswerKind.REFUSED
    assert parse(answer.body).rcode() == dns.rcode.REFUSED
    assert upstream.calls == 0


def test_configured_networks_and_ipv4_mapped_clients():
    stage, _ = chain(("192.0.2.0/24", "2001:db8::/32"))
    assert run(stage.resolve(make_query(client="192.0.2.5"))).kind is AnswerKind.RESOLVED
    assert run(stage.resolve(make_query(client="::ffff:192.0.2.5"))).kind is AnswerKind.RESOLVED
    assert run(stage.resolve(make_query(client="2001:db8::1"))).kind is AnswerKind.RESOLVED
    assert run(stage.resolve(make_query(client="127.0.0.1"))).kind is AnswerKind.REFUSED


def test_remembered_decision_stays_right():
    stage, _ = chain()
    for _ in range(3):
        assert run(stage.resolve(make_query(client="198.51.100.1"))).kind is AnswerKind.REFUSED
        assert run(stage.resolve(make_query(client="127.0.0.2"))).kind is AnswerKind.RESOLVED
