from fraudwall.blocklists.formats import Mode, NetworkEntry, SkipReason, rpz
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import import_text, run

ZONE = """$TTL 300
@ IN SOA ns.rpz.example.org. hostmaster.example.org. (
        2024010101 ; serial
        3600       ; refresh
        600 86400 60 )
    IN NS ns.rpz.example.org.
$ORIGIN rpz.example.org.
bad.example.com           CNAME .
*.bad.example.com  300 IN CNAME .   ; the names below
nodata.example.com     IN CNAME *.
ok.example.com            CNAME rpz-passthru.
drop.example.com  60      CNAME rpz-drop.
redir.example.com         A     192.0.2.1
                          AAAA  2001:db8::1
garden.example.com        CNAME walled.example.net.
abs.example.net.rpz.example.org. CNAME .
32.1.2.0.192.rpz-ip       CNAME .
48.zz.db8.2001.rpz-ip     CNAME rpz-drop.
ns.evil.example.rpz-nsdname CNAME .
24.0.0.10.rpz-client-ip   CNAME .
txt.example.com           TXT   "policy; not a comment"
mx.example.com            MX    10 mail.example.net.
bad..name                 CNAME .
"""


def test_qname_triggers_and_their_policies():
    entries, _ = run(rpz.parse, ZONE)
    got = {(e.name, e.mode): e for e in entries if not isinstance(e, NetworkEntry)}
    assert got[("bad.example.com", Mode.EXACT)].action is Action.NXDOMAIN
    assert got[("bad.example.com", Mode.BELOW)].action is Action.NXDOMAIN
    assert got[("nodata.example.com", Mode.EXACT)].action is Action.NODATA
    assert got[("ok.example.com", Mode.EXACT)].action is Action.ALLOW
    assert got[("drop.example.com", Mode.EXACT)].action is Action.DROP
    redirect = got[("redir.example.com", Mode.EXACT)]
    assert redirect.action is Action.REDIRECT and redirect.redirect == ("192.0.2.1", "2001:db8::1")
    assert got[("garden.example.com", Mode.EXACT)].action is Action.BLOCK
    assert got[("abs.example.net", Mode.EXACT)].action is Action.NXDOMAIN
    assert len(got) == 8   # the SOA and NS at the apex are no entries


def test_rpz_ip_triggers_become_network_entries():
    entries, _ = run(rpz.parse, ZONE)
    networks = {e.network: e.action for e in entries if isinstance(e, NetworkEntry)}
    assert networks == {"192.0.2.1": Action.NXDOMAIN, "2001:db8::/48": Action.DROP}


def test_other_triggers_and_records_are_skipped_and_counted():
    _, skips = run(rpz.parse, ZONE)
    assert [s.reason for s in skips] == [
        SkipReason.UNSUPPORTED_TRIGGER, SkipReason.UNSUPPORTED_TRIGGER,
        SkipReason.UNSUPPORTED_RECORD, SkipReason.INVALID_NAME]
    assert skips[-1].line == 23


def test_without_origin_the_soa_owner_is_the_zone():
    zone = "rpz.example.org. 300 IN SOA ns. h. 1 2 3 4 5\nrpz.example.org. NS ns.\nx.example.com.rpz.example.org. CNAME .\ny.example.com CNAME .\n"
    entries, skips = run(rpz.parse, zone)
    assert [e.name for e in entries] == ["x.example.com", "y.example.com"] and skips == []


# A zone as BIND dumps it (`named-compilezone -s relative`, `rndc dumpdb -zones`): each owner is
# written relative to an $ORIGIN that moves down the tree, not relative to the zone's apex.
BIND_DUMP = """$ORIGIN .
$TTL 300\t; 5 minutes
rpz.example.org\t\tIN SOA\tns.rpz.example.org. hostmaster.example.org. (
\t\t\t\t2024050101 ; serial
\t\t\t\t3600       ; refresh (1 hour)
\t\t\t\t600        ; retry (10 minutes)
\t\t\t\t86400      ; expire (1 day)
\t\t\t\t60         ; minimum (1 minute)
\t\t\t\t)
\t\t\tNS\tns.rpz.example.org.
$ORIGIN rpz.example.org.
$ORIGIN example.net.rpz.example.org.
evil\t\t\tCNAME\t.
*.evil\t\t\tCNAME\t.
$ORIGIN evil.example.net.rpz.example.org.
ok\t\t\tCNAME\trpz-passthru.
$ORIGIN example.net.rpz.example.org.
portal\t\t\tA\t100.128.0.80
\t\t\tAAAA\t2a00:1450::80
*\t\t\tCNAME\t*.
$ORIGIN 0.0.128.100.rpz-ip.rpz.example.org.
24\t\t\tCNAME\trpz-drop.
$ORIGIN example.rpz-nsdname.rpz.example.org.
ns.evil\t\t\tCNAME\t.
"""


