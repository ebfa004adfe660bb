from fraudwall.blocklists.formats import Mode, SkipReason, adblock
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import run

FILTER = """[Adblock Plus 2.0]
! Title: phishing filter
! Expires: 1 day
||phish.example.org^
||page.example.org^$document
||all.example.org^$all,important
@@||ok.example.org^
@@||ok2.example.org^|
||script.example.org^$script
||tp.example.org^$third-party
||dom.example.org^$domain=example.net
example.org##.banner
example.org#@#.ad
/ads[0-9]+\\.example/
||ad*.example.org^
||path.example.org/login.html
exact.example.org
0.0.0.0 hostsline.example.org
# hosts-style comment
"""


def test_dns_rules_block_the_subtree_and_exceptions_allow_it():
    entries, _ = run(adblock.parse, FILTER)
    got = {e.name: (e.mode, e.action, e.important) for e in entries}
    assert got["phish.example.org"] == (Mode.SUBTREE, Action.BLOCK, False)
    assert got["page.example.org"] == (Mode.SUBTREE, Action.BLOCK, False)
    assert got["all.example.org"] == (Mode.SUBTREE, Action.BLOCK, True)
    assert got["ok.example.org"] == (Mode.SUBTREE, Action.ALLOW, False)
    assert got["ok2.example.org"][1] is Action.ALLOW
    assert got["exact.example.org"] == (Mode.EXACT, Action.BLOCK, False)
    assert got["hostsline.example.org"][1] is Action.BLOCK
    assert len(entries) == 7


def test_narrowed_cosmetic_and_regex_rules_are_skipped_and_counted():
    _, skips = run(adblock.parse, FILTER)
    reasons = [s.reason for s in skips]
    assert reasons.count(SkipReason.UNENFORCEABLE_MODIFIER) == 4   # $script, $third-party, $domain=, path
    assert reasons.count(SkipReason.COSMETIC) == 2
    assert reasons.count(SkipReason.REGEX) == 2
    assert {s.line for s in skips} == {9, 10, 11, 12, 13, 14, 15, 16}
