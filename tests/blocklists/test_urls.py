from fraudwall.blocklists.formats import SkipReason, urls

from .blocklist_helpers import run

URLHAUS = '''################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #
# Terms Of Use: https://urlhaus.abuse.ch/api/                  #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"3091234","2024-05-01 12:00:06","http://198.51.100.7:8080/i","online","2024-05-01 12:00:06","malware_download","32-bit,elf,mips","https://urlhaus.abuse.ch/url/3091234/","geenensp"
"3091233","2024-05-01 12:00:05","https://user:pass@Drop.Example.ORG/a,b.exe","offline","","malware_download","exe","https://urlhaus.abuse.ch/url/3091233/","r"
"3091232","2024-05-01 12:00:04","http://[2001:db8::5]/x","online","","malware_download","","https://urlhaus.abuse.ch/url/3091232/","r"
"broken
'''


def test_urlhaus_csv_with_comment_header_and_quoted_fields():
    entries, skips = run(urls.parse_urlhaus, URLHAUS)
    assert [e.host for e in entries] == ["198.51.100.7", "drop.example.org", "2001:db8::5"]
    assert entries[1].url == "https://user:pass@Drop.Example.ORG/a,b.exe"
    assert [(s.line, s.reason) for s in skips] == [(10, SkipReason.SYNTAX)]


def test_phishtank_csv_finds_the_url_column_by_its_header():
    text = ("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n"
            '123,https://login.example.net/secure?x=1,http://www.phishtank.com/phish_detail.php?phish_id=123,'
            '2024-05-01T10:00:00+00:00,yes,2024-05-01T10:05:00+00:00,yes,Other\n'
            '124,"http://bücher.example/a,b",http://x,t,yes,t,yes,Other\n')
    entries, skips = run(urls.parse_phishtank_csv, text)
    assert [e.host for e in entries] == ["login.example.net", "xn--bcher-kva.example"]
    assert skips == []


def test_phishtank_json_array():
    text = '[{"phish_id":"1","url":"https://a.example.org/x","target":"Other"},\n{"phish_id":"2"},{"url":"http://b.example.org:8443"}]'
    entries, skips = run(urls.parse_phishtank_json, text)
    assert [e.host for e in entries] == ["a.example.org", "b.example.org"]
    assert [(s.line, s.reason) for s in skips] == [(2, SkipReason.SYNTAX)]


def test_openphish_one_url_a_line_and_bad_urls_reported():
    entries, skips = run(urls.parse_openphish, "https://a.example.org/login\nhttp://\nhttp://b.example.org:99999/\nc.example.net/path\n")
    assert [e.host for e in entries] == ["a.example.org", "c.example.net"]
    assert [(s.line, s.reason) for s in skips] == [(2, SkipReason.INVALID_URL), (3, SkipReason.INVALID_URL)]


def test_generic_csv_by_column_number_or_name():
    text = "when,link\n2024,https://a.example.org/\n2024,https://b.example.org/\n"
    by_number, _ = run(lambda lines: urls.parse_csv(lines, "2"), text)
    by_name, _ = run(lambda lines: urls.parse_csv(lines, "link"), text)
    assert [e.host for e in by_number] == [e.host for e in by_name] == ["a.example.org", "b.example.org"]


def test_without_the_url_column_every_line_is_counted():
    """A header without the column skipped the rest of the file uncounted (issue 11, defect 10)."""
    _, skips = run(urls.parse_phishtank_csv, "phish_id,link\n1,https://a.example.org/\n2,https://b.example.org/\n")
    assert [(s.line, s.reason) for s in skips] == [(1, SkipReason.SYNTAX), (2, SkipReason.SYNTAX), (3, SkipReason.SYNTAX)]
    assert skips[1].detail == "no 'url' column (header at line 1)"


def test_a_bad_port_is_quoted_cut_short():
    from fraudwall.blocklists.formats import SkipReason
    from fraudwall.blocklists.formats.urls import url_entry

    skip = url_entry(1, "http://a.example.org:" + "9x" * 300 + "/")
    assert skip.reason is SkipReason.INVALID_URL and len(skip.detail) < 200
