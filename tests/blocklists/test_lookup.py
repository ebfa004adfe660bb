import threading

from fraudwall.blocklists import store
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.store import StorePaths
from fraudwall.blocklists.verdict import Action

from .blocklist_helpers import import_text


def test_a_live_block_allow_and_unblock_are_picked_up_by_refresh(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("new.example.net") is None          # cached as "not blocked"
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("new.example.net", Mode.EXACT, Action.BLOCK, "test")])
    blocklist.refresh()
    assert blocklist.match_name("new.example.net").list == "manual"
    store.set_manual(writer, [("ok.bad.example.org", Mode.SUBTREE, Action.ALLOW, "")])
    assert blocklist.match_name("ok.bad.example.org") is not None
    blocklist.refresh()
    assert blocklist.match_name("ok.bad.example.org").action is Action.ALLOW
    assert blocklist.match_name("x.ok.bad.example.org").action is Action.ALLOW
    store.remove_manual(writer, ["new.example.net"])
    blocklist.refresh()
    assert blocklist.match_name("new.example.net") is None


def test_refresh_says_whether_the_lists_changed(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db)
    assert [blocklist.refresh() for _ in range(3)] == [False, False, False]
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("new.example.net", Mode.EXACT, Action.BLOCK, "test")])
    assert blocklist.refresh() is True
    assert blocklist.refresh() is False


def test_a_corrupt_filter_is_rebuilt_from_the_store_with_a_warning(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    connection = store.connect_catalogue(db)
    filter_file = StorePaths(db).directory / store.meta(connection, "filter_file")
    data = bytearray(filter_file.read_bytes())
    data[40:] = bytes(len(data) - 40)           # every bit gone: every name would be "no"
    filter_file.write_bytes(bytes(data))
    warnings = []
    blocklist = StoreBlocklist(db, warn=warnings.append)
    assert blocklist.match_name("bad.example.org") is not None
    assert any("rebuilding it from the store" in warning for warning in warnings)
    assert StoreBlocklist(db, warn=warnings.append).match_name("x.bad.example.org") is not None
    assert len([w for w in warnings if "rebuilding" in w]) == 1    # the rebuilt filter was saved


def test_a_reader_sees_the_old_list_or_the_new_never_a_mix_or_nothing(tmp_path):
    db = tmp_path / "b.db"
    old = [f"old{i}.example.org" for i in range(200)]
    new = [f"new{i}.example.org" for i in range(200)]
    import_text(db, tmp_path, "feed", "\n".join(old) + "\n")
    seen: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        blocklist = StoreBlocklist(db)
        while not stop.is_set():
            blocklist.refresh()
            olds = sum(blocklist.match_name(name) is not None for name in old[::20])
            news = sum(blocklist.match_name(name) is not None for name in new[::20])
            seen.append(f"{olds}/{news}")
        blocklist.close()

    thread = threading.Thread(target=reader)
    thread.start()
    for round in range(6):
        names = new if round % 2 == 0 else old
        import_text(db, tmp_path, "feed", "\n".join(names) + "\n", force=True)
    stop.set()
    thread.join()
    assert set(seen) <= {"10/0", "0/10"}, set(seen)
    assert "0/10" in seen


def test_addresses_match_the_most_specific_network(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "ips", "100.128.2.0/24\n2a00:1::/32\n100.129.100.7\n", format="iplist")
    writer = store.connect_catalogue(db)
    store.set_manual_networks(writer, [("100.128.2.128/25", Action.ALLOW, "ours")])
    blocklist = StoreBlocklist(db)
    assert blocklist.match_address("100.128.2.1").name == "100.128.2.0/24"
    assert blocklist.match_address("100.128.2.200").action is Action.ALLOW
    assert blocklist.match_address("2a00:1:1::5").list == "ips"
    assert blocklist.match_address("100.129.100.7") is not None
    assert blocklist.match_address("100.129.100.8") is None
    assert blocklist.match_address("not an address") is None


def test_entries_remembered_for_one_query_decide_the_next_by_their_own_rules(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "exact", "login.example.org\n", filename="exact.txt", match="exact")
    import_text(db, tmp_path, "tree", "phish.example.net\n", filename="tree.txt")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("login.example.org").list == "exact"
    # Same names to look up, other query: an exact entry never covers the names below it.
    assert blocklist.match_name("a.login.example.org") is None
    for label in ("x1", "x2", "x3"):
        assert blocklist.match_name(f"{label}.phish.example.net").list == "tree"
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("x4.phish.example.net", Mode.EXACT, Action.ALLOW, "")])
    assert blocklist.refresh()
    assert blocklist.match_name("x4.phish.example.net").action is Action.ALLOW
    assert blocklist.match_name("x5.phish.example.net").list == "tree"


