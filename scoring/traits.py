"""What a host name's make-up says once brands are accounted for: TLD, words, shape, structure.

Most phishing hosts name no brand. They are told apart by how they are made:
bought by the hundred under the cheapest TLDs, named by a script
(`bb04mwi9sabx.top`, `0ba78f946b44b89512810cd0ed4ab48d.com`), dressed as
another address (`usps.com-tracktsz.top`, `amazon.co.jp.0vid.xyz`), or told
what to make the victim do (`account-verification`, `tracking`, `appeal`).

The functions here list the traits of a host as `(key, reason)` pairs; `WEIGHTS`
says how much each key alone suggests fraud, as a noisy-or value (see
`score.combine`). The weights were fitted once, by logistic regression on
half A of the development set (benchmarks/scorer_eval.py --fit), then
rounded and read through by hand; subdomain traits, which the benign set
(registrable domains only) cannot measure, are capped by hand. Nothing here
names a host or a registrable domain of any data set.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from fraudwall.scoring.combo import word_pattern

__all__ = ["LURE_WORDS", "PLAIN_FRONTS", "SIGN_IN", "STRUCTURE_CAP", "WEIGHTS", "FrontLabel", "credential_step", "entropy",
           "front_label", "host_structure", "ip_like", "label_shape", "lure_words", "named_in_front"]

# Words of the usual lures that are also everyday web words, so weaker than
# FRAUD_WORDS and never used to tie a brand to a name: parcel and toll scams,
# appeals of "your account", crypto drains. Brand names (telegram, metamask)
# are left to the brand signals, so they are not counted twice. In the other
# languages of the feeds: help (bantuan), official (resmi), prize and draw
# (hadiah, undian), payment and invoice (pagamento, fatura, facture), a fine
# and taxes (amende, impots), crypto drains (presale, unstake, staking), the
# offers, points and discounts of the Brazilian and Spanish shop and bank lures
# (oferta, pontos, desconto, banca, cliente, empresas), the pay-later and aid
# lures of Indonesia (paylater, subsidi, bansos). The unpaid-toll texts (FBI IC3's
# warning of April 2024: paytoll), the "new payee added, cancel it" texts of UK
# bank fraud (UK Finance's annual fraud report: payee, payees), a notification, a
# delivery to reschedule. The "was this you? cancel it" texts of the same bank fraud and
# a payment or parcel pending (cancel, cancellation, pending); Turkey's card-fee refund texts
# (aidat iadesi) and applications (basvuru), which its banks' association warns of. In Hanzi, a
# wallet and an official site (钱包, 官网).
LURE_WORDS = frozenset({
    "track", "tracking", "parcel", "package", "delivery", "deliver", "toll", "appeal",
    "protect", "token", "official", "policy", "webmail", "ledger", "dapp",
    "notice", "unlock", "suspend", "suspended", "banking",
    "pay", "payment", "wallet", "claim", "help", "helpdesk", "alert", "usdt", "nft",
    "bantuan", "resmi", "hadiah", "undian", "pagamento", "fatura", "facture", "amende",
    "impots", "presale", "unstake", "staking", "oferta", "banca", "cliente", "empresas",
    "desconto", "pontos", "paylater", "subsidi", "bansos", "crypto",
    "paytoll", "payee", "payees", "notification", "reschedule",
    "cancel", "cancellation", "pending", "aidat", "iadesi", "basvuru",
    "钱包", "官网",
})
_LURE = re.compile(word_pattern(LURE_WORDS))
_LURE_MIN_INNER = 5

# The sign-in step itself: log in, sign in, password, verify, authenticate or authorise, confirm,
# reset, suspended. An honest service keeps that step under its own domain (login.example.com,
# example.com/signin) and never registers a domain named for it; a registrable label that names it
# was made to take a password (credential theft is most of what APWG's and Interisle's reports
# count). combo.FRAUD_WORDS holds these among demands that honest sites' names use every day
# (service, support, security, update, account); this trait is what the sign-in words say beyond
# those, and only in the registrable label: in front of a domain (login.example.com) they are the
# honest way. Not inside words that hold them (blog-in, design-ing, authentic, authority, preset).
_CREDENTIAL = re.compile(r"(?<!b)log-?[io]n(?!g)|(?<!de)sign-?[io]n(?!g)|password|passwd|passcode|verif"
                         r"|authentica[tc]|authentif|authori[sz]|(?:^|-)auth(?:-|[0-9]|$)|confirm|suspend"
                         r"|(?<!p)reset|webscr")
# The cheap test first, one pass (a trie: an alternation is tried branch by branch at every letter).
_CREDENTIAL_HINT = re.compile(word_pattern(("log", "sign", "pass", "verif", "auth", "confirm", "suspend", "reset",
                                            "webscr")))

# Letter pairs hardly any word holds: those in 10 or fewer of the 234,450 words of Webster's Second
# International (the web2 list Unix systems ship as /usr/share/dict/web2), less those that pinyin writes
# within a syllable or where two syllables meet (zh, qi, xu, ngq, nx ...), so Chinese names spelled in
# pinyin do not count. A person's name for a site is words, a brand, initials or pinyin; letters typed
# at random or drawn by a script (the DGA detectors' n-gram test) put such pairs together. In parts of
# 5+ characters only: shorter ones are initials or a country's code (jsc, fxg, jp).
_RARE_PAIR = re.compile(word_pattern("""
    bq bx bz cb cf cg cj cw cx dq dx fc fj fk fq fx fz hj hq hx hz jb jc jd jf jg jh jj jk jl jm jn jp jq
    jr js jt jw jx jy jz kq kx kz lj lq lx mj mq mx mz pq px pz qb qc qd qf qg qh qj qk ql qm qn qp qq qr
    qs qt qw qx qy qz sx tq tx wj wq wx xd xg xj xk xn xq xr xx xz yj yq yy zc zf zg zj zk zm zn zp zq zr
    zs zt zw zx""".split()))
_RARE_PAIR_MIN_LETTERS = 5

# (key) -> noisy-or value. See the module docstring for where they come from.
WEIGHTS: dict[str, float] = {
    "tld-high": 0.56,          # top, xyz, icu, cfd, sbs, tk ... (tld.py); set by hand: any second hint warns
    "tld-mid": 0.5,            # shop, vip, online, site, live, cc ... (tld.py)
    "tld-low": 0.1,            # info, cn, co, me, biz ... (tld.py)
    "word": 0.35,              # one fraud word (combo.FRAUD_WORDS)
    "words": 0.5,              # two or more
    "lure": 0.25,              # a lure word (LURE_WORDS)
    "long": 0.3,               # label of 20+ characters
    "very-long": 0.4,          # 30+
    "hyphen": 0.3,             # one hyphen
    "hyphens": 0.3,            # two hyphens
    "many-hyphens": 0.35,      # three or more
    "all-digits": 0.25,        # 5+ digits, nothing else (four are years and
                               # numbers people pick: 1998, 2024)
    "digit-mix": 0.15,         # letters and digits interleaved
    "digit-run": 0.45,         # 4+ digits next to letters
    "end-digits": 0.1,         # a word and 1-3 digits at the end (shop24, amazou99)
    "unpronounceable": 0.35,   # a consonant run, or hardly a vowel
    "random": 0.2,             # high character entropy
    "hex": 0.45,               # a hash-like string of hex digits
    "suffix-dash": 0.15,       # com-xxx, amazon-co-jp: a domain ending glued to the label
    "rare-letters": 0.1,       # a letter pair hardly any word holds (qp, zx, wq)
    "word-credential": 0.3,    # the label names the sign-in step (login, verify, password)
    "spelled-domain": 0.25,    # x.com.y.top: a domain spelled out in front of another
    "ip-like": 0.25,           # 1-2-3-4: an address in a name
    "deep": 0.25,              # 3+ labels in front of the registrable domain
    "sub-random": 0.3,         # a machine-made label in front
    "sub-long": 0.3,           # a label of 20+ characters in front
    "long-host": 0.25,         # a host of 50+ characters
}

# The benign development set holds registrable domains only, so it cannot tell
# how often honest hosts have these: they are capped, not fitted up.
UNMEASURED = frozenset({"spelled-domain", "deep", "sub-random", "sub-long", "long-host"})
UNMEASURED_CAP = 0.3
# No trait alone reaches `warn` (0.6): a TLD, a word or a shape is a hint, two make a case. The fit's
# grid of 0.05 stops at 0.55; the TLDs ranked high are set by hand to 0.56, so that any second hint
# (0.1 at least) makes the case there (benchmarks/scorer_eval.py, HAND_SET).
ALONE_CAP = 0.56
# What stands in front of the registrable domain is one hint however many of its traits (depth, a machine-made
# or long label, a long host: one layout, which cloud workloads share), at most this: a ranked TLD's mid value,
# so that it warns only with a second hint of 0.2 or more (a ranked TLD, a word, a hyphen), not with the
# weakest ones (a low-ranked TLD, a rare letter pair). Set by hand: the benign set has no hosts to fit it on.
STRUCTURE_CAP = 0.5

_HEX = re.compile(r"[0-9a-f]{8,}")
# Five consonants in a row, a digraph (ch, sh, th, ph, gh, ck, ng) counting as one: where
# two words meet (night|sky, birth|place, catch|phrase) three or four is usual.
_CONSONANT_RUN = re.compile(r"(?>ch|sh|th|ph|gh|ck|ng|[bcdfghjklmnpqrstvwxz]){5,}")
_FIVE_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{5}")   # the cheap test first: most labels have none
_DIGIT_LETTER_MIX = re.compile(r"[a-z][0-9]+[a-z]|[0-9][a-z]+[0-9]")
_DIGIT_RUN = re.compile(r"[0-9]{4,}")
_END_DIGITS = re.compile(r"[a-z]{3}[0-9]{1,3}$")
# com-xxx, xxx-com, and a country's domain ending spelled with hyphens (amazon-co-jp-x): the
# second levels under which the big country sites are (co.jp, com.br, gov.uk ...).
_SUFFIX_DASH = re.compile(r"^(?:com|net|org|gov|co|info)-|-(?:com|net|org)$"
                          r"|(?:^|-)(?:co-(?:jp|uk|kr|nz|za|id|in|th|il)|com-(?:br|au|mx|ar|tr|cn|hk|tw|sg|my|ph"
                          r"|co|pe|vn|pk|ng|eg|sa)|gov-(?:uk|au|br|in))(?:-|$)")
_IP_LIKE = re.compile(r"(?:^|[^0-9])[0-9]{1,3}([-.])[0-9]{1,3}\1[0-9]{1,3}\1[0-9]{1,3}(?:$|[^0-9])")
# What every such address holds, found several times faster (the search starts at a digit): the cheap test first.
_IP_LIKE_HINT = re.compile(r"[0-9]([-.])[0-9]{1,3}\1[0-9]")
_SPELLED = frozenset({"com", "net", "org", "gov", "edu", "co"})
_FIRST_LABELS = frozenset({"www", "m", "wap", "ww1", "www1", "www2", "mail", "webmail"})
_DIGITS = b"0123456789"
_VOWELS = b"aeiouy"


# n * log2(n) for the counts of one character in a label (63 at most).
_N_LOG_N = tuple(n * math.log2(n) if n else 0.0 for n in range(256))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character: log2(N) - sum(n log2 n) / N over the counts n."""
    total = len(text)
    if total > 255:
        return -sum(n / total * math.log2(n / total) for n in map(text.count, set(text)))
    return math.log2(total) - sum(map(_N_LOG_N.__getitem__, map(text.count, set(text)))) / total


