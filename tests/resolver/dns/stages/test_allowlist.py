"""The admin's allowlist: a name and the names below it pass, spelled as the lists spell names."""

from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.config import SinkholeSettings
from fraudwall.resolver.dns.chain import link
from fraudwall.resolver.dns.codes import AnswerKind
from fraudwall.resolver.dns.sinkhole import Sinkhole
from fraudwall.resolver.dns.stages.allowlist import AllowlistStage, covers
from fraudwall.resolver.dns.stages.blocklist import BlocklistStage

from tests.resolver.helpers import FixedAnswer, make_query, policy, run


def test_covers_the_name_and_the_names_below_it():
    names = frozenset({"xn--fa-hia.de"})
    assert covers(names, "xn--fa-hia.de") and covers(names, "www.xn--fa-hia.de")
    assert not covers(names, "de") and not covers(names, "fass.de")
    assert not covers(names, "xn--fa-hia.de.evil.example")


def test_a_unicode_allow_entry_passes_its_punycode_query():
    listed = MemoryBlocklist([Match("xn--fa-hia.de", Action.BLOCK, "fraud", "faß.de", "fraud.txt:1", 0.0)])
    stages = link(AllowlistStage(("Faß.DE.",)), BlocklistStage(listed, policy()),
                  FixedAnswer("shop.xn--fa-hia.de. 300 A 192.0.2.1"))
    assert run(stages.resolve(make_query("shop.xn--fa-hia.de"))).kind is AnswerKind.RESOLVED
