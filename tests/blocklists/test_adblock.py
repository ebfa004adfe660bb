import pytest
from fraudwall.blocklists.formats import Mode, Skip, SkipReason, adblock, numbered_lines
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
    assert reasons.count(SkipReason.UNENFORCEABLE_MODIFIER) == 3   # $script, $third-party, $domain=
    assert reasons.count(SkipReason.COSMETIC) == 2
    assert reasons.count(SkipReason.REGEX) == 1
    assert reasons.count(SkipReason.WILDCARD) == 1                 # ||ad*.example.org^
    assert reasons.count(SkipReason.URL_RULE) == 1                 # a path
    assert {s.line for s in skips} == {9, 10, 11, 12, 13, 14, 15, 16}


def test_a_star_dot_pattern_covers_the_names_below_only():
    entries, skips = run(adblock.parse, "||*.a6.example.org^\n*.b6.example.org\n||*.c6.example.org^$important\n")
    assert [(e.name, e.mode, e.important) for e in entries] == [
        ("a6.example.org", Mode.BELOW, False), ("b6.example.org", Mode.BELOW, False),
        ("c6.example.org", Mode.BELOW, True)]
    assert skips == []


def test_a_wildcard_inside_a_label_says_so():
    _, skips = run(adblock.parse, "||ad*.example.org^\n||*^$denyallow=example.org\n")
    assert [s.reason for s in skips] == [SkipReason.WILDCARD, SkipReason.UNENFORCEABLE_MODIFIER]
    assert "$denyallow=example.org" in skips[1].detail


@pytest.mark.parametrize("rule, action, redirect", [
    ("||nx.example.org^$dnsrewrite=NXDOMAIN", Action.NXDOMAIN, ()),
    ("||nx.example.org^$dnsrewrite=nxdomain;;", Action.NXDOMAIN, ()),
    ("||nx.example.org^$dnsrewrite=NOERROR;;", Action.NODATA, ()),
    ("||nx.example.org^$dnsrewrite=NOERROR", Action.NODATA, ()),
    ("||nx.example.org^$dnsrewrite=NOERROR;A;100.128.0.80", Action.REDIRECT, ("100.128.0.80",)),
    ("||nx.example.org^$dnsrewrite=100.128.0.80", Action.REDIRECT, ("100.128.0.80",)),
    ("||nx.example.org^$dnsrewrite=NOERROR;AAAA;2a00:1450::80", Action.REDIRECT, ("2a00:1450::80",)),
    ("||nx.example.org^$dnsrewrite=2a00:1450::80", Action.REDIRECT, ("2a00:1450::80",)),
    ("||nx.example.org^$dnsrewrite=0.0.0.0", Action.BLOCK, ()),
    ("||nx.example.org^$important,dnsrewrite=NOERROR;A;0.0.0.0", Action.BLOCK, ()),
])
def test_dnsrewrite_maps_onto_the_answers_fraudwall_gives(rule, action, redirect):
    entries, skips = run(adblock.parse, rule + "\n")
    assert skips == []
    (entry,) = entries
    assert (entry.name, entry.mode, entry.action, entry.redirect) == ("nx.example.org", Mode.SUBTREE, action, redirect)
    assert entry.rule == rule


@pytest.mark.parametrize("rule, detail", [
    ("||r.example.org^$dnsrewrite=REFUSED", "$dnsrewrite=REFUSED: fraudwall answers no REFUSED"),
    ("||r.example.org^$dnsrewrite=SERVFAIL;;", "$dnsrewrite=SERVFAIL;;: fraudwall answers no SERVFAIL"),
    ("||r.example.org^$dnsrewrite=NOERROR;CNAME;safe.example.net", "another name (CNAME safe.example.net)"),
    ("||r.example.org^$dnsrewrite=safe.example.net", "another name (CNAME safe.example.net)"),
    ("||r.example.org^$dnsrewrite", "a block rule needs a value"),
    ("||r.example.org^$dnsrewrite=NOERROR;MX;10 mail.example.net", "MX records"),
    ("||r.example.org^$dnsrewrite=NOERROR;A;2a00:1450::80", "not an IPv4 address"),
    ("@@||r.example.org^$dnsrewrite", "an exception for rewrites only"),
])
def test_a_dnsrewrite_fraudwall_cannot_answer_names_why(rule, detail):
    entries, skips = run(adblock.parse, rule + "\n")
    assert entries == []
    (skip,) = skips
    assert skip.reason is SkipReason.REWRITE and detail in skip.detail, skip.detail


