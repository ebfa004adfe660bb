"""The store's side of the transfer server: serials that only grow, and a list read as a stream."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fraudwall.blocklists import store
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.verdict import Action
from fraudwall.resolver.config import ConfigError, from_document
from tests.e2e.peers import fraudwall_binary


@pytest.fixture
def db(tmp_path: Path) -> Path:
    feed = tmp_path / "phish.txt"
    feed.write_text("bank.example.com\nshop.example.net\n100.128.0.7\n")   # documentation ranges are refused
    path = tmp_path / "blocklists.db"
    subprocess.run([fraudwall_binary(), "import", "--db", str(path), "--list", "phish", str(feed)],
                   check=True, capture_output=True)
    return path


def test_a_list_streams_every_entry_and_an_import_is_a_new_serial(db: Path, tmp_path: Path):
    connection = store.connect_catalogue(db)
    stream = store.ListStream(store.StorePaths(db), connection, "phish")
    try:
        assert stream.serial == store.serials(connection)["phish"] == 1 << 16     # the first generation
        assert sorted(entry.name for entry in stream.names()) == ["bank.example.com", "shop.example.net"]
        assert [entry.network for entry in stream.networks()] == ["100.128.0.7"]
    finally:
        stream.close()
    again = tmp_path / "again.txt"
    again.write_text("bank.example.com\n")
    subprocess.run([fraudwall_binary(), "import", "--db", str(db), "--list", "phish", "--force", str(again)],
                   check=True, capture_output=True)
    assert store.serials(connection)["phish"] == 2 << 16


def test_a_stream_opened_before_an_import_reads_the_generation_it_opened(db: Path, tmp_path: Path):
    connection = store.connect_catalogue(db)
    stream = store.ListStream(store.StorePaths(db), connection, "phish")
    other = tmp_path / "other.txt"
    other.write_text("other.example.org\n")
    subprocess.run([fraudwall_binary(), "import", "--db", str(db), "--list", "phish", "--force", str(other)],
                   check=True, capture_output=True)
    try:
        assert sorted(entry.name for entry in stream.names()) == ["bank.example.com", "shop.example.net"]
    finally:
        stream.close()


def test_the_operators_serial_grows_with_each_change_and_survives_the_log_being_pruned(db: Path):
    connection = store.connect_catalogue(db)
    before = store.serials(connection)["manual"]
    store.set_manual(connection, [("evil.example.org", Mode.SUBTREE, Action.BLOCK, "")])
    blocked = store.serials(connection)["manual"]
    assert blocked > before
    store.remove_manual(connection, ["evil.example.org"])
    removed = store.serials(connection)["manual"]
    assert removed > blocked
    store.log_change(connection, "swap", "phish")
    connection.execute("DELETE FROM changes WHERE id < (SELECT max(id) FROM changes)")   # a day later
    assert store.serials(connection)["manual"] >= removed
    stream = store.ListStream(store.StorePaths(db), connection, "manual")
    assert stream.serial == store.serials(connection)["manual"] and list(stream.names()) == []


@pytest.mark.parametrize(("table", "message"), [
    ({"suffix": "fraudwall"}, "[xfr] suffix: 'fraudwall' is not a domain name of two labels or more"),
    ({"listen": "localhost:53"}, "[xfr] listen: 'localhost' is not an IP address"),
    ({"notify": ["192.0.2.1:0"]}, "[xfr] notify: '0' is not a port number (1-65535)"),
    ({"allow": ["everyone"]}, "[xfr] allow: 'everyone' is not an IP network"),
])
def test_a_wrong_xfr_setting_is_one_line_naming_it(table, message):
    with pytest.raises(ConfigError) as raised:
        from_document({"xfr": table}, "fraudwall.toml")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_released_quarantine_entry_moves_its_lists_serial(db: Path, tmp_path: Path):
    feed = tmp_path / "popular.txt"
    feed.write_text("mozilla.org\nbank.example.com\n")     # a popular site is held back at import
    subprocess.run([fraudwall_binary(), "import", "--db", str(db), "--list", "popular", str(feed)],
                   check=True, capture_output=True)
    connection = store.connect_catalogue(db)
    before = store.serials(connection)["popular"]
    assert store.release(store.StorePaths(db), connection, ["mozilla.org"]) == [("popular", "mozilla.org")]
    assert store.serials(connection)["popular"] == before + 1
    stream = store.ListStream(store.StorePaths(db), connection, "popular")
    try:
        assert "mozilla.org" in {entry.name for entry in stream.names()}
    finally:
        stream.close()


def test_a_list_removed_and_imported_again_starts_above_every_serial_it_had(db: Path, tmp_path: Path):
    connection = store.connect_catalogue(db)
    again = tmp_path / "again.txt"
    again.write_text("bank.example.com\n")
    subprocess.run([fraudwall_binary(), "import", "--db", str(db), "--list", "phish", "--force", str(again)],
                   check=True, capture_output=True)
    highest = store.serials(connection)["phish"]
    for _ in range(2):
        subprocess.run([fraudwall_binary(), "lists", "remove", "phish", "--db", str(db)], check=True,
                       capture_output=True)
        assert "phish" not in store.serials(connection)
        subprocess.run([fraudwall_binary(), "import", "--db", str(db), "--list", "phish", str(again)],
                       check=True, capture_output=True)
        serial = store.serials(connection)["phish"]
        assert serial > highest, "a secondary holding the old zone would take the new one for older"
        highest = serial
