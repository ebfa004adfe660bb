"""Property-based tests of every feed parser: random and mutated input never raises out of them.

What a feed can hold is anything: random bytes (read as the importer reads them, UTF-8 with
replacement characters), random text, and valid lines of each format with the edits a fuzzer
makes (characters inserted, deleted, replaced, spans repeated, lines cut or joined). Whatever
comes in, a parser yields entries and counted skips, each for a line it was given; the names it
yields are stored names (normalised, two labels at least), the networks canonical.
"""

from __future__ import annotations

import ipaddress
import random

from fraudwall.blocklists.formats import (
    MAX_LINE,
    DomainEntry,
    Format,
    NetworkEntry,
    Skip,
    SkipReason,
    UrlEntry,
    detect_format,
    parse_lines,
    parser_for,
)
from fraudwall.scoring.names import InvalidName, normalise_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Bounded so that the whole file runs in a few seconds; no example database is written.
FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Valid lines of each format, to mutate.
CORPUS: dict[Format, tuple[str, ...]] = {
    Format.HOSTS: ("127.0.0.1 localhost", "0.0.0.0 login-verify.example.org account.example.org # ads",
                   "::1 ip6-localhost", "100.128.0.7\tportal.example.org", "fe80::1%lo0 localhost"),
    Format.DOMAINS: ("! phishing", "pay-refund.example.org", "*.cdn-login.example.net", "Bücher.example # x",
                     "xn--bcher-kva.example.", "100.128.0.9", "2a00:1450::9"),
    Format.ADBLOCK: ("[Adblock Plus 2.0]", "||login-verify.example.org^$document", "@@||help.example.net^",
                     "||pay.example.net^$important", "example.org##.ad", "/ads[0-9]+/", "||x.example.org^$script",
                     "0.0.0.0 hosts.example.org", "|https://a.example.org/path", "||*.a6.example.org^",
                     "||r.example.org^$dnsrewrite=NOERROR;A;100.128.0.80", "||n.example.org^$dnsrewrite=NXDOMAIN",
                     "||b.example.org^$important,badfilter", "||100.128.0.9^", "||c.example.org^$ctag=phone"),
    Format.RPZ: ("$TTL 300", "$ORIGIN rpz.example.org.", "@ IN SOA ns.rpz.example.org. h.example.org. ( 1 3600",
                 " 600 86400 60 )", "  IN NS ns.rpz.example.org.", "bad.example.net CNAME .",
                 "*.bad.example.net 300 IN CNAME .", "ok.bad.example.net CNAME rpz-passthru.",
                 "portal.example.net A 100.128.0.80", "  AAAA 2a00:1450::80", "24.0.0.128.100.rpz-ip CNAME rpz-drop.",
                 "48.zz.1450.2a00.rpz-ip CNAME .", "ns.evil.example.rpz-nsdname CNAME .", "$ORIGIN example.net",
                 "evil CNAME .", 'txt TXT "a ; b"'),
    Format.URLHAUS: ("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter",
                     '"3091234","2024-05-01 12:00:06","http://100.128.0.7:8080/i","online","","malware_download",'
                     '"elf","https://urlhaus.abuse.ch/url/3091234/","r"',
                     '"1","2024-05-01","https://user:pw@drop.example.org/x?y=1","offline","","","","",""'),
    Format.PHISHTANK_CSV: ("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target",
                           '8000001,https://login.example.org/x,http://www.phishtank.com/phish_detail.php?'
                           'phish_id=8000001,2024-05-01T00:00:00+00:00,yes,2024-05-01T00:01:00+00:00,yes,Other'),
    Format.PHISHTANK_JSON: ('[{"phish_id": 1, "url": "https://login.example.org/x"},',
                            '{"phish_id": 2, "url": "http://[2a00:1450::1]:8080/y"}]'),
    Format.OPENPHISH: ("https://login.example.org/", "http://100.128.0.9/x.php", "login-verify.example.net/a",
                       "https://[2a00:1450::5]/"),
    Format.CSV: ("id,url,added", "1,https://login.example.org/,2024", '2,"http://a.example.net/x,y",2024'),
    Format.IPLIST: ("# Spamhaus DROP", "100.128.0.0/24 ; SBL123", "2a00:1450::/32", "100.128.0.9 # host",
                    "10.1.2.3/8"),
}

text_lines = st.lists(st.text(max_size=40), max_size=12)
binary_lines = st.binary(max_size=1500).map(lambda data: data.decode("utf-8", "replace").split("\n"))
# Characters that mean something in some format: a fuzzer's best guesses.
SPECIAL = " \t.*|^$@!#;,:/\\\"'()[]{}%=\x00\ufeff\u3002\uff0e\r-_xnz0"


