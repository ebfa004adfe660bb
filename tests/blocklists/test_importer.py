import pytest
from fraudwall.blocklists import importer
from fraudwall.blocklists.importer import ImportFailed
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import fake_guards, import_text


def test_a_hosts_feed_is_imported_with_counts_and_bad_lines_reported(tmp_path):
    db = tmp_path / "b.db"
    text = "127.0.0.1 localhost\n0.0.0.0 a.example.org\n0.0.0.0 a.example.org\n0.0.0.0 bad..name\n0.0.0.0 b.example.org\n"
    summary = import_text(db, tmp_path, "hosts", text, "hosts.txt")
    assert (summary.totals.names, summary.totals.duplicates) == (2, 1)
    assert summary.totals.skipped == {"invalid name": 1}
    assert summary.totals.samples[0].startswith(f"{tmp_path / 'hosts.txt'}:4: invalid name")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("x.a.example.org").list == "hosts"
    assert blocklist.match_name("example.org") is None


def test_match_exact_keeps_subdomains_out(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "exact", "a.example.org\n", format="domains", match="exact")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("a.example.org") is not None
    assert blocklist.match_name("x.a.example.org") is None


def test_url_feeds_block_hosts_ip_literals_and_spare_shared_platforms(tmp_path):
    db = tmp_path / "b.db"
    text = ("https://user:pw@login.example.net/x\nhttp://100.128.0.9:8080/bin\nhttps://bit.ly/3abc\n"
            "https://drive.google.com/file/d/1/view\n")
    summary = import_text(db, tmp_path, "phish", text, format="openphish")
    assert (summary.totals.names, summary.totals.addresses, summary.totals.urls) == (1, 1, 4)
    assert summary.totals.guarded == {"shared platform host": 2}
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("login.example.net").rule == "https://user:pw@login.example.net/x"
    assert blocklist.match_address("100.128.0.9").list == "phish"
    assert blocklist.match_name("bit.ly") is None and blocklist.match_name("drive.google.com") is None


def test_guards_drop_public_suffixes_and_brands_and_quarantine_popular_sites(tmp_path):
    db = tmp_path / "b.db"
    text = ("co.uk\ngithub.io\nevil.github.io\nexamplebank.example\nlogin.examplebank.example\nbaidu.com\nwww.qq.com\n"
            "fraud.example.net\nscam.example.net\n")
    summary = import_text(db, tmp_path, "poisoned", text, format="domains")
    assert summary.totals.guarded == {"public suffix": 2, "protected brand's domain": 2}
    assert summary.totals.held == 2
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("evil.github.io") is not None
    for name in ("x.co.uk", "a.github.io", "examplebank.example", "baidu.com", "www.qq.com"):
        assert blocklist.match_name(name) is None, name


def test_a_reimport_replaces_the_list(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "old.example.org\nkept.example.org\n")
    summary = import_text(db, tmp_path, "feed", "new.example.org\nkept.example.org\n", force=True)
    assert summary.replaced
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("old.example.org") is None
    assert blocklist.match_name("new.example.org") is not None
    assert blocklist.match_name("kept.example.org") is not None


def test_a_reimport_changing_too_much_is_held_back_until_forced(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "".join(f"n{i}.example.org\n" for i in range(100)))
    broken = "".join(f"other{i}.example.org\n" for i in range(100))
    summary = import_text(db, tmp_path, "feed", broken)
    assert summary.held_back and "--force" in summary.held_back and summary.exit_code == 1
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("n5.example.org") is not None and blocklist.match_name("other5.example.org") is None
    blocklist.close()
    assert import_text(db, tmp_path, "feed", broken, force=True).exit_code == 0
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("n5.example.org") is None and blocklist.match_name("other5.example.org") is not None


def test_bad_requests_fail_before_touching_the_store(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "a.example.org\n")
    with pytest.raises(ImportFailed, match="no such file"):
        importer.import_list(db, importer.ImportRequest("feed", (str(tmp_path / "missing.txt"),)), None)
    with pytest.raises(ImportFailed, match="unknown format"):
        import_text(db, tmp_path, "feed", "b.example.org\n", format="nonsense")
    assert StoreBlocklist(db).match_name("a.example.org") is not None