def test_the_generation_moves_with_every_list_change_and_never_back(tmp_path):
    """The store's change counter: a block, an unblock and a re-import each move it (issue 12)."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db)
    seen = [blocklist.generation]
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("new.example.net", Mode.EXACT, Action.BLOCK, "test")])
    assert blocklist.refresh()
    seen.append(blocklist.generation)
    store.remove_manual(writer, ["new.example.net"])
    assert blocklist.refresh()
    seen.append(blocklist.generation)
    import_text(db, tmp_path, "feed", "other.example.org\n", force=True)
    assert blocklist.refresh()
    seen.append(blocklist.generation)
    assert seen == sorted(set(seen)), seen
    store.prune_changes(writer, keep_seconds=0)        # the log is pruned, the counter stays
    assert StoreBlocklist(db).generation == seen[-1]


def test_a_new_snapshot_is_prepared_aside_and_in_force_only_once_installed(tmp_path):
    """A worker prepares the next lists on a thread; queries see the old ones until the swap."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db)
    before = blocklist.generation
    import_text(db, tmp_path, "feed", "other.example.org\n", force=True)
    update = threading_result(blocklist.prepare)
    assert update is not None
    assert blocklist.match_name("bad.example.org") is not None and blocklist.generation == before
    blocklist.install(update)
    blocklist.forget()
    assert blocklist.match_name("bad.example.org") is None
    assert blocklist.match_name("other.example.org").list == "feed"
    assert blocklist.generation > before
    assert blocklist.prepare() is None                # nothing new since


