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