def lure_words(text: str) -> tuple[str, ...]:
    """The lure words in `text`: whole hyphen-separated parts, or long ones anywhere."""
    if not _LURE.search(text):
        return ()
    found = []
    for part in text.split("-"):
        if part in LURE_WORDS:
            found.append(part)
        else:
            found += [w for w in _LURE.findall(part) if len(w) >= _LURE_MIN_INNER or not w.isascii()]
    return tuple(dict.fromkeys(found))


def label_shape(label: str) -> list[tuple[str, str]]:
    """The machine-made traits of the registrable domain's label (hyphens allowed, lower case)."""
    if label.startswith("xn--"):
        # Punycode's letters, digits and hyphens encode a Unicode name: they say nothing of how it reads.
        return []
    found: list[tuple[str, str]] = []
    letters = label.replace("-", "")
    raw = letters.encode()      # ASCII: bytes.translate deletes characters many times faster than str's
    alpha = raw.translate(None, _DIGITS)
    digits = len(letters) - len(alpha)
    hyphens = len(label) - len(letters)
    if len(label) >= 30:
        found.append(("very-long", f"{len(label)} characters long"))
    elif len(label) >= 20:
        found.append(("long", f"{len(label)} characters long"))
    if hyphens >= 3:
        found.append(("many-hyphens", f"{hyphens} hyphens"))
    elif hyphens == 2:
        found.append(("hyphens", "2 hyphens"))
    elif hyphens == 1:
        found.append(("hyphen", "a hyphen"))
    if hyphens and _SUFFIX_DASH.search(label):
        found.append(("suffix-dash", f"'{label}' glues a domain ending to a word, as in com-"))
    if digits:
        if not alpha:
            if digits >= 5:
                found.append(("all-digits", f"all digits ({digits})"))
        elif digits >= 2 and len(letters) >= 8 and (hex_run := _HEX.search(letters)) and not hex_run.group().isdigit() \
                and sum(c.isdigit() for c in hex_run.group()) >= 2:
            found.append(("hex", f"hash-like run {hex_run.group()!r}"))
        elif _DIGIT_LETTER_MIX.search(letters):
            found.append(("digit-mix", "letters and digits interleaved"))
        elif _DIGIT_RUN.search(letters):
            found.append(("digit-run", "a run of 4+ digits next to letters"))
        elif letters[-1] <= "9" and _END_DIGITS.search(letters):
            found.append(("end-digits", "a word with a number after it"))
    if len(alpha) >= _RARE_PAIR_MIN_LETTERS and (pair := _rare_pair(label)):
        found.append(("rare-letters", f"letters no word puts together ({pair!r})"))
    if len(alpha) >= 6:
        if hyphens:
            # Words joined by hyphens are judged one by one: abbreviations (tp-link, btc-box)
            # have few vowels, and a phrase (perfect-english-grammar) many different letters.
            words = [w for w in label.split("-") if len(w) > 3]
            alpha = "".join(words).encode().translate(None, _DIGITS)
            longest = max(words, key=len, default="")
        else:
            longest = letters
        vowels = len(alpha) - len(alpha.translate(None, _VOWELS))
        run = _FIVE_CONSONANTS.search(label) and _CONSONANT_RUN.search(label)   # a hyphen ends a run
        if (alpha and vowels < 0.2 * len(alpha)) or run:
            found.append(("unpronounceable", "unpronounceable" + (f" ({run.group()!r})" if run else "")))
        # Above 3.6 bits needs 13 different characters at least (2 ** 3.6 > 12): count them first.
        if len(longest) >= 12 and len(set(longest)) >= 13:
            bits = entropy(longest)
            if bits > 3.6:
                found.append(("random", f"random-looking (entropy {bits:.1f} bits)"))
    return found


