from fraudwall.blocklists.formats import Mode, NetworkEntry, SkipReason, rpz
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import run

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
