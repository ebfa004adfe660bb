"""policy: a client's address chooses its policy, first table first; caches and replays never cross policies."""

import dataclasses

import pytest
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.config import ConfigError, from_document
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codec import render
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.policy import DEFAULT_NAME, Policies
from fraudwall.resolver.dns.replay import ReplayMemo
from fraudwall.resolver.dns.stages.blocklist import BlocklistStage
from fraudwall.resolver.dns.stages.policy import PolicyStage

from tests.resolver.helpers import FixedAnswer, make_query, query_wire, run

TABLES = [
    {"name": "security", "clients": ["192.0.2.0/28", "2001:db8:5ec::/48"], "mode": "off"},
    {"name": "staff", "clients": ["192.0.2.0/24"], "scorer": "warn", "lists": ["phishing"]},
    {"name": "guests", "clients": ["198.51.100.0/24"], "sinkhole": {"policy": "nxdomain"}},
]
LISTED = Match("fraud.example.net", Action.BLOCK, "phishing", "fraud.example.net", "feed.txt:1", 0.0)
OTHER = Match("fraud.example.net", Action.BLOCK, "ads", "fraud.example.net", "ads.txt:1", 0.0)


def policies(tables=TABLES, **sections) -> Policies:
    return Policies(from_document({**sections, "policy": tables}, "test.toml"))


class OneEntry:
    def __init__(self, match):
        self.match = match

    def match_name(self, name, lists=None):
        return self.match if name.endswith(self.match.name) else None

    def match_address(self, address, lists=None):
        return None


def test_the_first_table_holding_the_address_decides_and_the_rest_get_the_default():
    chosen = policies()
    assert [chosen.select(client).name for client in ("192.0.2.3", "192.0.2.99", "198.51.100.7",
                                                       "2001:db8:5ec::1", "::ffff:192.0.2.3", "203.0.113.1", "")] == [
        "security", "staff", "guests", "security", "security", DEFAULT_NAME, DEFAULT_NAME]
    assert chosen.select("192.0.2.99").lists == frozenset({"phishing"})
    assert chosen.select("192.0.2.99").scorer == "warn" and chosen.select("192.0.2.3").scorer == "off"
    assert chosen.select("198.51.100.7").sinkhole.policy == "nxdomain"
    assert chosen.select("203.0.113.1").sinkhole.policy == "sinkhole"


def test_policies_that_decide_alike_share_a_cache_tag_and_the_others_do_not():
    chosen = policies(TABLES + [{"name": "lab", "clients": ["203.0.113.0/24"]}])
    tags = {policy.name: policy.tag for _, policy in chosen.chosen}
    assert tags["guests"] == tags["lab"] == chosen.default.tag == b""   # only the sinkhole differs
    assert len({tags["security"], tags["staff"], b""}) == 3


@pytest.mark.parametrize("table, message", [
    ({"name": "x", "clients": ["192.0.2.300/24"]}, "[[policy]] 1 clients: '192.0.2.300/24' is not an IP network"),
    ({"name": "x", "clients": ["192.0.2.0/24"], "mode": "loud"}, "[[policy]] 1 mode: must be block, warn or off"),
    ({"name": "x", "clients": ["192.0.2.0/24"], "colour": "red"}, "[[policy]] 1 colour: unknown key"),
    ({"name": "x", "clients": ["192.0.2.0/24"], "scorer": "maybe"}, "[[policy]] 1 scorer: must be block, warn or off"),
    ({"name": "x", "clients": []}, "[[policy]] 1 clients: needs at least one network"),
    ({"name": "Guests!", "clients": ["192.0.2.0/24"]}, "[[policy]] 1 name: 'Guests!' must be"),
    ({"name": "x", "clients": ["192.0.2.0/24"], "sinkhole": {"policy": "teapot"}},
     "[[policy]] 1 sinkhole: policy: must be sinkhole, nxdomain, nodata or refused"),
])
def test_a_wrong_table_is_one_line_naming_its_number_and_key(table, message):
    with pytest.raises(ConfigError) as error:
        from_document({"policy": [{"name": "ok", "clients": ["10.0.0.0/8"]}, table]}, "f.toml")
    assert str(error.value).startswith(f"f.toml: {message.replace('[[policy]] 1', '[[policy]] 2')}")
    assert "\n" not in str(error.value)


