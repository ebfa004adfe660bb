"""`fraudwall score` writes its lines by hand: every line is the line json writes for its own name
and score, escapes and all."""

import json

from fraudwall.blocklists.printable import printable_json
from fraudwall.resolver.cli.score import JsonLines, _record, _scored
from fraudwall.scoring.score import Score, Verdict


def _json(name, score):
    return json.dumps(printable_json(_record(name, score)), ensure_ascii=False)


def test_names_sharing_a_score_each_get_their_own_line():
    lines = JsonLines()
    shared = Score(0.9, Verdict.BLOCK, "paypal.com", ("homoglyph of paypal.com", "TLD .top"), "homoglyph")
    for name in ("paypa1.top", "paypai.top", "paypa1.top"):
        assert lines.of_score(name, shared) == _json(name, shared)


def test_zero_and_minus_zero_keep_their_spelling():
    lines = JsonLines()
    for value in (0.0, -0.0, 0.0, -0.0):
        score = Score(value, Verdict.ALLOW, None, (), "none")
        assert lines.of_score("example.org", score) == _json("example.org", score)


def test_a_score_whose_words_need_escaping_is_escaped_for_every_name():
    class Scorer:
        def score_normalised(self, name):
            return Score(0.5, Verdict.WARN, "bank\\.example", ("a\x7fb", "\u202eevil"), "words")

    text, status = _scored(Scorer(), ["a.example.org", "b.example.org"], JsonLines())
    assert status == 0
    assert text.splitlines() == [_json(name, Scorer().score_normalised(name))
                                 for name in ("a.example.org", "b.example.org")]
    assert json.loads(text.splitlines()[1])["reasons"] == ["a\\127b", "\\u202eevil"]

