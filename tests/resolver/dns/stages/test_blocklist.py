"""The allowlist, blocklist and inspect stages with the sinkhole answers they build."""

import dns.rcode
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.dns.stages.allowlist import AllowlistStage
from fraudwall.resolver.dns.stages.blocklist import BlocklistStage
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import render
from fraudwall.resolver.dns.codes import AnswerKind, Trigger
from fraudwall.resolver.config import SinkholeSettings
from fraudwall.resolver.dns.stages.inspection import InspectStage
from fraudwall.resolver.dns.sinkhole import Sinkhole

from tests.resolver.helpers import FixedAnswer, ede_of, make_query, parse, run
from tests.resolver.helpers import policy as policy_of


def entry(name, action=Action.BLOCK, redirect=()):
    return Match(name, action, "fraud", name, "fraud.txt:1", 0.0, redirect)


class Lists(MemoryBlocklist):
    def __init__(self, entries=(), addresses=()):
        super().__init__(entries)
        self.addresses = {address: entry(address) for address in addresses}

    def match_address(self, address, lists=None):
        return self.addresses.get(address)


def chain(blocklist, allow=(), sinkhole=SinkholeSettings(), records=("www.example.org. 300 A 192.0.2.1",)):
    upstream = FixedAnswer(*records)
    holes = Sinkhole(sinkhole)
    stages = link(AllowlistStage(allow), BlocklistStage(blocklist, policy_of(holes)), InspectStage(blocklist, policy_of(holes)),
                  upstream)
    return stages, upstream


def test_blocked_name_and_its_subdomains_get_the_sinkhole():
    stage, upstream = chain(Lists([entry("fraud.example.net")]))
    for name in ("fraud.example.net", "a.b.fraud.example.net"):
        answer = run(stage.resolve(make_query(name)))
        assert answer.kind is AnswerKind.BLOCKED and answer.match.list == "fraud"
        assert parse(answer.body).answer[0][0].address == "0.0.0.0"
        assert parse(answer.body).answer[0].ttl == 60
    assert run(stage.resolve(make_query("example.net"))).kind is AnswerKind.RESOLVED
    assert upstream.calls == 1


def test_sinkhole_per_type_and_the_ede_reason():
    stage, _ = chain(Lists([entry("fraud.example.net")]), sinkhole=SinkholeSettings(ipv4="192.0.2.66", ipv6="2001:db8::66"))
    a = run(stage.resolve(make_query("fraud.example.net", "A")))
    aaaa = run(stage.resolve(make_query("fraud.example.net", "AAAA")))
    txt = run(stage.resolve(make_query("fraud.example.net", "TXT")))
    assert parse(a.body).answer[0][0].address == "192.0.2.66"
    assert parse(aaaa.body).answer[0][0].address == "2001:db8::66"
    assert parse(txt.body).rcode() == dns.rcode.NOERROR and not parse(txt.body).answer
    query = make_query("fraud.example.net", use_edns=0)
    wire = render(query, run(stage.resolve(query)).body, a.ede)
    assert ede_of(parse(wire)) == [(15, "listed in fraud (fraud.txt:1)")]


def test_aaaa_without_a_sinkhole_ipv6_is_nodata():
    stage, _ = chain(Lists([entry("fraud.example.net")]), sinkhole=SinkholeSettings(ipv6=""))
    reply = parse(run(stage.resolve(make_query("fraud.example.net", "AAAA"))).body)
    assert reply.rcode() == dns.rcode.NOERROR and not reply.answer


def test_nxdomain_and_refused_policies():
    for policy, rcode in (("nxdomain", dns.rcode.NXDOMAIN), ("refused", dns.rcode.REFUSED)):
        stage, _ = chain(Lists([entry("fraud.example.net")]), sinkhole=SinkholeSettings(policy=policy))
        assert parse(run(stage.resolve(make_query("fraud.example.net"))).body).rcode() == rcode


def test_entry_actions_nxdomain_nodata_drop_redirect():
    lists = Lists([entry("nx.example.net", Action.NXDOMAIN), entry("nodata.example.net", Action.NODATA),
                   entry("drop.example.net", Action.DROP),
                   entry("moved.example.net", Action.REDIRECT, ("192.0.2.80", "2001:db8::80"))])
    stage, _ = chain(lists)
    assert parse(run(stage.resolve(make_query("nx.example.net"))).body).rcode() == dns.rcode.NXDOMAIN
    assert not parse(run(stage.resolve(make_query("nodata.example.net"))).body).answer
    assert run(stage.resolve(make_query("drop.example.net"))).body is None
    assert parse(run(stage.resolve(make_query("moved.example.net"))).body).answer[0][0].address == "192.0.2.80"
    assert parse(run(stage.resolve(make_query("moved.example.net", "AAAA"))).body).answer[0][0].address == "2001:db8::80"


def test_allow_entry_under_a_blocked_parent_passes():
    stage, upstream = chain(Lists([entry("example.net"), entry("ok.example.net", Action.ALLOW)]))
    assert run(stage.resolve(make_query("ok.example.net"))).kind is AnswerKind.RESOLVED
    assert run(stage.resolve(make_query("bad.example.net"))).kind is AnswerKind.BLOCKED


def test_the_admins_allowlist_beats_every_list_and_the_inspection():
    lists = Lists([entry("fraud.example.net"), entry("cdn.example.com")])
    stage, _ = chain(lists, allow=("Fraud.Example.net.",),
                     records=("fraud.example.net. 300 CNAME cdn.example.com.", "cdn.example.com. 300 A 192.0.2.1"))
    assert run(stage.resolve(make_query("x.fraud.example.net"))).kind is AnswerKind.RESOLVED


def test_inspect_blocks_a_listed_cname_target():
    lists = Lists([entry("tracker.example.com")])
    stage, _ = chain(lists, records=("www.example.org. 300 CNAME cdn.tracker.example.com.",
                                     "cdn.tracker.example.com. 300 A 192.0.2.1"))
    answer = run(stage.resolve(make_query("www.example.org")))
    assert answer.kind is AnswerKind.BLOCKED
    assert answer.trigger is Trigger.CNAME_TARGET and answer.detail == "cdn.tracker.example.com"
    assert answer.match.name == "tracker.example.com"
    assert answer.ede[1] == "alias cdn.tracker.example.com listed in fraud (fraud.txt:1)"
    assert parse(answer.body).answer[0][0].address == "0.0.0.0"


def test_inspect_blocks_a_listed_address():
    stage, _ = chain(Lists(addresses=("192.0.2.1",)))
    answer = run(stage.resolve(make_query("www.example.org")))
    assert answer.kind is AnswerKind.BLOCKED and answer.trigger is Trigger.ANSWER_ADDRESS
    assert answer.detail == "192.0.2.1" and answer.ede[1] == "address 192.0.2.1 listed in fraud (fraud.txt:1)"


def test_demo_list_blocks_its_names():
    lists = MemoryBlocklist.from_files(["demo"])
    stage, _ = chain(lists)
    assert run(stage.resolve(make_query("icbc-tuikuan.example.com"))).kind is AnswerKind.BLOCKED
    assert run(stage.resolve(make_query("login.paypal-verify.example.net"))).kind is AnswerKind.BLOCKED
    assert run(stage.resolve(make_query("example.com"))).kind is AnswerKind.RESOLVED