def _rare_pair(label: str) -> str:
    """The first rare letter pair (`_RARE_PAIR`) in a part of `label` of 5 or more characters; "" if none."""
    if not _RARE_PAIR.search(label):
        return ""       # the usual case, one pass
    for part in label.split("-"):
        if len(part) >= _RARE_PAIR_MIN_LETTERS and (pair := _RARE_PAIR.search(part)):
            return pair.group()
    return ""


def credential_step(label: str) -> list[tuple[str, str]]:
    """The trait of a registrable label that names the sign-in step (`_CREDENTIAL`): [] or one.

    Only where no brand is found: next to a brand, the brand signal counts the word already."""
    credential = _CREDENTIAL_HINT.search(label) and _CREDENTIAL.search(label)
    if not credential:
        return []
    return [(SIGN_IN, f"{credential.group().strip('-')!r} names the sign-in step, which honest "
                                "sites keep under their own domain")]


def named_in_front(subdomain: list[str] | tuple[str, ...]) -> bool:
    """Whether a host is named in front of the registrable domain: a label other than www, m, mail ...

    Such a host drops the sign-in step trait: secure.<a payment gateway named for authorising>,
    login.<an identity service> are how the services that sign people in run their hosts, while a
    domain registered to take passwords is sent bare (132 of the development set's phishing hosts
    have the trait, 28 of them with a host named in front, most of those flagged by a brand)."""
    return any(label not in _FIRST_LABELS for label in subdomain)