def test_a_policy_sinkhole_takes_the_rest_from_sinkhole_and_its_flags():
    config = from_document({"sinkhole": {"ipv4": "192.0.2.80"}, "policy": [
        {"name": "guests", "clients": ["198.51.100.0/24"], "sinkhole": {"ttl": 5}}]}, "f.toml")
    config = config.replace("sinkhole", ipv4="192.0.2.81")          # --sinkhole-ipv4 on the command line
    guests = Policies(config).select("198.51.100.1").sinkhole
    assert guests.ttl == 5 and guests._records[1][0].endswith(bytes([192, 0, 2, 81]))


def test_each_policy_gets_its_own_answer_for_one_listed_name():
    chosen = policies()
    upstream = FixedAnswer("fraud.example.net. 300 A 192.0.2.66")
    chain = link(PolicyStage(chosen), BlocklistStage(OneEntry(LISTED), chosen.default), upstream)
    answers = {client: run(chain.resolve(make_query("fraud.example.net", client=client)))
               for client in ("192.0.2.3", "192.0.2.99", "198.51.100.7", "203.0.113.1")}
    assert answers["192.0.2.3"].kind is AnswerKind.RESOLVED and answers["192.0.2.3"].warning.mode == "off"
    assert answers["192.0.2.99"].kind is AnswerKind.BLOCKED        # staff: the scorer warns, lists block
    assert answers["198.51.100.7"].kind is AnswerKind.BLOCKED and answers["198.51.100.7"].ede[1].endswith(
        "(policy guests)")
    assert {client: answer.policy for client, answer in answers.items()} == {
        "192.0.2.3": "security", "192.0.2.99": "staff", "198.51.100.7": "guests", "203.0.113.1": "default"}
    # A list the policy does not name is as no entry for its clients.
    chain = link(PolicyStage(chosen), BlocklistStage(OneEntry(OTHER), chosen.default), upstream)
    assert run(chain.resolve(make_query("fraud.example.net", client="192.0.2.99"))).kind is AnswerKind.RESOLVED
    assert run(chain.resolve(make_query("fraud.example.net", client="203.0.113.1"))).kind is AnswerKind.BLOCKED


def test_the_cache_key_carries_the_policy_tag():
    chosen = policies()
    seen = []

    class Keys(FixedAnswer):
        async def resolve(self, query):
            seen.append(query.key)
            return await super().resolve(query)

    chain = link(PolicyStage(chosen), Keys("www.example.org. 300 A 192.0.2.1"))
    for client in ("192.0.2.3", "192.0.2.99", "203.0.113.1", "198.51.100.7"):
        run(chain.resolve(make_query(client=client)))
    assert len(set(seen)) == 3 and seen[2] == seen[3] == make_query().key


def test_a_reply_is_replayed_only_to_a_client_of_the_same_policy():
    chosen = policies()
    memo = ReplayMemo(policy_of=chosen.select)
    data = query_wire("fraud.example.net")
    query = make_query("fraud.example.net", client="203.0.113.1")._replace(wire=data)
    answer = run(link(PolicyStage(chosen), BlocklistStage(OneEntry(LISTED), chosen.default),
                      FixedAnswer()).resolve(query))
    wire = render(query, answer.body)
    for _ in range(2):
        memo.keep(query, wire, answer, 0.0)
    assert memo.get(data, "203.0.113.9", 1.0) is not None          # another default client
    assert memo.get(data, "192.0.2.3", 1.0) is None                 # the security team
    assert memo.get(data, "198.51.100.7", 1.0) is None              # a guest: NXDOMAIN, not this


def test_a_list_name_no_list_has_is_told():
    from fraudwall.resolver.dns.policy import unknown_lists

    assert unknown_lists(policies().chosen, {"phishing": None}) == []
    assert unknown_lists(policies().chosen, {"phish": None}) == [
        "[[policy]] staff lists: no list named 'phishing' in the store; it applies once imported"]


def test_hundreds_of_policies_each_deciding_otherwise_get_tags_of_their_own():
    tables = [{"name": f"p{index}", "clients": [f"10.{index // 256}.{index % 256}.0/24"], "lists": [f"l{index}"]}
              for index in range(300)]
    assert len({policy.tag for _, policy in policies(tables).chosen}) == 300
