"""How much a top-level domain adds to the suspicion of a name under it.

From the published abuse rankings (Spamhaus' "most abused TLDs", Interisle's
Phishing Landscape, APWG): the cheap new gTLDs and the free ccTLDs of old host
a share of phishing many times their share of real sites. A TLD is evidence
about a name, never a verdict on its own: the values stay well below `warn`.
"""

from __future__ import annotations

__all__ = ["is_country_code", "tld_risk"]

# Registered for a dollar or free, bulk-registered, and top of every report.
_HIGH = frozenset({
    "top", "xyz", "icu", "cyou", "sbs", "cfd", "buzz", "click", "rest", "bond", "monster",
    "quest", "lol", "beauty", "hair", "skin", "makeup", "autos", "boats", "yachts", "mom",
    "pics", "tk", "ml", "ga", "cf", "gq", "zip", "mov", "bar", "casa", "gdn", "country",
    "cam", "uno", "win", "bid", "loan", "date", "racing", "download", "stream", "review",
    "men", "work", "party", "trade", "science", "accountant", "faith", "cricket", "kim",
    "wang", "xin", "ren", "support", "help", "run", "motorcycles", "homes", "lat", "qpon",
})
# Often abused, but also home to many honest small sites.
_ELEVATED = frozenset({
    "shop", "vip", "online", "site", "club", "info", "cc", "ws", "pw", "link", "fun", "store",
    "space", "website", "tech", "life", "ltd", "asia", "ink", "best", "today", "world",
    "digital", "live", "one", "biz", "pro", "cn", "ru", "su", "services", "app", "host",
    "press", "email", "sh", "ly", "me", "co", "id", "za", "ng",
})
_VALUE_HIGH = 0.35
_VALUE_ELEVATED = 0.15


def is_country_code(suffix: str) -> bool:
    """`de`, `co.uk`, `com.cn`: a country's suffix, where global brands run local sites."""
    return len(suffix.rpartition(".")[2]) == 2


def tld_risk(suffix: str) -> float:
    """What the TLD of `suffix` (`top`, `com.cn`) alone says, in [0, 0.35]."""
    tld = suffix.rpartition(".")[2]
    if tld in _HIGH:
        return _VALUE_HIGH
    if tld in _ELEVATED:
        return _VALUE_ELEVATED
    return 0.0
