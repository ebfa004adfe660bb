import argparse
import io
import json
import os
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
    status, lines = run(["score", "--stdin"], stdin="\x1b[31mpaypa1.com\x9b\npaypa1.com\u202e\npaypa1\x7f.com\n")
    assert status == 2
    assert [line["name"] for line in lines] == ["\\027[31mpaypa1.com\\155", "paypa1.com\\u202e", "paypa1\\127.com"]
    assert all(char.isprintable() for line in lines for char in line["error"])


def names_of_every_kind(count):
    """Look-alikes, brand-and-word names, brands' own hosts, plain names, and a few that are no names."""
    brands = ["paypal", "apple", "icbc", "amazon", "jd", "microsoft", "alipay", "netflix"]
    words = ["login", "secure", "tuikuan", "verify", "shop", "garden", "news", "cloud"]
    tlds = ["com", "top", "cn", "com.cn", "xyz", "co.uk", "de", "icu"]
    names = []
    for index in range(count):
        brand, word, tld = brands[index % 8], words[index // 8 % 8], tlds[index // 64 % 8]
        kind = index % 7
        if kind == 0:
            names.append(f"{brand[:-1]}{brand[-1] * 2}{index}.{tld}")
        elif kind == 1:
            names.append(f"{brand}-{word}.{tld}")
        elif kind == 2:
            names.append(f"www.{brand}.com")
        elif kind == 3:
            names.append(f"{word}{index}.example.{tld}")
        elif kind == 4:
            names.append(f"{brand}.com.{word}-{index}.{tld}")
        elif kind == 5:
            names.append(f"xn--pypal-4ve{index % 3}.com" if index % 2 else f"раураl{index}.com")
        else:
            names.append(["exa mple.org", "a" * 64 + ".com", "\x1bpaypa1.com", 'q"uote.com', f"back\\slash{index}.com"][index % 5])
    return names


def score_with(stdin, workers, argv=("score", "--stdin")):
    from fraudwall.resolver.cli import score

    parser = argparse.ArgumentParser(prog="fraudwall")
    add_parsers(parser.add_subparsers())
    out = io.StringIO()
    status = score.run(parser.parse_args(list(argv)), stdin=io.StringIO(stdin), stdout=out, workers=workers)
    return status, out.getvalue()


def test_a_long_input_scored_by_several_processes_is_written_as_one_process_writes_it(monkeypatch):
    from fraudwall.resolver.cli import score

    monkeypatch.setattr(score, "PARALLEL_FROM", 500)
    monkeypatch.setattr(score, "CHUNK", 64)
    monkeypatch.setattr(score, "CHUNK_CHARS", 1500)
    stdin = "\n".join(names_of_every_kind(3000)) + "\n"
    outputs = [score_with(stdin, workers) for workers in (1, 2, 3)]
    assert outputs[0] == outputs[1] == outputs[2]
    # Written to a file's bytes, as the command writes to its stdout: the processes send them encoded.
    parser = argparse.ArgumentParser(prog="fraudwall")
    add_parsers(parser.add_subparsers())
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    status = score.run(parser.parse_args(["score", "--stdin"]), stdin=io.StringIO(stdin), stdout=out, workers=2)
    assert (status, out.buffer.getvalue()) == (outputs[0][0], outputs[0][1].encode())
    status, text = outputs[0]
    assert status == 2 and text.count("\n") == 3000
    assert [json.loads(line)["name"] for line in text.splitlines()[:2]] == ["paypall0.com", "apple-login.com"]


def test_lines_cut_anywhere_by_the_pool_are_read_whole(monkeypatch):
    # The pool reads stdin in pieces: a line longer than a piece, CRLF, blank lines, comments, names given
    # as arguments too and no newline at the end read as one process reads them.
    from fraudwall.resolver.cli import score

    monkeypatch.setattr(score, "PARALLEL_FROM", 50)
    monkeypatch.setattr(score, "CHUNK", 7)
    monkeypatch.setattr(score, "CHUNK_CHARS", 40)
    names = names_of_every_kind(400)
    lines = [f"  {name}\r" if index % 5 == 0 else name for index, name in enumerate(names)]
    lines[100:100] = ["", "# a comment", "   ", "x" * 150 + ".example.com", "#paypa1.com"]
    stdin = "\n".join(lines)
    argv = ("score", "paypa1.com", " jd.com", "#apple.com", "--stdin")
    one, two = score_with(stdin, 1, argv), score_with(stdin, 2, argv)
    assert one == two
    assert [json.loads(line)["name"] for line in one[1].splitlines()[:3]] == ["paypa1.com", "jd.com", "#apple.com"]
    assert one[1].count("\n") == 3 + 400 + 1


def test_a_pool_process_that_fails_ends_the_run_with_status_1(monkeypatch, capsys):
    from fraudwall.resolver.cli import score

    def failing(scorer, names, encode):
        raise RuntimeError("the scorer broke")

    monkeypatch.setattr(score, "PARALLEL_FROM", 50)
    monkeypatch.setattr(score, "_scored", failing)
    status, _ = score_with("\n".join(names_of_every_kind(200)), 2)
    assert status == 1
    error = capsys.readouterr().err
    assert error.startswith("fraudwall score: scoring process ") and "RuntimeError: the scorer broke" in error



def test_a_pool_process_that_dies_ends_the_run_with_status_1(monkeypatch, capsys):
    # Killed (out of memory, say), it sends nothing: the run says so rather than wait for its lines.
    from fraudwall.resolver.cli import score

    monkeypatch.setattr(score, "PARALLEL_FROM", 50)
    monkeypatch.setattr(score, "_serve", lambda *args: os._exit(9))
    status, _ = score_with("\n".join(names_of_every_kind(2000)), 2)
    assert status == 1
    assert "ended before its names were scored" in capsys.readouterr().err

def test_a_terminal_at_either_end_keeps_one_process():
    from fraudwall.resolver.cli.score import _workers

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert _workers(Terminal(), io.StringIO()) == 1
    assert _workers(io.StringIO(), Terminal()) == 1


def test_each_line_is_what_json_writes():
    # The command writes its lines by hand for speed: each must read back into a record that json.dumps
    # writes as the same line, spacing, escapes, float digits and all.
    names = names_of_every_kind(700) + ["раураl.com", "xn--80ak6aa92e.com", "paypal.com.xn--80ak6aa92e.top"]
    parser = argparse.ArgumentParser(prog="fraudwall")
    add_parsers(parser.add_subparsers())
    args = parser.parse_args(["score", "--stdin"])
    out = io.StringIO()
    assert args.run(args, stdin=io.StringIO("\n".join(names) + "\n"), stdout=out) == 2
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [json.dumps(record, ensure_ascii=False) for record in records] == out.getvalue().splitlines()
    assert any(not record["reasons"][0].isascii() for record in records if record.get("reasons"))
    assert {record["verdict"] for record in records if "verdict" in record} == {"allow", "warn", "block"}


def test_a_reason_with_a_control_the_json_keeps_is_printed_escaped():
    # JSON escapes every control character but DEL: a line of ASCII is still searched for it.
    from fraudwall.resolver.cli.score import JsonLines, _scored
    from fraudwall.scoring.score import Score, Verdict

    class Scorer:
        def score_normalised(self, name):
            return Score(0.5, Verdict.ALLOW, None, ("a\x7fb",), "words")

    text, status = _scored(Scorer(), ["example.org"], JsonLines())
    assert status == 0 and json.loads(text)["reasons"] == ["a\\127b"]
