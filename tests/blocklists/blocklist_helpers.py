from __future__ import annotations

from fraudwall.blocklists.formats import (
    DomainEntry,
    NetworkEntry,
    Skip,
    UrlEntry,
    numbered_lines,
)


def run(parser, text: str):
    """A parser's output for `text`, split into (entries, skips)."""
    parsed = list(parser(numbered_lines(text.splitlines())))
    entries = [p for p in parsed if isinstance(p, (DomainEntry, NetworkEntry, UrlEntry))]
    skips = [p for p in parsed if isinstance(p, Skip)]
    return entries, skips


def fake_guards():
    """The shipped guard data, with one made-up protected brand instead of the scorer's brands."""
    from fraudwall.blocklists.guards import load_guards

    return load_guards(brands=lambda extra: ["examplebank.example"])


def import_text(db, tmp_path, list_name, text, filename="feed.txt", **options):
    from fraudwall.blocklists.importer import ImportRequest, import_list

    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    options.setdefault("workers", 1)
    guards = options.pop("guards", None) or fake_guards()
    return import_list(db, ImportRequest(list_name, (str(path),), **options), guards)


def cli(*argv, config=None):
    """Run one `fraudwall` verb of the blocklists; (exit code, stdout, stderr) via capsys is up to the test."""
    from fraudwall.resolver.cli import build_parser

    parser = build_parser()
    args = parser.parse_args([str(arg) for arg in argv])
    args.config = config
    return args.run(args)
