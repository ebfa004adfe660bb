"""benchmarks/debian_domains.py: the benign names scorer_eval reads from a Debian package index, checked on a
made-up index in each of the forms apt keeps it in; no index of the machine is read here."""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import debian_domains  # noqa: E402

INDEX = """Package: example-tool
Maintainer: Jane Doe <jane@Mail.Example.ORG>
Uploaders: A B <a@example.net>, C D <c.d@lists.example.co.uk>
Homepage: https://www.example-tool.example.com:8080/docs
Description: not a host: http://192.0.2.1/ and mail@localhost are left out
Original-Maintainer: X <x@[192.0.2.7]>

Package: other
Maintainer: Nobody <nobody@localhost>
Homepage: http://192.0.2.1/
"""
FOUND = ["www.example-tool.example.com", "example.net", "lists.example.co.uk", "mail.example.org"]


@pytest.mark.parametrize("suffix, pack", [
    ("", str.encode),
    (".gz", lambda text: gzip.compress(text.encode())),
    (".xz", lambda text: lzma.compress(text.encode())),
])
def test_homepages_and_maintainers_mail_domains_are_read_from_each_form(tmp_path, suffix, pack):
    (tmp_path / f"deb.example_dists_x_main_binary-amd64_Packages{suffix}").write_bytes(pack(INDEX))
    assert debian_domains.hosts(tmp_path) == sorted(FOUND)


@pytest.mark.skipif(shutil.which("lz4") is None, reason="lz4 is not installed")
def test_an_lz4_index_as_apt_keeps_it_is_read(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text(INDEX)
    subprocess.run(["lz4", "-q", str(plain), str(tmp_path / "x_Packages.lz4")], check=True)
    assert debian_domains.hosts(tmp_path) == sorted(FOUND)


def test_no_index_gives_no_names_and_a_broken_one_is_skipped(tmp_path):
    assert debian_domains.hosts(tmp_path) == []
    (tmp_path / "x_Packages.xz").write_bytes(b"not xz at all")
    assert debian_domains.hosts(tmp_path) == []
