"""Platforms whose subdomains are their customers' though the bundled suffix list does not say so."""

from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.guards import Guard, load_guards
from fraudwall.blocklists.lookup import StoreBlocklist

from .blocklist_helpers import import_text


def test_phishing_in_user_content_and_storage_buckets_is_blocked(tmp_path):
    db = tmp_path / "b.db"
    text = ("paypal-verify.googleusercontent.com\nsecure-login-1301.cos.ap-guangzhou.myqcloud.com\n"
            "googleusercontent.com\n")
    summary = import_text(db, tmp_path, "phish", text, format="domains", guards=load_guards())
    assert summary.totals.names == 2
    assert summary.totals.guarded == {"public suffix": 1}
    blocklist = StoreBlocklist(db)
    assert blocklist.match_name("paypal-verify.googleusercontent.com").list == "phish"
    assert blocklist.match_name("www.secure-login-1301.cos.ap-guangzhou.myqcloud.com").list == "phish"
    # Another customer's host under the same platform is not touched.
    assert blocklist.match_name("lh3.googleusercontent.com") is None
    blocklist.close()


def test_the_platform_itself_cannot_be_blocked_as_a_subtree():
    guards = load_guards()
    assert guards.check("googleusercontent.com", Mode.SUBTREE) is Guard.PUBLIC_SUFFIX
    assert guards.check("myqcloud.com", Mode.SUBTREE) is Guard.PUBLIC_SUFFIX
