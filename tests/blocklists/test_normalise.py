import pytest
from fraudwall.blocklists.normalise import InvalidName, normalise_name, parents


@pytest.mark.parametrize("text, name", [
    ("Example.ORG.", "example.org"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
    ("faß.example", "xn--fa-hia.example"),          # IDNA 2008: ß kept, not mapped to ss
    ("_dmarc.example.org", "_dmarc.example.org"),
    ("bücher\uff0eexample\u3002", "xn--bcher-kva.example"),   # full-width and ideographic full stops
])
def test_names_are_stored_lowercase_ascii_without_the_root_dot(text, name):
    assert normalise_name(text) == name


@pytest.mark.parametrize("text, reason", [
    ("a..example.org", "empty label"),
    ("a" * 64 + ".example.org", "63"),
    (".".join(["abcdefghi"] * 26), "253"),
    ("192.0.2.1", "numeric"),
    ("ex ample.org", "not allowed"),
    ("", "empty"),
    ("xn--zz.example", "internationalised"),
    # Found by the property tests: a Unicode full stop at the end raised StopIteration, which
    # a parser (a generator) turned into a RuntimeError that ended the import.
    ("0\uff0e", "numeric"),
    ("é\uff0e\uff0e", "empty label|internationalised"),
])
def test_invalid_names_are_rejected_with_the_reason(text, reason):
    with pytest.raises(InvalidName, match=reason):
        normalise_name(text)


def test_parents_walk_up_to_the_top_level():
    assert parents("a.b.example.org") == ["a.b.example.org", "b.example.org", "example.org", "org"]
