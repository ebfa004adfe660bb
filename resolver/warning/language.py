"""Which of the page's languages to answer in: `?lang=` first, then Accept-Language, then the default."""

from __future__ import annotations

# More entries than any browser sends; the rest of a hostile header is ignored.
MOST_ENTRIES = 32


def supported(tag: str) -> str | None:
    """The page language serving a BCP 47 tag: every Chinese variant reads zh-CN, every English one en."""
    primary = tag.strip().lower().split("-")[0].split("_")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def choose(query_lang: str, accept_language: str, default: str) -> str:
    if query_lang:
        chosen = supported(query_lang)
        if chosen:
            return chosen
    ranked = []
    for position, entry in enumerate(accept_language.split(",")[:MOST_ENTRIES]):
        tag, _, params = entry.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0 or not 0 <= quality <= 1:
            continue
        chosen = default if tag.strip() == "*" else supported(tag)
        if chosen:
            ranked.append((-quality, position, chosen))
    return min(ranked)[2] if ranked else default

