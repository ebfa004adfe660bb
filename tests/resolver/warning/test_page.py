"""The pages: escaping, languages, the neutral page, the report form, headers, admin texts."""

import re
import time

import pytest
from fraudwall.resolver.warning import language
from fraudwall.resolver.warning.page import (
    REPORT_PATH,
    Pages,
    View,
    reference_for,
    shown_host,
    shown_path,
)
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.texts import TextsError, load_texts

REASON = BlockReason("icbc-tuikuan.example.com", "list", "demo", "listed in demo (demo.txt:3)",
                     "icbc.com.cn", 1_700_000_000.0)


def pages(organisation="fraudwall", texts_file="", **options) -> Pages:
    return Pages(load_texts(organisation, texts_file), **options)


def html(response) -> str:
    return response.body.decode("utf-8")


def view(lang="en", reason=REASON, host="icbc-tuikuan.example.com", path="/login"):
    return View(host, path, lang, reason, reference_for(reason) if reason else "")


def test_blocked_page_shows_name_path_reason_brand_since_reference():
    page = html(pages().warning(view()))
    assert '<html lang="en">' in page
    assert 'icbc-tuikuan.example.com<span class="path">/login</span>' in page
    assert "listed in demo (demo.txt:3)" in page and "demo" in page
    assert "icbc.com.cn" in page
    assert time.strftime("%Y-%m-%d", time.gmtime(REASON.since)) in page
    assert re.search(r"FW-[A-Z2-7]{4}-[A-Z2-7]{4}", page)
    assert "96110" in page and "verification codes" in page


def test_chinese_page_uses_the_campaign_wording():
    page = html(pages().warning(view("zh-CN")))
    assert '<html lang="zh-CN">' in page
    for phrase in ("未知链接不点击", "陌生来电不轻信", "个人信息不透露", "转账汇款多核实", "96110"):
        assert phrase in page
    assert 'href="?lang=en"' in page


def test_page_is_self_contained_and_accessible():
    page = html(pages().warning(view()))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    for landmark in ("<header", "<main>", "<h1>", "<h2"):
        assert landmark in page
    assert not re.search(r"<script|<img|<link|@import|url\(|https?://", page)


def test_headers_and_status():
    response = pages().warning(view())
    headers = dict(response.headers)
    assert response.status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "'unsafe-inline'" not in csp


def test_style_hash_matches_the_inline_style():
    import base64
    import hashlib
    response = pages().warning(view())
    style = re.search(r"<style>(.*?)</style>", html(response), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in dict(response.headers)["Content-Security-Policy"]


@pytest.mark.parametrize("field", ["host", "path", "reason", "label", "brand"])
def test_every_shown_value_is_escaped(field):
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    reason = REASON._replace(**{field: evil} if field in ("reason", "label", "brand") else {})
    host = evil if field == "host" else REASON.name
    path = "/" + evil if field == "path" else "/"
    page = html(pages().warning(View(host, path, "en", reason, reference_for(reason))))
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_neutral_page_invents_no_reason_and_has_no_form():
    page = html(pages().warning(view(reason=None, host="unknown.example.net", path="/")))
    assert "blocked or not found" in page
    assert "unknown.example.net" in page
    assert "FW-" not in page and "<form" not in page and "Why" not in page


def test_report_form_posts_without_javascript():
    page = html(pages(comment_max_chars=300).warning(view()))
    form = re.search(r"<form[^>]*>", page).group(0)
    assert 'method="post"' in form and f'action="{REPORT_PATH}"' in form
    assert 'maxlength="300"' in page and 'name="comment"' in page and "<button" in page


def test_report_form_off():
    assert "<form" not in html(pages(reports_enabled=False).warning(view()))


def test_thanks_and_limited_pages():
    assert "FW-AAAA-BBBB" in html(pages().thanks("en", "FW-AAAA-BBBB"))
    limited = pages().limited("zh-CN")
    assert limited.status == 429 and "报告次数过多" in html(limited)


def test_reference_is_stable_and_differs_by_name():
    assert reference_for(REASON) == reference_for(REASON._replace(reason="other text"))
    assert reference_for(REASON) != reference_for(REASON._replace(name="other.example.com"))


def test_shown_path_decodes_and_drops_query():
    assert shown_path("/a%20b/%E4%B8%AD?token=secret#x") == "/a b/中"
    assert shown_path("http://evil.example/x?y") == "/x"


def test_shown_host_reveals_idn():
    assert shown_host("xn--icb-bpa.com") .startswith("xn--icb-bpa.com (")
    assert shown_host("example.com") == "example.com"
    # IDNA 2008's spelling of faß.de, which Python's IDNA 2003 codec refused to show.
    assert shown_host("xn--fa-hia.de") == "xn--fa-hia.de (faß.de)"
    assert shown_host("xn--ls8h.la") == "xn--ls8h.la (\U0001f4a9.la)"
    assert shown_host("xn--zz.example") == "xn--zz.example"


@pytest.mark.parametrize("query, header, chosen", [
    ("", "en-US,en;q=0.9", "en"),
    ("", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("", "zh-TW", "zh-CN"),
    ("", "fr-FR,en;q=0.5,zh;q=0.7", "zh-CN"),
    ("", "fr-FR", "zh-CN"),
    ("", "en;q=0, zh;q=0.1", "zh-CN"),
    ("", "de, *;q=0.5", "zh-CN"),
    ("", "en;q=bogus, zh", "zh-CN"),
    ("en", "zh-CN", "en"),
    ("zh-CN", "en", "zh-CN"),
    ("xx", "en", "en"),
])
def test_language_choice(query, header, chosen):
    assert language.choose(query, header, "zh-CN") == chosen


def test_default_language_setting():
    assert language.choose("", "fr", "en") == "en"


def test_admin_texts_and_organisation(tmp_path):
    texts = tmp_path / "texts.toml"
    texts.write_text('[en]\nheading = "Blocked by <Acme> IT"\nadvice = ["Call the help desk on 1234."]\n', "utf-8")
    page = html(pages("Acme & Co", str(texts)).warning(view()))
    assert "Blocked by &lt;Acme&gt; IT" in page and "Call the help desk on 1234." in page
    assert "Acme &amp; Co" in page
    assert "Hang up" not in page


@pytest.mark.parametrize("content, message", [
    ('[fr]\ntitle = "x"\n', "not a language"),
    ('[en]\nnope = "x"\n', "unknown key"),
    ('[en]\nadvice = "x"\n', "list of strings"),
    ('[en]\ntitle = 3\n', "must be a string"),
    ('[en\n', "not valid TOML"),
])
def test_admin_texts_errors(tmp_path, content, message):
    texts = tmp_path / "texts.toml"
    texts.write_text(content, "utf-8")
    with pytest.raises(TextsError, match=message):
        load_texts("fraudwall", str(texts))