@pytest.mark.parametrize("rule, reason, detail", [
    ("||c.example.org^$client=192.168.1.5", SkipReason.PER_CLIENT, "$client=192.168.1.5: a rule for some clients"),
    ("||c.example.org^$ctag=device_phone", SkipReason.PER_CLIENT,
     "$ctag=device_phone: client tags are AdGuard Home's own, not in DNS"),
    ("||c.example.org^$dnstype=AAAA", SkipReason.QUERY_TYPE, "$dnstype=AAAA: a rule for some query types"),
    ("||c.example.org^$script", SkipReason.UNENFORCEABLE_MODIFIER, "$script"),
    ("||c.example.org/login.html", SkipReason.URL_RULE, "||c.example.org/login.html"),
])
def test_each_skipped_rule_names_its_own_reason(rule, reason, detail):
    _, skips = run(adblock.parse, rule + "\n")
    (skip,) = skips
    assert skip.reason is reason and detail in skip.detail, skip.detail


def test_badfilter_disables_the_rule_it_names():
    text = ("||bad.example.org^\n||bad.example.org^$badfilter\n||imp.example.org^$important\n"
            "||imp.example.org^$badfilter,important\n@@||ok.example.org^\n@@||ok.example.org^$badfilter\n"
            "||kept.example.org^\n||kept.example.org^$important,badfilter\n")
    disabled = adblock.badfilters(numbered_lines(text.splitlines()), "f.txt")
    assert disabled == {"||bad.example.org^": "f.txt:2", "||imp.example.org^$important": "f.txt:4",
                        "@@||ok.example.org^": "f.txt:6", "||kept.example.org^$important": "f.txt:8"}
    entries = list(adblock.parse(numbered_lines(text.splitlines()), disabled))
    kept = [e for e in entries if not isinstance(e, Skip)]
    skips = [e for e in entries if isinstance(e, Skip)]
    assert [e.name for e in kept] == ["kept.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(1, SkipReason.DISABLED), (3, SkipReason.DISABLED),
                                                   (5, SkipReason.DISABLED)]
    assert skips[0].detail == "'||bad.example.org^' by the $badfilter rule at f.txt:2"


def test_badfilter_reaches_across_the_parts_of_an_import(tmp_path, monkeypatch):
    """The rule and its $badfilter may sit in different parts of a big filter (each parsed by its own
    worker) or in different sources of one list: the importer finds the $badfilter rules first."""
    from fraudwall.blocklists import importer
    from fraudwall.blocklists.lookup import StoreBlocklist

    from .blocklist_helpers import fake_guards

    monkeypatch.setattr(importer, "PARALLEL_BYTES", 1000)
    first = tmp_path / "first.txt"
    first.write_text("||bad.example.org^\n" + "".join(f"||n{i}.example.org^\n" for i in range(400)))
    second = tmp_path / "second.txt"
    second.write_text("".join(f"||m{i}.example.org^\n" for i in range(400)) + "||bad.example.org^$badfilter\n")
    db = tmp_path / "b.db"
    summary = importer.import_list(db, importer.ImportRequest("ads", (str(first), str(second)), format="adblock",
                                                              workers=2), fake_guards())
    assert summary.totals.names == 800
    assert summary.totals.skipped == {"disabled by $badfilter": 1}
    assert summary.totals.samples == [f"{first}:1: disabled by $badfilter: '||bad.example.org^' by the"
                                      f" $badfilter rule at {second}:401"]
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("bad.example.org") is None and blocklist.match_name("n7.example.org")
