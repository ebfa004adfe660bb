"""BrandIndex.near: the head/tail lookups find what comparing with every token finds."""

import random

import pytest
from rapidfuzz.distance import OSA

from fraudwall.scoring.brands import load_brands
from fraudwall.scoring.homoglyph import skeleton
from fraudwall.scoring.index import BrandIndex
from fraudwall.scoring.typo import max_distance


@pytest.fixture(scope="module")
def index():
    return BrandIndex(load_brands())


def brute_force(index, text, folded):
    found = []
    for token in index._labels:
        form = skeleton(token) if folded else token
        if len(form) < 4:
            continue
        d = OSA.distance(text, form)
        if d == 2 and text[:3] != form[:3] and text[-3:] != form[-3:]:
            continue        # two edits: only where the first or the last three letters are kept
        if 0 < d <= max_distance(token) and abs(len(form) - len(text)) <= 2:
            found.append((token, d))
    return sorted(found)


def slips(token, rng):
    """A few one- and two-edit variants of `token`: what near must find."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    out = []
    for _ in range(6):
        text = token
        for _ in range(rng.choice((1, 2))):
            i = rng.randrange(len(text))
            kind = rng.randrange(4)
            if kind == 0:
                text = text[:i] + rng.choice(letters) + text[i + 1:]
            elif kind == 1:
                text = text[:i] + rng.choice(letters) + text[i:]
            elif kind == 2 and len(text) > 1:
                text = text[:i] + text[i + 1:]
            elif i + 1 < len(text):
                text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        out.append(text)
    return out


@pytest.mark.parametrize("folded", [False, True])
def test_near_finds_every_token_within_its_budget(index, folded):
    rng = random.Random(7)
    texts = ["github", "wikipedia", "kqzbx7h2", "mybestshopping24", "mall", "abcd"]
    for token in sorted(index._labels):
        texts += slips(skeleton(token) if folded else token, rng)
    for text in texts:
        got = sorted((m.token, m.distance) for m in index.near(text, folded=folded))
        assert got == brute_force(index, text, folded), text


def test_near_orders_nearest_then_longest(index):
    matches = index.near("paypa")
    assert matches and matches[0].token == "paypal" and matches[0].distance == 1


def test_domains_a_brands_domain_lies_below(index):
    assert index.above_owned("com.be")          # amazon.com.be, which the suffix list does not make registrable
    assert not index.above_owned("example.org")