def test_a_big_feed_is_split_between_workers_with_true_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "PARALLEL_BYTES", 1000)
    db = tmp_path / "b.db"
    lines = [f"0.0.0.0 host{i}.example.org" for i in range(5000)]
    lines[4321] = "0.0.0.0 bad..name"
    summary = import_text(db, tmp_path, "big", "\n".join(lines) + "\n", workers=2)
    assert summary.totals.names == 4999
    assert summary.totals.samples == [f"{tmp_path / 'feed.txt'}:4322: invalid name: 'bad..name': empty label"]
    blocklist = StoreBlocklist(db)
    assert len(blocklist.lists["big"].sources) == 1 and blocklist.lists["big"].segments == 2
    assert all(blocklist.match_name(f"host{i}.example.org") for i in (0, 2499, 2500, 4999))


def test_rpz_actions_and_ip_triggers_are_enforced(tmp_path):
    db = tmp_path / "b.db"
    zone = ("$ORIGIN rpz.example.org.\n@ SOA ns. h. 1 2 3 4 5\n@ NS ns.\nnx.example.com CNAME .\n"
            "*.nx.example.com CNAME .\nok.nx.example.com CNAME rpz-passthru.\nr.example.com A 192.0.2.80\n"
            "24.0.0.128.100.rpz-ip CNAME rpz-drop.\n32.9.0.128.100.rpz-ip CNAME rpz-passthru.\n")
    import_text(db, tmp_path, "rpz", zone, "zone.rpz")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("nx.example.com").action is Action.NXDOMAIN
    assert blocklist.match_name("a.nx.example.com").action is Action.NXDOMAIN
    assert blocklist.match_name("ok.nx.example.com").action is Action.ALLOW
    assert blocklist.match_name("r.example.com").redirect == ("192.0.2.80",)
    assert blocklist.match_address("100.128.0.7").action is Action.DROP
    assert blocklist.match_address("100.128.0.9").action is Action.ALLOW
    assert blocklist.match_address("100.128.1.1") is None


def test_a_block_and_an_exception_for_the_same_name_in_one_list_are_both_kept(tmp_path):
    db = tmp_path / "b.db"
    summary = import_text(db, tmp_path, "ads", "||x.example.org^\n@@||x.example.org^\n||x.example.org^\n", format="adblock")
    assert (summary.totals.names, summary.totals.duplicates) == (2, 1)
    assert StoreBlocklist(db).match_name("a.x.example.org").action is Action.ALLOW


def test_a_hosts_file_with_bom_crlf_and_tabs_imports_cleanly(tmp_path):
    db = tmp_path / "b.db"
    path = tmp_path / "hosts"
    path.write_bytes("\ufeff# hosts\r\n127.0.0.1\tlocalhost\r\n0.0.0.0\tA.example.org\tb.example.org # ads\r\n"
                     ":: c.example.org\r\n".encode("utf-8"))
    summary = importer.import_list(db, importer.ImportRequest("hosts", (str(path),), workers=1), fake_guards())
    assert summary.formats == ("hosts",)
    assert (summary.totals.names, sum(summary.totals.skipped.values())) == (3, 0)
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("a.example.org").source == f"{path}:3"
    assert blocklist.match_name("c.example.org").source == f"{path}:4"


def test_a_request_that_cannot_be_imported_is_refused_when_made():
    for bad in (dict(list_name="manual"), dict(list_name="Bad Name"), dict(sources=()),
                dict(format="nonsense"), dict(match="sideways"), dict(column="2")):
        fields = {"list_name": "feed", "sources": ("feed.txt",), **bad}
        with pytest.raises(ImportFailed):
            importer.ImportRequest(**fields)
    assert importer.ImportRequest("feed", ["a.txt"]).sources == ("a.txt",)


def test_progress_is_reported_to_the_callback_up_to_the_whole_feed(tmp_path):
    calls = []
    text = "".join(f"n{number}.example.org\n" for number in range(1000))
    import_text(tmp_path / "b.db", tmp_path, "feed", text, on_progress=lambda done, total: calls.append((done, total)))
    size = len(text.encode())
    assert calls and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)