SIGN_IN = "word-credential"     # the key of credential_step's trait


class FrontLabel(NamedTuple):
    """What one label in front of the registrable domain says of its host on its own, whatever stands
    around it (`front_label`): host names repeat their labels (www, api, cdn), so a caller that keeps
    these reads each label once."""
    lures: tuple[str, ...]      # lure words (`lure_words`)
    machine_made: bool          # a hash, a random string (`_machine_made`)
    suffix_dash: bool           # a domain ending glued to a word (com-, -net)


# The `FrontLabel`s without a lure word, one of each, shared by every label that reads so, indexed by
# 2 * machine_made + suffix_dash. A resolver keeps the readings of tens of thousands of labels; a new
# tuple for each was one more object the collector tracks for as long as it is kept, and the
# collections of the older generations walked them all at once (35-57 ms of CPU every ~50,000 new
# names on this machine: the unique names' p99).
PLAIN_FRONTS = tuple(FrontLabel((), machine_made, suffix_dash)
                     for machine_made in (False, True) for suffix_dash in (False, True))


def front_label(label: str, may_hold_word: bool = True) -> FrontLabel:
    """The `FrontLabel` of `label`. `may_hold_word` False: a cheaper test (`BrandIndex.gate`, which knows
    LURE_WORDS) found none in it."""
    lures = lure_words(label) if may_hold_word else ()
    # Each alternative of _SUFFIX_DASH holds a hyphen: a label without one is not searched.
    suffix_dash = "-" in label and _SUFFIX_DASH.search(label) is not None
    if lures:
        return FrontLabel(lures, _machine_made(label), suffix_dash)
    return PLAIN_FRONTS[2 * _machine_made(label) + suffix_dash]


