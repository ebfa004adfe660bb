import pytest
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.opening import open_blocklist
from fraudwall.blocklists.settings import BlocklistSettings
from fraudwall.blocklists.store import default_db_path
from fraudwall.resolver.warning.certificates import default_ca_dir
from fraudwall.resolver.warning.reports import reports_path


def test_serve_answers_from_a_new_store_seeded_with_the_demo_list(tmp_path):
    blocklist = open_blocklist(BlocklistSettings(db=str(tmp_path / "state" / "b.db")))
    assert blocklist.match_name("login.paypal-verify.example.net").list == "demo"
    assert blocklist.match_name("example.net") is None
    assert (tmp_path / "state" / "b.db").exists()


def test_without_a_store_the_files_are_served_from_memory():
    assert isinstance(open_blocklist(BlocklistSettings(store=False)), MemoryBlocklist)


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        open_blocklist(BlocklistSettings(db=str(tmp_path / "b.db"), files=(str(tmp_path / "nope.txt"),)))


def test_the_default_store_is_under_var_lib_as_root_else_in_the_users_state(monkeypatch, tmp_path):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert str(default_db_path()) == "/var/lib/fraudwall/blocklists.db"
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "fraudwall" / "blocklists.db"


def test_the_store_the_ca_and_the_reports_default_to_one_state_directory(monkeypatch, tmp_path):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    state = tmp_path / "fraudwall"
    assert default_db_path().parent == default_ca_dir().parent == reports_path("").parent == state


@pytest.mark.parametrize("feed, message", [
    ("nourl", "NAME=URL,FORMAT,PERIOD"),
    ("x=ftp://example.org/a,hosts,3600", "http"),
    ("x=https://example.org/a,nope,3600", "unknown format"),
    ("x=https://example.org/a,hosts,5", "at least 60"),
])
def test_bad_feed_settings_name_the_key(feed, message):
    with pytest.raises(ValueError, match=f"feeds: .*{message}"):
        BlocklistSettings(feeds=(feed,))


def test_feed_settings_parse():
    feeds = BlocklistSettings(feeds=("phish=https://example.org/feed.txt,openphish,3600",)).parsed_feeds()
    assert feeds[0].name == "phish" and feeds[0].period == 3600


def test_a_changed_file_of_files_is_imported_again_at_open(tmp_path):
    import os
    import time

    listed = tmp_path / "local.txt"
    listed.write_text("first.example.org\n")
    settings = BlocklistSettings(db=str(tmp_path / "b.db"), files=(str(listed),))
    assert open_blocklist(settings).match_name("first.example.org").list == "local"
    listed.write_text("second.example.org\n")
    later = time.time() + 5
    os.utime(listed, (later, later))
    blocklist = open_blocklist(settings)
    assert blocklist.match_name("second.example.org") is not None
    assert blocklist.match_name("first.example.org") is None


def test_feeds_are_typed_once_and_a_list_filled_by_two_is_refused():
    from fraudwall.blocklists.settings import Feed

    typed = Feed("phish", "https://example.org/feed.txt", "openphish", 3600)
    assert BlocklistSettings(feeds=(typed,)).feeds == (typed,)
    assert BlocklistSettings(feeds=("phish=https://example.org/feed.txt,openphish,3600",)).feeds == (typed,)
    with pytest.raises(ValueError, match="two feeds fill list 'phish'"):
        BlocklistSettings(feeds=(typed, "phish=https://example.net/other.txt,hosts,600"))


def test_a_memory_list_spells_names_as_the_store_does(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("Faß.Example.\n*.bücher.example\n")
    blocklist = MemoryBlocklist.from_files([str(listed)])
    assert blocklist.match_name("www.xn--fa-hia.example").name == "xn--fa-hia.example"
    assert blocklist.match_name("xn--bcher-kva.example").name == "xn--bcher-kva.example"
    assert blocklist.match_name("fass.example") is None


def test_a_bad_name_in_a_memory_list_names_file_and_line(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("good.example\nex ample.org\n")
    with pytest.raises(ValueError, match=r"list.txt:2: not a domain name"):
        MemoryBlocklist.from_files([str(listed)])