def threading_result(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join(30)
    return result[0]


def test_a_full_verdict_cache_lets_its_oldest_entry_go_not_all_of_them(tmp_path):
    """Dropping every cached verdict at once held up the queries behind it; one leaves per new one."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db, cache_size=3)
    for name in ("a.example.org", "b.example.org", "c.example.org", "bad.example.org"):
        blocklist.match_name(name)
    assert list(blocklist._cache) == ["b.example.org", "c.example.org", "bad.example.org"]
    assert blocklist.match_name("bad.example.org").list == "feed"
    blocklist.close()


def test_a_policys_lists_choose_among_their_own_entries_only(tmp_path):
    """An allow on a list a policy leaves out must not hide the block of a list it names."""
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "phish", "bad.example.org\n")
    import_text(db, tmp_path, "trusted", "@@||bad.example.org^\n", format="adblock")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("bad.example.org").action is Action.ALLOW
    only_phish = frozenset({"phish"})
    assert blocklist.match_name("bad.example.org", only_phish).list == "phish"
    assert blocklist.match_name("www.bad.example.org", only_phish).action is Action.BLOCK
    assert blocklist.match_name("bad.example.org", frozenset({"other"})) is None
    # The answer for all lists is still the allow: the two are cached apart.
    assert blocklist.match_name("bad.example.org").action is Action.ALLOW
    blocklist.close()


def test_a_policys_lists_choose_among_their_own_addresses_only(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "bad-hosts", "100.128.0.9\n", format="domains")
    blocklist = StoreBlocklist(db)
    assert blocklist.match_address("100.128.0.9").list == "bad-hosts"
    assert blocklist.match_address("100.128.0.9", frozenset({"bad-hosts"})).list == "bad-hosts"
    assert blocklist.match_address("100.128.0.9", frozenset({"phish"})) is None
    blocklist.close()


def test_new_subdomains_of_a_listed_name_keep_their_verdicts_once_the_parent_is_remembered(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("ok.bad.example.org", Mode.SUBTREE, Action.ALLOW, ""),
                              ("exact.example.net", Mode.EXACT, Action.BLOCK, "")])
    blocklist = StoreBlocklist(db)
    blocklist.refresh()
    for round in range(2):   # the second round walks from the remembered parents
        for index in range(3):
            assert blocklist.match_name(f"r{round}x{index}.bad.example.org").action is Action.BLOCK
            assert blocklist.match_name(f"r{round}x{index}.ok.bad.example.org").action is Action.ALLOW
            assert blocklist.match_name(f"r{round}x{index}.exact.example.net") is None   # exact: not below
        assert blocklist.match_name("bad.example.org").action is Action.BLOCK
        assert blocklist.match_name("exact.example.net").action is Action.BLOCK
    assert blocklist.match_name("x.bad.example.org", frozenset({"other"})) is None   # another list's entry
    store.set_manual(writer, [("deep.bad.example.org", Mode.SUBTREE, Action.ALLOW, "")])
    blocklist.refresh()   # a new generation: nothing remembered from the old one decides
    assert blocklist.match_name("y.deep.bad.example.org").action is Action.ALLOW
    assert blocklist.match_name("y.bad.example.org").action is Action.BLOCK


class CountingFilter:
    """The snapshot's filter, counting the names it is asked about."""

    def __init__(self, name_filter):
        self.name_filter = name_filter
        self.asked: list[str] = []

    def __contains__(self, name):
        self.asked.append(name)
        return name in self.name_filter

    def close(self):
        self.name_filter.close()


def test_new_names_under_a_domain_walked_before_test_only_their_own_name(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\n")
    blocklist = StoreBlocklist(db)
    counting = blocklist._snapshot.name_filter = CountingFilter(blocklist._snapshot.name_filter)
    assert blocklist.match_name("a1.cdn.example.net") is None
    assert blocklist.match_name("x.a1.bad.example.org").action is Action.BLOCK
    assert counting.asked == ["a1.cdn.example.net", "cdn.example.net", "example.net", "net",
                              "x.a1.bad.example.org", "a1.bad.example.org", "bad.example.org", "example.org", "org"]
    counting.asked.clear()
    for index in range(2, 6):   # CDN hashes, telemetry, random labels under a domain seen before
        assert blocklist.match_name(f"a{index}.cdn.example.net") is None
        assert blocklist.match_name(f"x.a{index}.bad.example.org").action is Action.BLOCK
    assert counting.asked == [name for index in range(2, 6) for name in
                              (f"a{index}.cdn.example.net", f"x.a{index}.bad.example.org", f"a{index}.bad.example.org")]
    # A block of the domain walked before is a new generation: what was remembered no longer decides.
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("cdn.example.net", Mode.SUBTREE, Action.BLOCK, "test")])
    blocklist.refresh()
    assert blocklist.match_name("a9.cdn.example.net").list == "manual"
    assert blocklist.match_name("a9.example.net") is None
    blocklist.close()


def test_a_name_holds_nothing_unless_a_list_or_the_operator_may_hold_an_entry_at_it(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", "bad.example.org\nexact.bad.example.org\n")
    blocklist = StoreBlocklist(db)
    assert blocklist.holds_nothing_at("new.bad.example.org")        # decided above it: by bad.example.org
    assert not blocklist.holds_nothing_at("bad.example.org")
    assert not blocklist.holds_nothing_at("exact.bad.example.org")
    writer = store.connect_catalogue(db)
    store.set_manual(writer, [("ok.bad.example.org", Mode.EXACT, Action.ALLOW, "")])
    blocklist.refresh()
    assert not blocklist.holds_nothing_at("ok.bad.example.org")     # the operator's entry, beside the filter
    blocklist.close()