def _machine_made(label: str) -> bool:
    """A label in front of the domain that no person picked: a hash, a random string."""
    if label.startswith("xn--"):
        return False  # see label_shape
    letters = label.replace("-", "")
    if len(letters) < 6:
        return False
    # Each search only where it can match: a hash-like run is 8 characters or more, a consonant run 5 letters.
    hex_run = len(letters) >= 8 and _HEX.search(letters)
    if hex_run:
        run = hex_run.group()
        digits = len(run) - len(run.encode().translate(None, _DIGITS))   # a count in C, not a generator
        if 2 <= digits < len(run):
            return True
    alpha = letters.encode().translate(None, _DIGITS)
    if alpha and len(alpha) < len(letters) and _DIGIT_LETTER_MIX.search(letters):
        return True
    return len(alpha) >= 5 and bool(_FIVE_CONSONANTS.search(label) and _CONSONANT_RUN.search(label))


def host_structure(subdomain: list[str], host_length: int,
                   fronts: list[FrontLabel] | None = None) -> list[tuple[str, str]]:
    """Traits of what stands in front of the registrable domain (`subdomain`, its labels); `fronts`:
    the `front_label` of each of them, when the caller has kept them."""
    found: list[tuple[str, str]] = []
    skip = 0
    while skip < len(subdomain) and subdomain[skip] in _FIRST_LABELS:
        skip += 1
    labels = subdomain[skip:]
    if not labels:
        return found
    fronts = [front_label(label) for label in labels] if fronts is None else fronts[skip:]
    if len(labels) >= 3:
        found.append(("deep", f"{len(labels)} labels in front of the domain"))
    if not _SPELLED.isdisjoint(labels[1:]):     # the usual answer, no, in one pass
        position = next(p for p in range(1, len(labels)) if labels[p] in _SPELLED)
        found.append(("spelled-domain", f"'{labels[position - 1]}.{labels[position]}' spelled out in front "
                                        "of another domain"))
    dash = machine = ""     # the first label of each kind
    for label, front in zip(labels, fronts):
        if front.suffix_dash and not dash:
            dash = label
        if front.machine_made and not machine:
            machine = label
    if dash:
        found.append(("suffix-dash", f"'{dash}' glues a domain ending to a word, as in com-"))
    if machine:
        found.append(("sub-random", f"machine-made label '{machine}' in front"))
    # One id is one trait: a long label counts apart from the machine-made one unless it is that
    # label and a single run (telemetry and sync hosts put a 26-character base32 or 32-character
    # hex id in front of honest domains; the phishing kits' long labels join words with hyphens).
    if max(map(len, labels)) >= 20 and any(len(label) >= 20 and (label != machine or "-" in label)
                                           for label in labels):
        found.append(("sub-long", "a label of 20+ characters in front"))
    if host_length >= 50:
        found.append(("long-host", f"{host_length} characters in all"))
    return found


def ip_like(host: str) -> list[tuple[str, str]]:
    if len(host) - len(host.encode().translate(None, _DIGITS)) < 4:
        return []       # an address has four numbers: most names have no four digits at all
    match = _IP_LIKE_HINT.search(host) and _IP_LIKE.search(host)
    return [("ip-like", f"an address written into the name ({match.group().strip('.-')})")] if match else []
