"""How much a top-level domain adds to the suspicion of a name under it.

From the published abuse rankings (Spamhaus' "most abused TLDs", Interisle's
Phishing Landscape 2023 and 2024, APWG's Phishing Activity Trends, SURBL): the
cheap new gTLDs and the free ccTLDs of old host a share of phishing many times
their share of real sites. Three tiers:

- high: top of those reports for years, registered for a dollar or free
  (top, xyz, icu, cyou, sbs, cfd, bond, click, buzz, the Freenom ccTLDs ...);
- mid: in the top twenty of the recent reports by count (shop, vip, online,
  site, live, store, club, cc ...), but home to many honest shops too;
- low: often abused, mostly honest (info, cn, ru, co, me, biz ...).

The development set agrees with the reports (every tier is flagged far more
often in its phishing hosts than in its benign domains); no TLD was added for
being frequent there. A TLD is evidence about a name, never a verdict on its
own: the values stay below `warn` (traits.WEIGHTS).
"""

from __future__ import annotations

import functools

__all__ = ["is_country_code", "tld_reason", "tld_risk", "tld_tier", "tld_trait"]

_HIGH = frozenset({
    "top", "xyz", "icu", "cyou", "sbs", "cfd", "buzz", "click", "rest", "bond", "monster",
    "quest", "lol", "beauty", "hair", "skin", "makeup", "autos", "boats", "yachts", "mom",
    "pics", "tk", "ml", "ga", "cf", "gq", "zip", "mov", "bar", "casa", "gdn", "country",
    "cam", "uno", "win", "bid", "loan", "date", "racing", "download", "stream", "review",
    "men", "work", "party", "trade", "science", "accountant", "faith", "cricket", "kim",
    "wang", "xin", "ren", "support", "help", "run", "motorcycles", "homes", "lat", "qpon",
})
_MID = frozenset({
    "shop", "vip", "online", "site", "live", "store", "club", "cc", "fun", "life", "link",
    "pro", "today", "digital", "website", "space",
})
_LOW = frozenset({
    "info", "ws", "pw", "tech", "ltd", "asia", "ink", "best", "world", "one", "biz", "cn",
    "ru", "su", "services", "app", "host", "press", "email", "sh", "ly", "me", "co", "id",
    "za", "ng",
})
# Second-level suffixes where anyone registers a name for next to nothing, ranked
# with the free TLDs: Indonesia's personal and small-business names (my.id,
# biz.id, web.id). Unlike the tiers above, these were added after reading the
# development set's misses (half A: 45 phishing hosts, no benign domain); half
# B, held out, agrees (57 phishing hosts, 1 benign domain).
_CHEAP_SECOND_LEVEL = frozenset({"my.id", "biz.id", "web.id"})
_RISK = {"high": 0.35, "mid": 0.25, "low": 0.15}


def is_country_code(suffix: str) -> bool:
    """`de`, `co.uk`, `com.cn`: a country's suffix, where global brands run local sites."""
    return len(suffix.rpartition(".")[2]) == 2


def tld_tier(suffix: str) -> str | None:
    """`high`, `mid`, `low` or None: where the TLD of `suffix` (`top`, `com.cn`) ranks in abuse reports."""
    tld = suffix.rpartition(".")[2]
    if tld in _HIGH or suffix in _CHEAP_SECOND_LEVEL:
        return "high"
    if tld in _MID:
        return "mid"
    if tld in _LOW:
        return "low"
    return None


def tld_reason(suffix: str) -> str:
    """Why the TLD of `suffix` counts, in the words of its tier: the reason of its trait."""
    if suffix in _CHEAP_SECOND_LEVEL:
        return f"suffix .{suffix} gives names away for next to nothing"
    tld = suffix.rpartition(".")[2]
    if tld in _HIGH:
        return f"TLD .{tld} ranks high in abuse reports"
    if tld in _MID:
        return f"TLD .{tld} is among the twenty most abused"
    return f"TLD .{tld} is often abused"


@functools.lru_cache(maxsize=4096)
def tld_trait(suffix: str) -> tuple[tuple[str, str], ...]:
    """The TLD trait of a name under `suffix`, as `traits.WEIGHTS` key and reason: () or one.

    Worked out once per suffix (there are a few thousand), not once per name."""
    tier = tld_tier(suffix)
    return ((f"tld-{tier}", tld_reason(suffix)),) if tier else ()


def tld_risk(suffix: str) -> float:
    """What the TLD of `suffix` alone says next to a brand look-alike, in [0, 0.35]."""
    tier = tld_tier(suffix)
    return _RISK[tier] if tier else 0.0