def test_the_change_figure_is_a_share_of_the_old_and_new_entries_together(tmp_path):
    db = tmp_path / "b.db"
    names = [f"n{i}.example.org\n" for i in range(150)]
    addresses = [f"100.128.0.{i}\n" for i in range(1, 51)]
    import_text(db, tmp_path, "feed", "".join(names + addresses), format="domains")
    others = [f"other{i}.example.org\n" for i in range(150)]
    replaced = import_text(db, tmp_path, "feed", "".join(others + addresses), format="domains", force=True)
    assert (replaced.removed, replaced.added, replaced.union) == (150, 150, 350)
    assert replaced.changed_share == pytest.approx(300 / 350)
    # Every entry replaced, addresses too: 100 %, never more.
    new_addresses = [f"100.128.1.{i}\n" for i in range(1, 51)]
    everything = import_text(db, tmp_path, "feed", "".join(names + new_addresses), format="domains", force=True)
    assert everything.changed_share == 1.0
    assert "  changed: 100% (200 entries removed, 200 added, of 400 old and new)" in list(everything.lines())


def test_the_change_threshold_uses_the_same_figure(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "".join(f"n{i}.example.org\n" for i in range(100)))
    # 100 names added, none removed: half of the 200 now listed, not 100 % of the old 100.
    grown = import_text(db, tmp_path, "feed", "".join(f"n{i}.example.org\n" for i in range(200)))
    assert grown.changed_share == 0.5 and not grown.held_back
    # 60 of 200 swapped: 120 of 260 changed (46 %), still under the threshold; 130 swapped: 260 of 330.
    swapped = [f"n{i}.example.org\n" for i in range(140)] + [f"x{i}.example.org\n" for i in range(60)]
    assert not import_text(db, tmp_path, "feed", "".join(swapped)).held_back
    more = [f"n{i}.example.org\n" for i in range(70)] + [f"y{i}.example.org\n" for i in range(130)]
    held = import_text(db, tmp_path, "feed", "".join(more))
    assert held.held_back and "79%" in held.held_back and "130 of its 200 entries removed, 130 added" in held.held_back


def test_phishing_on_cloud_platforms_is_blocked_while_the_platforms_own_names_are_not(tmp_path):
    """With the real brands (Amazon owns amazonaws.com, Microsoft windows.net): a customer's host below a
    private-section suffix is blocked; the platform's own names stay guarded."""
    from fraudwall.blocklists.guards import load_guards

    db = tmp_path / "b.db"
    text = ("foo.s3.us-east-1.amazonaws.com\nbucket.s3.amazonaws.com\nx.blob.core.windows.net\n"
            "amazonaws.com\ns3.amazonaws.com\nwww.amazon.com\n")
    summary = import_text(db, tmp_path, "phish", text, format="domains", match="exact", guards=load_guards())
    assert summary.totals.names == 3
    assert summary.totals.guarded == {"protected brand's domain": 3}
    blocklist = StoreBlocklist(db)
    for name in ("foo.s3.us-east-1.amazonaws.com", "bucket.s3.amazonaws.com", "x.blob.core.windows.net"):
        assert blocklist.match_name(name).list == "phish", name
    for name in ("amazonaws.com", "s3.amazonaws.com", "www.amazon.com", "other.s3.amazonaws.com"):
        assert blocklist.match_name(name) is None, name


def test_a_name_listed_twice_is_stored_once_from_its_first_line(tmp_path, monkeypatch):
    """Segments are filled in one sorted pass at the end: a duplicate still keeps its first line, in every worker."""
    monkeypatch.setattr(importer, "PARALLEL_BYTES", 1000)
    db = tmp_path / "b.db"
    lines = [f"n{i}.example.org" for i in range(4000)]
    lines[10] = lines[3000] = "twice.example.org"     # one worker each
    lines[20] = lines[30] = "again.example.org"      # both in the first worker
    summary = import_text(db, tmp_path, "dupes", "\n".join(lines) + "\n", format="domains", workers=2)
    assert summary.totals.duplicates == 1 and summary.totals.names == 3999   # across workers: a row in each
    blocklist = StoreBlocklist(db)
    assert blocklist.explain("again.example.org").source.endswith("feed.txt:21")
    assert blocklist.match_name("x.twice.example.org").source.endswith("feed.txt:11")


def test_a_small_lists_change_is_counted_too(tmp_path):
    """Below the change threshold's minimum size a list is never held back, but the summary still says what changed."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "small", "a.example.org\nb.example.org\n")
    summary = import_text(db, tmp_path, "small", "a.example.org\nc.example.org\nd.example.org\n")
    assert not summary.held_back
    assert (summary.removed, summary.added, summary.union) == (1, 2, 4)
    assert any(line.startswith("  changed: 75% (1 entries removed, 2 added, of 4 old and new)") for line in summary.lines())
