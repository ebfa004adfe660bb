import pytest

from fraudwall.scoring.typo import Edit, classify, distance, max_distance


@pytest.mark.parametrize("label, token, edit", [
    ("icb", "icbc", Edit.OMISSION),
    ("paypall", "paypal", Edit.REPETITION),
    ("paypals", "paypal", Edit.ADDITION),
    ("paypsal", "paypal", Edit.INSERTION),
    ("paypel", "paypal", Edit.VOWEL_SWAP),
    ("paypcl", "paypal", Edit.BITSQUATTING),     # a ^ c is one bit
    ("paypak", "paypal", Edit.REPLACEMENT),
    ("papyal", "paypal", Edit.TRANSPOSITION),
    ("pay-pal", "paypal", Edit.HYPHENATION),
    ("pqypql", "paypal", Edit.EDITS),
])
def test_classify_names_the_slip(label, token, edit):
    assert classify(label, token) is edit


def test_a_swap_of_neighbours_is_one_edit():
    assert distance("papyal", "paypal", 2) == 1


def test_short_tokens_get_no_fuzzy_budget_long_ones_two():
    assert max_distance("jd") == 0 and max_distance("ccb") == 0
    assert max_distance("icbc") == 1 and max_distance("paypal") == 1
    assert max_distance("bankofamerica") == 2
