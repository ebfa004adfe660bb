"""The pages themselves, pure: what the request said + why the name is blocked + texts -> a `Response`.

Every value that reaches the HTML goes through `escape` (host, path, reason, label,
brand, texts), because the host and path come from whoever sent the request and the
reason from a feed line: either may be built to inject markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from importlib import resources
from typing import NamedTuple
from urllib.parse import quote, unquote

from fraudwall.resolver.server.http import Response
from fraudwall.resolver.warning.reason import BlockReason
from fraudwall.resolver.warning.texts import Texts
from fraudwall.scoring.names import unicode_name

REPORT_PATH = "/.well-known/fraudwall/report"
THANKS_PATH = "/.well-known/fraudwall/thanks"
MOST_SHOWN = 200  # characters of a host or path shown; a phishing URL's tail is noise


class View(NamedTuple):
    """What one warning page shows."""

    host: str                  # from the Host header (or SNI), as sent but lowercased
    path: str                  # the request's path, without the query
    language: str
    reason: BlockReason | None  # None: explain() does not know the host
    reference: str             # "" when there is no reason


def reference_for(reason: BlockReason) -> str:
    """A short id that is the same for every view of one name blocked by one list or rule.

    Stable rather than random, so the person can read it over the phone and the
    admin finds it with `fraudwall report mistakes --ref` even if no view was stored.
    """
    digest = hashlib.sha256(f"{reason.name}\0{reason.source_kind}\0{reason.label}".encode()).digest()
    code = base64.b32encode(digest[:5]).decode()
    return f"FW-{code[:4]}-{code[4:]}"


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def shorten(text: str) -> str:
    return text if len(text) <= MOST_SHOWN else text[:MOST_SHOWN - 1] + "…"


def shown_path(target: str) -> str:
    """The path to show: percent-decoded, query and fragment left out (they often carry the victim's data)."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if path.startswith(("http://", "https://")):  # absolute-form, as proxies send
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    # Latin-1 back to the bytes sent, then UTF-8, as a browser would show it.
    return unquote(path.encode("latin-1", "replace").decode("utf-8", "replace"), errors="replace")


def shown_host(host: str) -> str:
    """The name, and its Unicode form beside it when it is an IDN (homoglyph look-alikes hide there)."""
    if "xn--" not in host:
        return host
    unicode = unicode_name(host)
    return host if unicode == host else f"{host} ({unicode})"


class Pages:
    """Builds every page and its headers; one per server, made from the settings and texts."""

    def __init__(self, texts: Texts, comment_max_chars: int = 500, reports_enabled: bool = True) -> None:
        self._texts = texts
        self._comment_max = comment_max_chars
        self._reports = reports_enabled
        self._css = resources.files("fraudwall.resolver.warning").joinpath("page.css").read_text("utf-8")
        style_hash = base64.b64encode(hashlib.sha256(self._css.encode()).digest()).decode()
        # The style by its hash rather than a nonce: the page is static per view, and a
        # hash needs no randomness per response nor any way for it to leak.
        self._csp = (f"default-src 'none'; style-src 'sha256-{style_hash}'; form-action 'self'; "
                     "base-uri 'none'; frame-ancestors 'none'")

    @property
    def content_security_policy(self) -> str:
        return self._csp

    def headers(self) -> tuple[tuple[str, str], ...]:
        return (
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Content-Security-Policy", self._csp),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
        )

    # -- the pages ---------------------------------------------------------------------------

    def warning(self, view: View) -> Response:
        """The warning page, status 200: some clients show their own error page for a 403."""
        t = self._text
        lang = view.language
        reason = view.reason
        host = shorten(shown_host(view.host)) if view.host else ""
        path = shorten(view.path) if view.path not in ("", "/") else ""
        rows = []
        if host:
            # The path beside the name, lighter: it is the part people recognise from the link they followed.
            rows.append((t(lang, "site"), escape(host) + (f'<span class="path">{escape(path)}</span>' if path else ""),
                         "site"))
        if reason is not None:
            heading, intro = t(lang, "heading"), t(lang, "intro")
            key = "source_scorer" if reason.source_kind == "scorer" else "source_list"
            why = escape(shorten(t(lang, key).replace("{label}", reason.label)))
            if reason.reason:
                why += f'<span class="detail">{escape(shorten(reason.reason))}</span>'
            rows.append((t(lang, "why"), why, ""))
            if reason.brand:
                rows.append((t(lang, "brand"), escape(reason.brand), ""))
            if reason.since:
                rows.append((t(lang, "since"), escape(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(reason.since))), ""))
            if view.reference:
                rows.append((t(lang, "reference"), escape(view.reference), "ref"))
        else:
            heading, intro = t(lang, "neutral_heading"), t(lang, "neutral_intro")
        facts = "".join(f'<dt class="{css}">{escape(label)}</dt><dd class="{css}">{value}</dd>' if css else
                        f"<dt>{escape(label)}</dt><dd>{value}</dd>" for label, value, css in rows)
        advice = "".join(f"<li>{escape(item)}</li>" for item in self._texts.items(lang, "advice"))
        body = [f'<p class="intro">{escape(intro)}</p>']
        if facts:
            body.append(f'<section aria-label="{escape(t(lang, "site"))}"><dl>{facts}</dl></section>')
        body.append(f'<section class="advice" aria-labelledby="advice"><h2 id="advice">'
                    f'{escape(t(lang, "advice_heading"))}</h2><ol>{advice}</ol></section>')
        if reason is not None and self._reports:
            body.append(self._report_form(lang, view))
        # Same path, other language: a relative "?lang=" keeps the path, whatever it is.
        return self._page(200, lang, t(lang, "title"), heading, "".join(body), "?lang={other}")

    def thanks(self, language: str, reference: str) -> Response:
        t = self._text
        text = t(language, "thanks_text").replace("{reference}", reference or "-")
        body = (f'<section><p>{escape(text)}</p><p><a href="/?lang={quote(language)}">'
                f'{escape(t(language, "back"))}</a></p></section>')
        return self._page(200, language, t(language, "thanks_title"), t(language, "thanks_heading"), body,
                          f"{THANKS_PATH}?lang={self._other(language)}&ref={quote(reference)}")

    def limited(self, language: str) -> Response:
        t = self._text
        body = (f'<section><p>{escape(t(language, "limited_text"))}</p><p><a href="/?lang={quote(language)}">'
                f'{escape(t(language, "back"))}</a></p></section>')
        return self._page(429, language, t(language, "limited_title"), t(language, "limited_heading"), body, "")

    def see_other(self, location: str) -> Response:
        return Response(303, self.headers() + (("Location", location),), b"")

    def plain(self, status: int, message: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
        """For requests too broken to deserve a page (bad syntax, too large): short, still no-store."""
        headers = tuple((name, "text/plain; charset=utf-8" if name == "Content-Type" else value)
                        for name, value in self.headers())
        return Response(status, headers + extra, (message + "\n").encode())

    # -- parts ---------------------------------------------------------------------------------

    def _text(self, language: str, key: str) -> str:
        return self._texts.text(language, key)

    @staticmethod
    def _other(language: str) -> str:
        return "en" if language == "zh-CN" else "zh-CN"

    def _report_form(self, lang: str, view: View) -> str:
        t = self._text
        return (
            f'<section aria-labelledby="report"><h2 id="report">{escape(t(lang, "report_heading"))}</h2>'
            f'<p class="muted">{escape(t(lang, "report_text"))}</p>'
            f'<form method="post" action="{REPORT_PATH}">'
            f'<input type="hidden" name="lang" value="{escape(lang)}">'
            f'<input type="hidden" name="path" value="{escape(shorten(view.path))}">'
            f'<label for="comment">{escape(t(lang, "report_comment"))}</label>'
            f'<textarea id="comment" name="comment" maxlength="{self._comment_max}" rows="3"></textarea>'
            f'<button type="submit">{escape(t(lang, "report_button"))}</button></form></section>')

    def _page(self, status: int, lang: str, title: str, heading: str, body: str, switch_href: str) -> Response:
        t = self._text
        other = self._other(lang)
        switch = ""
        if switch_href:
            href = switch_href.replace("{other}", quote(other))
            switch = (f'<a href="{escape(href)}" hreflang="{other}" lang="{other}">'
                      f'{escape(t(other, "language_name"))}</a>')
        document = (
            "<!DOCTYPE html>\n"
            f'<html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(title)}</title><style>{self._css}</style></head><body>"
            f'<header><div class="bar"><div class="top"><span class="org">{escape(t(lang, "footer"))}</span>'
            f'{switch}</div><div class="title"><span class="sign" aria-hidden="true">!</span>'
            f"<h1>{escape(heading)}</h1></div></div></header>"
            f"<main>{body}</main></body></html>\n")
        return Response(status, self.headers(), document.encode("utf-8"))
