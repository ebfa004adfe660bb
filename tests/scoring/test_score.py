from fraudwall.scoring.score import Rule, Score, Signal, Verdict, combine, verdict_for


def test_thresholds_decide_the_verdict():
    assert verdict_for(0.85, 0.85, 0.6) is Verdict.BLOCK
    assert verdict_for(0.84, 0.85, 0.6) is Verdict.WARN
    assert verdict_for(0.59, 0.85, 0.6) is Verdict.ALLOW
    assert verdict_for(0.7, 0.7, 0.5) is Verdict.BLOCK


def test_two_weak_signals_together_say_more_than_either_but_not_everything():
    tld = Signal(0.35, Rule.TLD, "TLD .top")
    words = Signal(0.45, Rule.WORDS, "fraud words")
    score = combine([tld, words])
    assert 0.45 < score.value < 1
    assert score.value == round(1 - 0.65 * 0.55, 4)
    assert score.rule == "words" and score.reasons == ("fraud words", "TLD .top")


def test_brand_and_rule_come_from_the_strongest_signal():
    score = combine([Signal(0.35, Rule.TLD, "t"), Signal(0.9, Rule.TYPOSQUAT, "typo", "paypal.com")])
    assert score.brand == "paypal.com" and score.rule == "typosquat"
    assert score.verdict is Verdict.BLOCK


def test_no_signal_is_allow_with_rule_none():
    assert combine([]) == Score(0.0, Verdict.ALLOW, None, (), "none")


def test_score_is_frozen():
    score = combine([])
    try:
        score.value = 1.0
    except AttributeError:
        return
    raise AssertionError("Score must be immutable")
