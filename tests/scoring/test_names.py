import pytest

from fraudwall.scoring.names import InvalidName, normalise


def test_one_spelling():
    assert normalise("WWW.Example.ORG.") == "www.example.org"
    assert normalise("bücher.example") == "xn--bcher-kva.example"
    assert normalise("_dmarc.example.org") == "_dmarc.example.org"


@pytest.mark.parametrize("name, message", [
    ("", "empty name"), ("a..example", "empty label"), ("a" * 64 + ".example", "longer than 63"),
    (".".join(["a" * 60] * 5), "longer than 253"), ("exa mple.org", "invalid character ' '"),
    ("-example.org", "hyphen"), ("ex@mple.org", "invalid character '@'"),
])
def test_bad_names_say_why(name, message):
    with pytest.raises(InvalidName, match=message):
        normalise(name)