def test_a_bind_dump_is_read_relative_to_the_apex_not_the_last_origin():
    entries, skips = run(rpz.parse, BIND_DUMP)
    got = {(e.name, e.mode): e for e in entries if not isinstance(e, NetworkEntry)}
    assert set(got) == {("evil.example.net", Mode.EXACT), ("evil.example.net", Mode.BELOW),
                        ("ok.evil.example.net", Mode.EXACT), ("portal.example.net", Mode.EXACT),
                        ("example.net", Mode.BELOW)}
    assert got[("evil.example.net", Mode.EXACT)].action is Action.NXDOMAIN
    assert got[("ok.evil.example.net", Mode.EXACT)].action is Action.ALLOW
    assert got[("portal.example.net", Mode.EXACT)].redirect == ("100.128.0.80", "2a00:1450::80")
    assert got[("example.net", Mode.BELOW)].action is Action.NODATA
    assert [(e.network, e.action) for e in entries if isinstance(e, NetworkEntry)] == [("100.128.0.0/24", Action.DROP)]
    assert [(s.line, s.reason) for s in skips] == [(24, SkipReason.UNSUPPORTED_TRIGGER)]


def test_at_is_the_current_origin_and_a_blank_owner_the_previous_one():
    zone = ("$ORIGIN rpz.example.org.\n@ SOA ns. h. 1 2 3 4 5\n  NS ns.\n"
            "$ORIGIN login.example.net.rpz.example.org.\n@ CNAME .\n  TXT \"phishing\"\n"
            "$ORIGIN rpz.example.org.\nx.example.com A 100.128.0.1\n  A 100.128.0.2\n")
    entries, skips = run(rpz.parse, zone)
    assert [(e.name, e.action, e.redirect) for e in entries] == [
        ("login.example.net", Action.NXDOMAIN, ()), ("x.example.com", Action.REDIRECT, ("100.128.0.1", "100.128.0.2"))]
    assert skips == []


def test_the_apex_is_the_soa_owner_even_after_a_deeper_origin():
    zone = ("$ORIGIN example.net.policy.example.\nevil CNAME .\n"
            "$ORIGIN policy.example.\n@ SOA ns. h. 1 2 3 4 5\nphish.example.com CNAME .\n")
    entries, _ = run(rpz.parse, zone)
    # Before the SOA the first $ORIGIN is all there is to go by: a record above the SOA is rare.
    assert [e.name for e in entries][-1] == "phish.example.com"


def test_a_single_label_trigger_is_refused_not_blocked():
    entries, skips = run(rpz.parse, "$ORIGIN rpz.example.org.\nevil CNAME .\n*.com CNAME .\n")
    assert entries == []
    assert [s.reason for s in skips] == [SkipReason.SINGLE_LABEL] * 2


def test_an_imported_bind_dump_blocks_the_names_it_lists(tmp_path):
    from fraudwall.blocklists.lookup import StoreBlocklist

    db = tmp_path / "b.db"
    import_text(db, tmp_path, "dump", BIND_DUMP, "dump.rpz")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("evil.example.net").action is Action.NXDOMAIN
    assert blocklist.match_name("www.evil.example.net").action is Action.NXDOMAIN
    assert blocklist.match_name("ok.evil.example.net").action is Action.ALLOW
    assert blocklist.match_name("evil") is None
    assert blocklist.match_address("100.128.0.1").action is Action.DROP


def test_an_exported_zone_reads_back_to_the_same_entries():
    entries, _ = run(rpz.parse, ZONE)
    names = [e for e in entries if not isinstance(e, NetworkEntry)]
    networks = [e for e in entries if isinstance(e, NetworkEntry)]
    lines = list(rpz.export("zone", names, networks, now=1_700_000_000))
    assert "@ IN SOA localhost. hostmaster.localhost. ( 1700000000 3600 600 86400 60 )" in lines
    again, skips = run(rpz.parse, "\n".join(lines))
    assert skips == []
    # A walled garden (a block) is written as `CNAME .`, which reads back as NXDOMAIN: the name stays refused.
    action = (lambda e: Action.NXDOMAIN if e.action is Action.BLOCK else e.action)
    key = (lambda e: (e.network, action(e)) if isinstance(e, NetworkEntry) else (e.name, e.mode, action(e), e.redirect))
    assert sorted(map(key, again), key=str) == sorted(map(key, entries), key=str)
