"""The one escaping rule of operator output: nothing a client or a feed sends can drive the terminal."""

import json

import pytest
from fraudwall.blocklists.printable import printable, printable_json


@pytest.mark.parametrize("text, shown", [
    ("icbc-tuikuan.example.com", "icbc-tuikuan.example.com"),
    ("举报 this is our shop", "举报 this is our shop"),               # any script stays readable
    ("\x1b[31mred\rover", "\\027[31mred\\013over"),                 # RFC 1035 \DDD below 256
    ("a\nb\tc\x00d\x7f\x9b", "a\\010b\\009c\\000d\\127\\155"),      # C0, DEL and C1 controls
    ("evil\u202egnp.exe", "evil\\u202egnp.exe"),                    # a bidirectional override
    ("\U000e0001tag", "\\U000e0001tag"),                            # beyond the BMP
    ("C:\\027", "C:\\\\027"),                                       # a backslash cannot fake an escape
])
def test_non_printable_characters_are_escaped(text, shown):
    assert printable(text) == shown
    assert printable(shown).isprintable()


def test_json_values_and_keys_are_escaped_at_any_depth():
    record = {"name": "a\x1b.example", "reasons": ["x\ry", 1.5], "none": None, "k\x07": ("z\x08",)}
    escaped = printable_json(record)
    assert escaped == {"name": "a\\027.example", "reasons": ["x\\013y", 1.5], "none": None, "k\\007": ["z\\008"]}
    text = json.dumps(escaped, ensure_ascii=False)
    assert all(char.isprintable() for char in text)
    assert all(char.isprintable() for value in json.loads(text)["reasons"][:1] for char in value)
