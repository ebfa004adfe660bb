"""Words that fraud puts next to a brand (`paypal-secure-login`, `icbc-tuikuan`), and finding them."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["FRAUD_WORDS", "Split", "find_words", "has_words", "split_words", "word_pattern"]

# What a victim is told to do, in English and in the pinyin of Chinese scams
# (kefu 客服 customer service, tuikuan 退款 refund, daikuan 贷款 loan,
# zhongjiang 中奖 prize won, anquan 安全 safety, dongjie 冻结 frozen ...).
# Everyday web words (online, shop, news, app) are left out: they name half
# of all honest sites. The same demands in the other languages of the feeds
# (Spanish, Portuguese, French, Italian, German, Indonesian, Japanese romaji):
# update (actualiza, atualiza, aggiorna, aktualisieren), verify (verifica,
# verifikasi, verifizierung), security (seguridad, seguranca, sicurezza,
# securite, sicherheit, keamanan), unlock and blocked (desbloqueo,
# desbloqueio, bloqueio, sblocco, entsperren), refund (reembolso,
# remboursement, rimborso), account (cuenta, compte), recovery (pemulihan),
# service (atendimento), confirm (bestaetigen, konfirmasi, kakunin). Written
# without accents, as names are. Left out where the stem sits inside everyday
# words of the same language: acesso/acceso/accesso (accessories), conta
# (contact, contabil), konto (kontor). And a government's own abbreviation
# (gov, gouv, gob, govt) in a name outside a government's suffix: the fine,
# the tax refund and the toll are sent in its name. The Chinese ones also in
# Hanzi, as an internationalised name spells them (客服 kefu, 退款 tuikuan ...):
# two characters say as much as five Latin letters, so they count inside a label.
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
    "actualiza", "atualiza", "aggiorna", "aktualisieren", "verifica", "verifikasi",
    "verifizierung", "seguridad", "seguranca", "sicurezza", "securite", "sicherheit",
    "keamanan", "desbloqueo", "desbloqueio", "bloqueio", "sblocco", "entsperren",
    "reembolso", "remboursement", "rimborso", "cuenta", "compte", "pemulihan",
    "atendimento", "bestaetigen", "konfirmasi", "kakunin", "aktivasi",
    "gov", "gouv", "gob", "govt",
    "客服", "退款", "贷款", "中奖", "安全", "冻结", "解冻", "理赔", "补偿", "补贴", "福利", "红包",
    "奖励", "礼品", "退费", "退税", "验证", "注销", "认证", "审核", "发票", "积分", "兑换", "领取",
    "奖金", "官方", "账户", "登录",
})


def word_pattern(words) -> str:
    """A regular expression for any of `words`, longest first where one begins another.

    Written as a trie (`acc(?:ounts?|...)`), so the engine follows one branch per
    letter instead of trying every word at every position; it matches what the
    plain alternation sorted longest first would.
    """
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:      # a word ends here: the longer ones are tried first (greedy)
            body = body + "?" if len(body) == 1 else "(?:" + body + ")?"
        return body

    return emit(tree)


# Longest first, so "services" is taken whole rather than as "service" + "s".
_ALTERNATION = word_pattern(FRAUD_WORDS)
_LEADING = re.compile(rf"^(?:(?:{_ALTERNATION})-*)+")
_TRAILING = re.compile(rf"(?:-*(?:{_ALTERNATION}))+$")
_ANYWHERE = re.compile(_ALTERNATION)
_SEPARATORS = re.compile(r"[-.]+")
# Words short enough to sit by chance inside others (the "id" of "android"); Hanzi words count
# inside a label whatever their length (a label of Chinese is written without spaces or hyphens).
_MIN_INNER = 5


class Split(NamedTuple):
    """A label with the fraud words at its two ends taken off."""
    core: str
    words: tuple[str, ...]


def has_words(text: str) -> bool:
    """Whether `text` holds a fraud word at all, whole or inside another: one pass, the usual no."""
    return _ANYWHERE.search(text) is not None


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
            found += [m.group() for m in _ANYWHERE.finditer(part)
                      if not m.group().isascii() or (len(m.group()) >= _MIN_INNER and _at_boundary(part, m))]
    return tuple(dict.fromkeys(found))


def _at_boundary(part: str, match: re.Match) -> bool:
    """Whether a fraud word found inside a longer `part` can be a word of it: not a stub of a letter or two
    on each side (de|signin|g, un|limited|ly: a longer word holds it), nor followed by the g that makes
    sign-in or log-in the -ing of another word (e-signing, designingstudio). After or before a number or a
    longer word it stands on its own (3dsecure, mysignin, billinguk, myrefundcenter)."""
    start, end = match.span()
    if part[end:end + 1] == "g" and part.endswith("in", 0, end):
        return False
    before, after = part[:start], part[end:]
    return not (before.isalpha() and len(before) <= 2 and after.isalpha() and len(after) <= 2)
