"""Words that fraud puts next to a brand (`paypal-secure-login`, `icbc-tuikuan`), and finding them."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["FRAUD_WORDS", "Split", "find_words", "split_words"]

# What a victim is told to do, in English and in the pinyin of Chinese scams
# (kefu 客服 customer service, tuikuan 退款 refund, daikuan 贷款 loan,
# zhongjiang 中奖 prize won, anquan 安全 safety, dongjie 冻结 frozen ...).
# Everyday web words (online, shop, news, app) are left out: they name half
# of all honest sites.
FRAUD_WORDS = frozenset({
    "account", "accounts", "activate", "alert", "auth", "authorize", "billing", "bonus",
    "claim", "confirm", "customer", "gift", "helpdesk", "invoice", "limited", "login",
    "logon", "recover", "recovery", "refund", "refunds", "renew", "reset", "restore",
    "reward", "rewards", "secure", "security", "service", "services", "signin", "support",
    "suspended", "unlock", "update", "validate", "verification", "verify", "wallet",
    "webscr", "airdrop", "payment", "password", "prize", "kyc", "2fa", "otp", "id",
    "kefu", "tuikuan", "daikuan", "zhongjiang", "anquan", "dongjie", "jiedong", "lipei",
    "buchang", "butie", "fuli", "hongbao", "jiangli", "lipin", "tuifei", "tuishui",
    "yanzheng", "zhuxiao", "renzheng", "shenhe", "fapiao", "jifen", "duihuan", "lingqu",
    "jiangjin", "guanfang", "zhanghu", "denglu",
})
# Longest first, so "services" is taken whole rather than as "service" + "s".
_ALTERNATION = "|".join(sorted(FRAUD_WORDS, key=lambda w: (-len(w), w)))
_LEADING = re.compile(rf"^(?:(?:{_ALTERNATION})-*)+")
_TRAILING = re.compile(rf"(?:-*(?:{_ALTERNATION}))+$")
_ANYWHERE = re.compile(_ALTERNATION)
_SEPARATORS = re.compile(r"[-.]+")
# Words short enough to sit by chance inside others (the "id" of "android").
_MIN_INNER = 5


class Split(NamedTuple):
    """A label with the fraud words at its two ends taken off."""
    core: str
    words: tuple[str, ...]


def split_words(label: str) -> Split:
    """`secure-paypal-login` -> Split("paypal", ("secure", "login")); Split(label, ()) without."""
    if not _ANYWHERE.search(label):
        return Split(label, ())     # the usual case, found in one pass
    words: list[str] = []
    core = label
    leading = _LEADING.match(core)
    if leading and leading.end() < len(core):
        words += _ANYWHERE.findall(leading.group())
        core = core[leading.end():]
    trailing = _TRAILING.search(core)
    if trailing and trailing.start() > 0:
        words += _ANYWHERE.findall(trailing.group())
        core = core[:trailing.start()]
    return Split(core.strip("-"), tuple(words))


def find_words(text: str) -> tuple[str, ...]:
    """The fraud words in `text`: whole hyphen/dot-separated parts, or long ones anywhere."""
    if not _ANYWHERE.search(text):
        return ()
    found = []
    for part in _SEPARATORS.split(text):
        if part in FRAUD_WORDS:
            found.append(part)
        else:
            found += [w for w in _ANYWHERE.findall(part) if len(w) >= _MIN_INNER]
    return tuple(dict.fromkeys(found))