def mutate(lines: list[str], seed: int) -> list[str]:
    """`lines` with up to eight of a fuzzer's edits, chosen by `seed` (one draw: fast to generate)."""
    chance = random.Random(seed)
    lines = list(lines)
    for _ in range(chance.randrange(9)):
        index = chance.randrange(len(lines))
        line = lines[index]
        cut = chance.randrange(len(line) + 1)
        edit = chance.choice(("insert", "delete", "replace", "repeat", "split", "join", "drop"))
        if edit == "insert":
            extra = "".join(chance.choice(SPECIAL) if chance.random() < 0.7 else chr(chance.randrange(0x20, 0x3100))
                            for _ in range(chance.randrange(1, 5)))
            lines[index] = line[:cut] + extra + line[cut:]
        elif edit == "delete":
            lines[index] = line[:cut] + line[cut + chance.randrange(1, 21):]
        elif edit == "replace" and cut < len(line):
            lines[index] = line[:cut] + chance.choice(SPECIAL) + line[cut + 1:]
        elif edit == "repeat":
            lines[index] = line[:cut] + line[cut:] * chance.randrange(2, 41)
        elif edit == "split":
            lines[index:index + 1] = [line[:cut], line[cut:]]
        elif edit == "join" and index + 1 < len(lines):
            lines[index:index + 2] = [line + chance.choice(("", " ", "\t", ";", "#")) + lines[index + 1]]
        elif edit == "drop" and len(lines) > 1:
            del lines[index]
    return lines


def mutated_lines(format: Format) -> st.SearchStrategy[list[str]]:
    return st.builds(mutate, st.lists(st.sampled_from(CORPUS[format]), min_size=1, max_size=12),
                     st.integers(0, 2**32))


def check(format: Format, lines: list[str]) -> None:
    """The parser's output for `lines` is only entries and skips of lines it was given."""
    parse = parser_for(format, "url" if format is Format.CSV else "")
    given_lines = set(range(1, len(lines) + 1))
    items = list(parse_lines(parse, lines))
    for item in items:
        assert type(item) in (DomainEntry, NetworkEntry, UrlEntry, Skip), item
        if format is not Format.PHISHTANK_JSON:
            assert item.line in given_lines, (item, lines)
        if type(item) is DomainEntry:
            assert normalise_name(item.name) == item.name and "." in item.name, item
        elif type(item) is NetworkEntry:
            assert str(ipaddress.ip_network(item.network, strict=False)).removesuffix(
                f"/{ipaddress.ip_network(item.network, strict=False).max_prefixlen}") == item.network, item
        elif type(item) is UrlEntry:
            assert item.host and len(item.url) <= MAX_LINE, item
        else:
            assert isinstance(item.reason, SkipReason) and isinstance(item.detail, str), item
            assert len(item.detail) < 400, item     # bad lines are quoted cut short


def property_of(format: Format):
    @FAST
    @given(st.one_of(text_lines, binary_lines, mutated_lines(format)))
    def test(lines: list[str]) -> None:
        check(format, lines)

    test.__name__ = f"test_{format.name.lower()}_parser_never_raises"
    test.__doc__ = f"The {format.value} parser takes random, binary and mutated input without raising."
    return test


test_hosts_parser_never_raises = property_of(Format.HOSTS)
test_domains_parser_never_raises = property_of(Format.DOMAINS)
test_adblock_parser_never_raises = property_of(Format.ADBLOCK)
test_rpz_parser_never_raises = property_of(Format.RPZ)
test_urlhaus_parser_never_raises = property_of(Format.URLHAUS)
test_phishtank_csv_parser_never_raises = property_of(Format.PHISHTANK_CSV)
test_phishtank_json_parser_never_raises = property_of(Format.PHISHTANK_JSON)
test_openphish_parser_never_raises = property_of(Format.OPENPHISH)
test_csv_parser_never_raises = property_of(Format.CSV)
test_iplist_parser_never_raises = property_of(Format.IPLIST)


@FAST
@given(st.one_of(text_lines, binary_lines, *(mutated_lines(format) for format in Format)))
def test_detection_always_names_a_format(lines):
    assert isinstance(detect_format(lines), Format)


@FAST
@given(st.sampled_from([format for format in Format if format is not Format.PHISHTANK_JSON]),
       st.integers(MAX_LINE + 1, 3 * MAX_LINE), st.data())
def test_a_line_too_long_is_one_skip_in_any_format(format, length, data):
    lines = data.draw(mutated_lines(format))
    where = data.draw(st.integers(0, len(lines)))
    lines.insert(where, data.draw(st.sampled_from(CORPUS[format])).ljust(length, "x"))
    # A mutation may have made a line too long as well.
    too_long = [number for number, text in enumerate(lines, 1) if len(text.lstrip("\ufeff").rstrip()) > MAX_LINE]
    items = list(parse_lines(parser_for(format, "url" if format is Format.CSV else ""), lines))
    assert sorted(item.line for item in items if type(item) is Skip and item.reason is SkipReason.TOO_LONG) == too_long


names = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0189-_.ßüÄ\u3002\uff0e\u0131\u0130", max_size=80),
    st.lists(st.sampled_from(["www", "Example", "ORG", "xn--bcher-kva", "bücher", "faß", "xn--", "-a", "a-", "_dmarc",
                              "123", "ıi", "ǅ", "\u200d", "xn--fa-hia", "ΣΑΣ", "ς"]), min_size=1, max_size=6)
    .map(".".join).flatmap(lambda name: st.sampled_from([name, name + ".", name.upper()])),
)


@FAST
@given(names)
def test_the_name_normaliser_is_idempotent(text):
    try:
        name = normalise_name(text)
    except InvalidName:
        return
    assert normalise_name(name) == name
    assert name == name.lower() and name.isascii() and not name.endswith(".")
