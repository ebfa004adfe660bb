import dns.message
import dns.rcode
import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.resolver import config
from fraudwall.resolver.dns.stages.access import AccessStage
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codes import AnswerKind, Transport
from fraudwall.resolver.config import AccessSettings, Config, ConfigError
from fraudwall.resolver.server.worker import Resolver
from fraudwall.resolver.dns.upstream_policy import Upstream

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


# ---------------------------------------------------------------- deny and action

def test_deny_wins_over_allow():
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    stage = link(AccessStage(("10.20.0.0/16", "2001:db8::/32"), deny=("10.20.3.4", "2001:db8:bad::/48")), upstream)
    assert run(stage.resolve(make_query(client="10.20.3.5"))).kind is AnswerKind.RESOLVED
    for client in ("10.20.3.4", "::ffff:10.20.3.4", "2001:db8:bad::1"):
        answer = run(stage.resolve(make_query(client=client)))
        assert answer.kind is AnswerKind.REFUSED
        assert parse(answer.body).rcode() == dns.rcode.REFUSED
    assert upstream.calls == 1
    assert not stage.allows("10.20.3.4") and stage.allows("10.20.3.5")


def test_drop_sends_nothing_to_a_refused_client():
    upstream = FixedAnswer("www.example.org. 300 A 192.0.2.1")
    stage = link(AccessStage(("127.0.0.0/8",), deny=("127.0.0.3",), action="drop"), upstream)
    for client in ("192.0.2.99", "127.0.0.3"):
        answer = run(stage.resolve(make_query(client=client)))
        assert answer.kind is AnswerKind.REFUSED and answer.body is None
    assert run(stage.resolve(make_query(client="127.0.0.1"))).kind is AnswerKind.RESOLVED
    assert upstream.calls == 1


def test_a_client_string_that_is_no_address_is_refused():
    stage, upstream = chain()
    assert run(stage.resolve(make_query(client="not-an-address"))).kind is AnswerKind.REFUSED
    assert upstream.calls == 0


def test_settings_check_deny_and_action():
    assert AccessSettings().deny == () and AccessSettings().action == "refuse"
    with pytest.raises(ValueError, match="deny: '10.0.0.0/33'"):
        AccessSettings(deny=("10.0.0.0/33",))
    with pytest.raises(ValueError, match="action: must be refuse or drop"):
        AccessSettings(action="reject")


def test_config_file_errors_name_the_access_key(tmp_path):
    path = tmp_path / "fraudwall.toml"
    path.write_text("[access]\naction = 'ignore'\n")
    with pytest.raises(ConfigError, match=r"fraudwall.toml: \[access\] action"):
        config.load(path)
    path.write_text("[access]\ndeny = ['127.0.0.3']\naction = 'drop'\n")
    loaded = config.load(path)
    assert loaded.access.deny == ("127.0.0.3",) and loaded.access.action == "drop"


def test_a_denied_client_gets_no_replay_of_another_clients_reply():
    settings = AccessSettings(allow=("192.0.2.0/24",), deny=("192.0.2.66",), action="drop")
    resolver = Resolver(Config(access=settings), MemoryBlocklist.from_files(["demo"]), (Upstream("127.0.0.1", 9),))
    wire = dns.message.make_query("icbc-tuikuan.example.com", "A").to_wire()
    for _ in range(3):     # answered twice, then kept and replayed
        sent = []
        resolver.handler.handle(wire, "192.0.2.1", Transport.UDP, sent.append)
        assert parse(sent[0]).rcode() == dns.rcode.NOERROR
    assert len(resolver.handler.replays) == 1
    sent = []
    resolver.handler.handle(wire, "192.0.2.66", Transport.UDP, sent.append)
    assert sent == []


def test_a_denied_client_gets_no_formerr_for_a_malformed_message():
    settings = AccessSettings(allow=("192.0.2.0/24",), deny=("192.0.2.66",), action="drop")
    resolver = Resolver(Config(access=settings), MemoryBlocklist.from_files(["demo"]), (Upstream("127.0.0.1", 9),))
    two_questions = bytearray(dns.message.make_query("www.example.org", "A").to_wire())
    two_questions[5] = 2   # QDCOUNT 2: FORMERR for a served client
    for client, expected in (("192.0.2.1", 1), ("192.0.2.66", 0), ("198.51.100.7", 0)):
        sent = []
        resolver.handler.handle(bytes(two_questions), client, Transport.UDP, sent.append)
        assert len(sent) == expected, client
    sent = []
    resolver.handler.handle(bytes(two_questions), "192.0.2.1", Transport.UDP, sent.append)
    assert parse(sent[0]).rcode() == dns.rcode.FORMERR
