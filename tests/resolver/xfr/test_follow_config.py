"""A followed zone in the config: `[[lists]]` tables with `primary` and the `[blocklists] follow`
strings are one `Follow`; a TSIG key it names must be in `[xfr] keys_file`, which its owner alone
may read; every mistake is one line naming the place."""

from __future__ import annotations

import pytest

from fraudwall.blocklists.settings import Follow
from fraudwall.resolver import config
from fraudwall.resolver.config import ConfigError

KEY = 'key "transfer-key" {\n\talgorithm hmac-sha256;\n\tsecret "dO8RrYBbCJzXjEeDD+QwLN+g9E2WIevtnGrs5zgnu5Q=";\n};\n'


def write(tmp_path, text: str, key_mode: int = 0o600):
    keys = tmp_path / "xfr.key"
    keys.write_text(KEY)
    keys.chmod(key_mode)
    path = tmp_path / "fraudwall.toml"
    path.write_text(text)
    return path


def test_a_lists_table_with_a_primary_and_a_follow_string_are_the_same_follow(tmp_path):
    loaded = config.load(write(tmp_path, """
[blocklists]
follow = ["vendor=rpz.example.net,192.0.2.1:5353"]

[[lists]]
name = "phish"
primary = "192.0.2.10:5353"
zone = "phish.rpz.fraudwall"

[[lists]]
name = "openphish"
url = "https://feeds.example.net/feed.txt"
"""))
    assert loaded.blocklists.follow == (Follow("vendor", "rpz.example.net", "192.0.2.1:5353"),
                                        Follow("phish", "phish.rpz.fraudwall", "192.0.2.10:5353"))
    assert [feed.name for feed in loaded.blocklists.feeds] == ["openphish"]


def test_a_followed_list_names_a_key_of_the_key_file(tmp_path):
    loaded = config.load(write(tmp_path, """
[xfr]
keys_file = "xfr.key"

[blocklists]
follow = ["vendor=rpz.example.net,192.0.2.1:5353,transfer-key"]

[[lists]]
name = "phish"
primary = "192.0.2.10:5353"
zone = "phish.rpz.fraudwall"
key = "transfer-key"
"""))
    assert {(follow.name, follow.key, follow.keys_file) for follow in loaded.blocklists.follow} == {
        ("vendor", "transfer-key", str(tmp_path / "xfr.key")), ("phish", "transfer-key", str(tmp_path / "xfr.key"))}


@pytest.mark.parametrize("text, words", [
    ("[[lists]]\nname = 'x'\nprimary = '192.0.2.1'\n", ["[[lists]] #1 zone: a string is required"]),
    ("[[lists]]\nname = 'x'\nprimary = '192.0.2.1'\nzone = 'z.example'\nrefresh = 60\n",
     ["[[lists]] #1 unknown key 'refresh' (known: key, name, primary, zone)"]),
    ("[[lists]]\nname = 'x'\nprimary = 'ns.example.org'\nzone = 'z.example'\n", ["[[lists]] #1 primary:"]),
    ("[[lists]]\nname = 'x'\nprimary = '192.0.2.1'\nurl = 'https://e.example.org/f'\n",
     ["[[lists]] #1 primary: a list is downloaded (url) or followed (primary), not both"]),
    ("[[lists]]\nname = 'x'\nprimary = '192.0.2.1'\nzone = 'z.example'\nkey = 'transfer-key'\n",
     ["list 'x' key: 'transfer-key' needs [xfr] keys_file"]),
    ("[xfr]\nkeys_file = 'xfr.key'\n[[lists]]\nname = 'x'\nprimary = '192.0.2.1'\nzone = 'z.example'\nkey = 'other'\n",
     ["list 'x' key: no key 'other' in", "(it holds: transfer-key)"]),
    ("[xfr]\nkeys_file = 'xfr.key'\nnotify = ['192.0.2.53 key other']\n", ["[xfr] notify '192.0.2.53 key other'"]),
    ("[xfr]\nrequire_key = true\n", ["[xfr] require_key: true needs keys_file"]),
    ("[xfr]\nkeys_file = 'absent.key'\n", ["[xfr] keys_file:", "absent.key: cannot read the TSIG keys"]),
])
def test_a_wrong_followed_list_or_key_is_one_line_naming_it(tmp_path, text, words):
    with pytest.raises(ConfigError) as raised:
        config.load(write(tmp_path, text))
    for word in words:
        assert word in str(raised.value)


def test_a_key_file_others_may_read_stops_the_config_naming_the_file(tmp_path):
    path = write(tmp_path, "[xfr]\nkeys_file = 'xfr.key'\n", key_mode=0o644)
    with pytest.raises(ConfigError, match=rf"\[xfr\] keys_file: {tmp_path / 'xfr.key'}: the TSIG keys are readable "
                                          r"by others \(mode 0644\): chmod 600"):
        config.load(path)
