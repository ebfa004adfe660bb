import argparse
import io
import json
import types

from fraudwall.resolver.cli.score import add_parsers
from fraudwall.scoring.settings import ScorerSettings


def run(argv, stdin="", config=None):
    parser = argparse.ArgumentParser(prog="fraudwall")
    add_parsers(parser.add_subparsers())
    args = parser.parse_args(argv)
    if config is not None:
        args.config = config
    out = io.StringIO()
    status = args.run(args, stdin=io.StringIO(stdin), stdout=out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_score_names_one_json_object_a_line():
    status, lines = run(["score", "paypa1.com", "example.org"])
    assert status == 0
    assert [line["name"] for line in lines] == ["paypa1.com", "example.org"]
    assert lines[0]["verdict"] == "block" and lines[0]["brand"] == "paypal.com"
    assert lines[0]["reasons"] and lines[0]["score"] >= 0.85
    assert lines[1] == {"name": "example.org", "score": 0.0, "verdict": "allow", "brand": None,
                        "reasons": [], "rule": "none"}


def test_stdin_bad_lines_get_an_error_and_the_run_goes_on():
    status, lines = run(["score", "--stdin"], stdin="icbc-tuikuan.top\n\n" + "a" * 64 + ".com\nexa mple.org\njd.com\n")
    assert status == 2
    assert [l["name"] for l in lines] == ["icbc-tuikuan.top", "a" * 64 + ".com", "exa mple.org", "jd.com"]
    assert "label longer than 63" in lines[1]["error"] and "' ' not allowed" in lines[2]["error"]
    assert lines[0]["verdict"] == "block" and lines[3]["verdict"] == "allow"


def test_thresholds_come_from_the_config():
    config = types.SimpleNamespace(scorer=ScorerSettings(block_threshold=0.7, warn_threshold=0.5))
    _, lines = run(["score", "jdd.com"], config=config)
    assert lines[0]["verdict"] == "block"
    _, lines = run(["score", "jdd.com"])
    assert lines[0]["verdict"] == "warn"


def test_broken_brands_file_is_exit_1(tmp_path, capsys):
    bad = tmp_path / "brands.toml"
    bad.write_text("[[brand]\n")
    config = types.SimpleNamespace(scorer=ScorerSettings(brands_file=str(bad)))
    status, lines = run(["score", "example.org"], config=config)
    assert status == 1 and not lines
    assert "not valid TOML" in capsys.readouterr().err


def test_a_name_with_terminal_controls_is_printed_escaped():
    # `score --stdin` reads feeds and logs: the names it echoes must not drive the operator's terminal.
    status, lines = run(["score", "--stdin"], stdin="\x1b[31mpaypa1.com\x9b\npaypa1.com\u202e\n")
    assert status == 2
    assert [line["name"] for line in lines] == ["\\027[31mpaypa1.com\\155", "paypa1.com\\u202e"]
    assert all(char.isprintable() for line in lines for char in line["error"])
