"""The name guards: public suffixes of either section of the list, and protected names as the store spells them."""

import pytest
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.guards import Guard, load_guards


@pytest.fixture(scope="module")
def guards():
    return load_guards(brands=lambda extra: [])


@pytest.mark.parametrize("name", ["com", "co.uk", "github.io", "xn--55qx5d.cn", "x.ck"])
def test_a_public_suffix_is_never_blocked_as_a_subtree(guards, name):
    # xn--55qx5d.cn is 公司.cn: the list writes it in Unicode, the store in punycode.
    assert guards.check(name, Mode.SUBTREE) is Guard.PUBLIC_SUFFIX
    assert guards.check(name, Mode.EXACT) is None


def test_names_under_a_suffix_are_not_suffixes(guards):
    assert guards.check("www.ck", Mode.SUBTREE) is None       # the exception rule !www.ck
    assert guards.check("phish.github.io", Mode.SUBTREE) is None


def test_a_popular_file_protects_a_unicode_name_as_the_store_spells_it(tmp_path):
    popular = tmp_path / "popular.txt"
    popular.write_text("# ours\nFaß.Example.  # the shop\n")
    guards = load_guards(popular_file=str(popular), brands=lambda extra: [], public_suffixes=frozenset({"example"}))
    assert guards.check("login.xn--fa-hia.example", Mode.SUBTREE) is Guard.POPULAR


def test_a_bad_name_in_a_guard_file_names_file_and_line(tmp_path):
    popular = tmp_path / "popular.txt"
    popular.write_text("good.example\nex ample.org\n")
    with pytest.raises(ValueError, match=r"popular.txt:2: 'ex ample.org' is not a domain name"):
        load_guards(popular_file=str(popular), brands=lambda extra: [], public_suffixes=frozenset())


@pytest.fixture(scope="module")
def platform_guards():
    """The platforms' owners as protected brands, as the scorer's brands file makes them."""
    return load_guards(brands=lambda extra: ["amazonaws.com", "amazon.com", "windows.net", "appspot.com"])


@pytest.mark.parametrize("name", [
    "foo.s3.us-east-1.amazonaws.com", "bucket.s3.amazonaws.com", "x.blob.core.windows.net", "phish.appspot.com",
    "a.b.phish.appspot.com",
])
def test_a_customers_name_on_a_platform_is_not_the_brands(platform_guards, name):
    """The private section of the suffix list makes `s3.amazonaws.com`, `blob.core.windows.net` and
    `appspot.com` suffixes: a name below one is its customer's registrable domain, not the brand's."""
    assert platform_guards.check(name, Mode.SUBTREE) is None
    assert platform_guards.check(name, Mode.EXACT) is None


@pytest.mark.parametrize("name, mode", [
    ("amazonaws.com", Mode.EXACT), ("amazonaws.com", Mode.SUBTREE), ("s3.amazonaws.com", Mode.EXACT),
    ("s3.us-east-1.amazonaws.com", Mode.EXACT), ("www.amazon.com", Mode.SUBTREE), ("login.amazon.com", Mode.EXACT),
    ("blob.core.windows.net", Mode.EXACT), ("core.windows.net", Mode.SUBTREE), ("appspot.com", Mode.EXACT),
])
def test_the_platforms_own_names_stay_protected(platform_guards, name, mode):
    assert platform_guards.check(name, mode) is Guard.BRAND


def test_a_suffix_is_still_never_blocked_as_a_subtree(platform_guards):
    assert platform_guards.check("s3.amazonaws.com", Mode.SUBTREE) is Guard.PUBLIC_SUFFIX
    assert platform_guards.check("blob.core.windows.net", Mode.SUBTREE) is Guard.PUBLIC_SUFFIX


def test_a_popular_platform_protects_its_own_names_not_its_customers(tmp_path):
    popular = tmp_path / "popular.txt"
    popular.write_text("blogspot.com\n")
    guards = load_guards(popular_file=str(popular), brands=lambda extra: [])
    assert guards.check("blogspot.com", Mode.EXACT) is Guard.POPULAR
    assert guards.check("fake-bank.blogspot.com", Mode.SUBTREE) is None


@pytest.mark.parametrize("mode", list(Mode))
def test_checking_a_batch_of_names_trips_the_guards_checking_each_would(mode):
    """The importer checks a feed's plain names a batch at a time: the same guards, at the same places."""
    guards = load_guards(brands=lambda extra: ["examplebank.example", "s3.amazonaws.com"])
    names = ["x7k2m9q-secure.top", "co.uk", "github.io", "x.github.io", "foo.ck", "a.foo.ck", "com",
             "examplebank.example", "login.examplebank.example", "bucket.s3.amazonaws.com", "s3.amazonaws.com",
             "google.com", "mail.google.com", "a.b.c.d.example", "ordinary.example.org", "co.uk"]
    batch = [f"n{index}.example.net" for index in range(50)] + names + ["last.example.org"]
    expected = [(index, guard) for index, name in enumerate(batch) if (guard := guards.check(name, mode)) is not None]
    assert guards.check_many(batch, mode) == expected
    assert len(expected) >= 5   # brands, popular sites (and suffixes unless the entry is exact)
    assert guards.check_many([f"n{index}.example.net" for index in range(50)], mode) == []
