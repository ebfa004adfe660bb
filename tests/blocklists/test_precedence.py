from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.precedence import Candidate, covers, decide
from fraudwall.blocklists.verdict import Action, Match


def entry(name, action=Action.BLOCK, mode=Mode.SUBTREE, important=False, manual=False, order=0, list="feed"):
    return Candidate(Match(name, action, list, name, "f:1", 0.0), mode, important, manual, order)


def test_a_subtree_covers_its_subdomains_never_its_parent():
    assert covers("example.org", Mode.SUBTREE, "a.b.example.org")
    assert covers("example.org", Mode.SUBTREE, "example.org")
    assert not covers("a.example.org", Mode.SUBTREE, "example.org")
    assert not covers("example.org", Mode.SUBTREE, "badexample.org")
    assert not covers("example.org", Mode.EXACT, "a.example.org")
    assert covers("example.org", Mode.BELOW, "a.example.org") and not covers("example.org", Mode.BELOW, "example.org")


def test_the_most_specific_entry_wins():
    candidates = [entry("example.org", Action.ALLOW), entry("bad.example.org")]
    assert decide("x.bad.example.org", candidates).name == "bad.example.org"
    assert decide("good.example.org", candidates).action is Action.ALLOW
    candidates = [entry("example.org"), entry("ok.example.org", Action.ALLOW, Mode.EXACT)]
    assert decide("ok.example.org", candidates).action is Action.ALLOW
    assert decide("x.ok.example.org", candidates).action is Action.BLOCK


def test_at_the_same_name_allow_beats_block_unless_important():
    assert decide("example.org", [entry("example.org"), entry("example.org", Action.ALLOW)]).action is Action.ALLOW
    important = [entry("example.org", important=True), entry("example.org", Action.ALLOW)]
    assert decide("a.example.org", important).action is Action.BLOCK


def test_the_operators_own_entry_beats_the_feeds_at_the_same_name():
    candidates = [entry("example.org", important=True), entry("example.org", Action.ALLOW, manual=True, list="manual")]
    assert decide("example.org", candidates).list == "manual"


def test_nothing_covers_gives_none():
    assert decide("example.net", [entry("example.org")]) is None
