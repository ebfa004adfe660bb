"""The signals: each a small function from (part of) a name to the evidence it holds.

`domain_signals` looks at the registrable domain (`paypa1` + `com`),
`subdomain_signals` at what stands in front of it, `context_signals` at what
is left once brands are accounted for: fraud words, the TLD, the shape.
Values are how strongly one signal alone suggests fraud; `score.combine`
adds them up.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import NamedTuple

from fraudwall.scoring.brands import Brand, Group
from fraudwall.scoring.combo import find_words, has_words, split_words
from fraudwall.scoring.homoglyph import decode_label, loose_skeleton, skeleton
from fraudwall.scoring.index import BrandIndex, Match
from fraudwall.scoring.infrastructure import VENDOR_DOMAINS, domain_kind
from fraudwall.scoring.score import Rule, Signal
from fraudwall.scoring.tld import tld_tier, tld_trait
from fraudwall.scoring.traits import (PLAIN_FRONTS, SIGN_IN, STRUCTURE_CAP, WEIGHTS, FrontLabel, credential_step,
                                      front_label, host_structure, ip_like, label_shape, lure_words, named_in_front)
from fraudwall.scoring.typo import Edit, classify, distance

__all__ = ["DomainPart", "DomainTraits", "LabelReading", "Weighing", "WeighedTraits", "context_signals",
           "deliberate_slip", "domain_signals", "host_traits", "read_domain_traits", "read_labels",
           "subdomain_signals", "weigh", "written_address"]

# A look-alike of a long token is one on purpose; of a short one, maybe chance.
TYPO = 0.9
TYPO_TWO_EDITS = 0.75      # two edits in a long name: warn, the TLD or a word decides
TYPO_SHORT = 0.75          # up to seven letters (icbc, chase, binance): one edit makes other words
ADDITION_SHORT = 0.7       # jd -> jdd: warn, never block on this alone
TYPO_ABROAD = 0.55         # vita.de, chaze.ir: a slip of a short name under a country code the brand has
                           # no site under is most often a word of that country: the TLD or a word decides
HOMOGLYPH_IDN = 0.95
HOMOGLYPH = 0.9
HOMOGLYPH_SHORT = 0.8
HOMOGLYPH_LOOSE = 0.75     # b/d, c/e, n/m ... in ASCII under the brand's own suffix: warn
TYPO_LONG_ABROAD = 0.75    # correos.es of correios.com.br: another country's own institution, or a look-alike: warn
TLD_SWAP = 0.75            # icbc.top: the TLD decides between warn and block
TLD_SWAP_ABROAD = 0.56     # office.co.uk: a brand that is an everyday word under a country code: a hint
                           # (a ranked TLD warns). Any other brand's own country sites are its `domains`
                           # (brands.toml), so its label under another country's code warns (airbnb.hk)
COMBO = 0.9
COMBO_NEAR = 0.75          # invoice + cloud: is that icloud?
INSIDE_WITH_WORDS = 0.8    # googletraveladservices: a brand and a fraud word, not joined
INSIDE = 0.5               # amazon1986.com: a brand, but also many fan sites
PART = 0.6                 # apple-find.com: a brand and another word, joined by a hyphen: warn
PART_NEAR = 0.75           # app-lnstagram.com: a brand misspelled next to another word: warn, a TLD or word blocks
SUBDOMAIN_BRAND = 0.56    # apple.stackexchange.com exists too: the context decides (any ranked TLD warns)
SUBDOMAIN_BRAND_SPELLED = 0.85   # paypal.com.account-verify.top
SUBDOMAIN_SWAPPED = 0.65   # amaozn.example.com: two letters of a long brand swapped, in front: warn
SUBDOMAIN_SHORT = 0.4
SUBDOMAIN_NEAR_MIN = 6     # a subdomain label this long is also compared edit-wise with the brands
SUBDOMAIN_SPLIT = 0.9      # ban.kcomm.com
WORD = 0.3
WORDS = 0.45
SHORT_TOKEN = 3            # jd, qq, ccb, 189: only whole, or with a fraud word
_WORD_LIKE = 5             # tmall, gmail: one change from a word of everyday language

_SUFFIX_LIKE = frozenset({"com", "net", "org", "cn", "co", "gov", "edu"})
_FIRST_LABELS = frozenset({"www", "m", "wap", "ww1", "www1", "www2"})


class DomainPart(NamedTuple):
    """The analysis of a registrable domain: cached, shared by all its subdomains."""
    signals: tuple[Signal, ...]
    words: tuple[str, ...]      # fraud words not already explained by a brand
    brand_found: bool
    traits: tuple[tuple[str, str], ...] = ()   # TLD tier, lure words, shape: traits.py
    weighed: DomainTraits | None = None        # `traits` read and weighed (`read_domain_traits`)


def _of(match: Match) -> str:
    """How a reason names what was imitated: the domain, and the token when it is another name."""
    if match.token == match.brand.domain.split(".")[0].replace("-", ""):
        return match.brand.domain
    return f"'{match.token}' ({match.brand.domain})"


def _typo_value(token: str, d: int) -> float:
    if d >= 2:
        return TYPO_TWO_EDITS
    return TYPO if len(token) >= 8 else TYPO_SHORT


def _country(suffix: str) -> str | None:
    """The country code `suffix` (or a domain) ends in; None for a generic TLD, or a country
    code sold as one (io, me, co, tv, ai ...: `linkedin.io` is no local site)."""
    tld = suffix.rpartition(".")[2]
    return tld if len(tld) == 2 and tld not in _GENERIC_COUNTRY_CODES else None


_GENERIC_COUNTRY_CODES = frozenset({"io", "me", "co", "tv", "cc", "ai", "ly", "to", "gg", "ws", "fm",
                                    "la", "sh", "ac", "vc", "so", "sc", "nu", "am", "tk", "ml", "ga",
                                    "cf", "gq", "gl", "im"})


# The country codes where a Chinese brand's customers read its acronym as the brand, whether it runs a
# site there or not: boc.tw and qq.tw are the look-alikes of Chinese-language scams.
_CHINESE_CODES = frozenset({"cn", "hk", "mo", "tw"})


def _acronym_abroad(brand: Brand, suffix: str) -> bool:
    """Whether the country code `suffix` ends in is outside the brand's market: the brand runs no domain
    under it (`_abroad`) and, for a Chinese brand, it is none of `_CHINESE_CODES`."""
    country = _abroad(brand, suffix)
    return country is not None and not (brand.group is Group.CN and country in _CHINESE_CODES)


def _abroad(brand: Brand, suffix: str) -> str | None:
    """The country code `suffix` ends in when the brand has no domain under it; None otherwise."""
    country = suffix.rpartition(".")[2]
    if len(country) != 2 or any(d.endswith("." + country) for d in brand.domains):
        return None
    return country


def _digits_kept(plain: str, token: str) -> bool:
    """A number (10086) is imitated with digits and look-alike letters, not by a word (`ololo`)."""
    return not token.isdigit() or 2 * sum(c.isdigit() for c in plain) >= len(plain)


def _short_addition(index: BrandIndex, plain: str) -> Match | None:
    """`jdd`, `qq1`, `ccbk`: a short token with one character added at the end."""
    if 2 <= len(plain) - 1 <= SHORT_TOKEN:
        brand = index.label(plain[:-1])
        if brand is not None:
            return Match(plain[:-1], brand, 1)
    return None


def _lookalike(index: BrandIndex, text: str, suffix: str = "", plain: str | None = None,
               brand: Brand | None = None) -> tuple[Signal, ...]:
    """Typosquat or homoglyph of a brand token; `text` is a decoded label, maybe with hyphens.

    `plain` (`text` without hyphens) and `brand` (the token's brand) when the caller has them."""
    if plain is None:
        plain = text.replace("-", "")
        brand = index.token(plain)
    if brand is not None:
        if plain == text:
            return ()   # the token itself: a TLD swap, not a look-alike
        match = Match(plain, brand, 1)
        value = TYPO if len(plain) > SHORT_TOKEN else TYPO_SHORT
        return (Signal(value, Rule.TYPOSQUAT, f"hyphenation look-alike of {_of(match)}", brand.domain),)
    idn = not plain.isascii()
    folded = loose_skeleton(plain) if idn else skeleton(plain)
    for match in index.same_skeleton(plain, idn, folded) if idn or index.skeleton_known(folded) else ():
        if not _digits_kept(plain, match.token):
            continue
        value = HOMOGLYPH_IDN if idn else HOMOGLYPH if len(match.token) > SHORT_TOKEN else HOMOGLYPH_SHORT
        return (Signal(value, Rule.HOMOGLYPH, f"homoglyph of {_of(match)}: '{text}' reads as "
                       f"'{match.token}'", match.brand.domain),)
    # Compared folded, so `paypa1l` (a homoglyph and a typo) is found too; it is a
    # plain typo when folding did not bring it closer.
    abroad_signal: tuple[Signal, ...] = ()
    for match in index.near(folded, folded=True, loose=idn):
        if not _digits_kept(plain, match.token) or (match.distance > 1 and not idn and plain[:3] != match.token[:3]):
            # Two edits that rewrite a long brand's start make another name sharing its end (hiexpress,
            # flixpress of aliexpress): people read a name from its start.
            continue
        if (not idn and len(match.token) <= _WORD_LIKE and (plain.isalpha() or match.token.isdigit())
                and distance(plain, match.token, 2) > match.distance):
            # One character read as another and an edit on top, on a short name: a word or another
            # number, not a look-alike (`mail` read as `mall`, one letter from `tmall`; 11888 read as
            # 11333, one digit from 12333). A digit for a letter (`amaz0n8`) is a look-alike on purpose.
            continue
        value, abroad = _typo_value(match.token, match.distance), ""
        if value < TYPO and (country := _abroad(match.brand, suffix)):
            value, abroad = TYPO_ABROAD, f", under .{country} where it has no site"
        elif (not idn and _country(suffix) and (country := _abroad(match.brand, suffix))
              and distance(plain, match.token, 2) <= match.distance):
            # A slip of a long name under another country's code, where the brand has no site:
            # that country's own post office or bank is often one letter from a foreign brand
            # (correos of correios, citybank of citibank). Warn, and let the TLD or a word block.
            value, abroad = min(value, TYPO_LONG_ABROAD), f", under .{country} where it has no site"
        if value < TYPO and not idn and _letter_before_a_word(plain, match):
            value, abroad = TYPO_ABROAD, abroad or ", the letter in front of a word left out or changed"
        if idn or distance(plain, match.token, 2) > match.distance:
            if idn:
                value, abroad = HOMOGLYPH_IDN, ""
            found = (Signal(value, Rule.HOMOGLYPH, f"homoglyph of {_of(match)}: '{text}' reads as "
                            f"'{match.token}', edit distance {match.distance}{abroad}", match.brand.domain),)
        else:
            edit = classify(plain, match.token)
            found = (Signal(value, Rule.TYPOSQUAT,
                            f"{edit.value} look-alike of {_of(match)}, edit distance {match.distance}{abroad}",
                            match.brand.domain),)
        if not abroad:
            return found
        # A brand with no site under this country code: a local brand's look-alike (cibi.com.cn
        # of cib.com.cn rather than of citi.com, below) says more, if there is one.
        abroad_signal = found
        break
    if not idn:
        added = _short_addition(index, plain) if 3 <= len(plain) <= SHORT_TOKEN + 1 else None
        if added is not None:
            return (Signal(ADDITION_SHORT, Rule.TYPOSQUAT,
                           f"{Edit.ADDITION.value} look-alike of {_of(added)}, edit distance 1",
                           added.brand.domain),)
        # Under its own suffix, a brand's label spelled with the weaker ASCII confusions too
        # (b/d, c/e, g/q, m/n/rn/nn, u/v, lb/b ...): where a registry takes no accented
        # letters (.cn, .com.cn), these are the homoglyphs left to make.
        variant = index.ascii_variant(plain, suffix) if suffix else None
        if variant is not None:
            return (Signal(HOMOGLYPH_LOOSE, Rule.HOMOGLYPH, f"homoglyph of {_of(variant)} under its "
                           f"own suffix .{suffix}: '{plain}' reads as '{variant.token}'", variant.brand.domain),)
    return abroad_signal


def _letter_before_a_word(plain: str, match: Match) -> bool:
    """Whether `plain` is `match`'s token with only its first letter left out or changed, where the token
    is a product named by a letter put in front of a word (iCloud, iTunes, Gmail), not the brand's own
    name spelled longer (eleme of ele.me): what is left is the word or another word made from it (cloud,
    tunes, mail, email, ucloud), names of their own under every TLD. A letter that reads as the first one
    (`lcloud`) is a homoglyph, not such a change."""
    token = match.token
    changed = len(plain) == len(token) and plain[1:] == token[1:] and skeleton(plain) != skeleton(token)
    return (plain == token[1:] or changed) and not token.startswith(match.brand.domain.split(".")[0])


def _combo(index: BrandIndex, label: str, with_words: bool = True, inner: bool = True,
           ) -> tuple[Signal | None, tuple[str, ...]]:
    """Brand plus fraud words (`icbc-tuikuan`, `secureboc`); and the words found, used or not.

    `with_words` False: `label` is known to hold no fraud word (`combo.has_words`); `inner`
    False: no long token either (`BrandIndex.gate`)."""
    core, taken = split_words(label) if with_words else (label, ())
    words = taken
    if words and core:
        plain = core.replace("-", "")
        brand = index.token(plain)
        match = Match(plain, brand, 0) if brand else next(iter(index.near(plain)), None)
        if match is not None and not (match.distance and _letter_before_a_word(plain, match)):
            said = ", ".join(f"'{w}'" for w in words)
            kind = "fraud word" if len(words) == 1 else "fraud words"
            slip = f" (a look-alike of '{match.token}')" if match.distance else ""
            return (Signal(COMBO_NEAR if match.distance else COMBO, Rule.COMBOSQUAT,
                           f"{kind} {said} next to brand '{match.token}'{slip}",
                           match.brand.domain), ())
    words = find_words(label) if with_words else ()
    if words:
        for match in _inside(index, label):
            if any(word in match.token for word in words):
                # walletconnectkefu: the split took the brand's own 'wallet' off the front; the word at
                # the end, too short to be looked for inside, is the one next to the brand.
                words = _unexplained(tuple(dict.fromkeys(words + taken)), label, match.token)
    if not words and "-" in label:
        match = _brand_part(index, label)
        if match is not None:
            if not match.distance:
                return (Signal(PART, Rule.COMBOSQUAT, f"brand '{match.token}' joined by a hyphen to other words",
                               match.brand.domain), ())
            return (Signal(PART_NEAR, Rule.COMBOSQUAT, f"look-alike of brand '{match.token}' joined by a hyphen "
                           "to other words", match.brand.domain), ())
    # Not across a hyphen: urban-post is no anpost, amazon-jp-gift is amazon.
    for match in _inside(index, label) if inner else ():
        if not words and match.token in _EVERYDAY_TOKENS and match.token in label.split("-"):
            continue    # a part of its own, which `_brand_part` judged: a compound (evening-telegram)
        if words:
            said = ", ".join(f"'{w}'" for w in words)
            return (Signal(INSIDE_WITH_WORDS, Rule.COMBOSQUAT, f"brand '{match.token}' with fraud words {said}",
                           match.brand.domain), ())
        return (Signal(INSIDE, Rule.COMBOSQUAT, f"brand '{match.token}' inside an unrelated domain",
                       match.brand.domain), ())
    for part in label.split("-") if words else ():
        brand = index.token(part)
        if brand is not None:
            said = ", ".join(f"'{w}'" for w in words)
            return (Signal(INSIDE_WITH_WORDS, Rule.COMBOSQUAT, f"brand '{part}' with fraud words {said}",
                           brand.domain), ())
    return None, words


def _brand_part(index: BrandIndex, label: str) -> Match | None:
    """The brand token that is one of the hyphen-separated parts of `label` (`apple-locate`,
    `usps-kqz`): dnstwist's dictionary family with any word. Tokens of four letters or
    more: the short ones (`jd`, `ups`) only with a fraud word, as everywhere. Failing that, a
    part of six letters or more that is a slip or a homoglyph of a brand (`app-lnstagram`,
    distance 1 or more): nobody misspells a brand next to another word by chance."""
    parts = label.split("-")
    for part in parts:
        if len(part) > SHORT_TOKEN and (brand := index.token(part)) is not None and (
                part not in _EVERYDAY_TOKENS
                or not any(len(other) > SHORT_TOKEN and other.isalpha() for other in parts if other != part)):
            # An everyday word next to another word of four letters or more is a compound with a meaning
            # of its own (evening-telegram, home-office, paper-chase); next to a code (telegram-xq,
            # 24hrs-office) it is not.
            return Match(part, brand, 0)
    for part in parts:
        if len(part) >= SUBDOMAIN_NEAR_MIN and part.isalnum():
            match = next(iter(index.same_skeleton(part)), None)
            if match is not None and match.token not in _EVERYDAY_TOKENS:
                return Match(match.token, match.brand, 1)
            match = _deliberate_near(index, part)
            if match is not None:
                return match
    return None


# Slips that seldom make another word: a letter replaced, flipped or added at the end
# often does (doujin of douyin, finance of binance, amazons), so those are left out.
_DELIBERATE_SLIPS = frozenset({Edit.TRANSPOSITION, Edit.OMISSION, Edit.INSERTION, Edit.REPETITION})


def deliberate_slip(index: BrandIndex, label: str) -> bool:
    """Whether `label`, a typo of a brand, is one of the slips that seldom make a word, or the brand
    hyphenated (`pay-pal`): where names are picked by the million (a platform's customers), a letter
    replaced is mostly a word (`telegraf`, `finance`)."""
    plain = label.replace("-", "")
    return index.token(plain) is not None or _deliberate_near(index, plain) is not None


def _deliberate_near(index: BrandIndex, text: str) -> Match | None:
    """The nearest brand `text` is a slip of, when the slip is one that seldom makes a word."""
    match = next(iter(index.near(text)), None)
    return match if match is not None and classify(text, match.token) in _DELIBERATE_SLIPS else None


# Tokens that are everyday words too, and so compound parts of honest names
# (home-office, paper-chase, visa-services, steam-cleaning, market-outlook, and the newspapers
# called Telegram since the telegraph: evening-telegram).
_EVERYDAY_TOKENS = frozenset({"office", "outlook", "chase", "visa", "steam", "kraken", "telegram"})
# Everyday words that hold a token of five letters or more: a brand is not inside them
# (telemetry and element hold 'eleme', pineapple and grapple 'apple', purchase 'chase').
# Hosts of telemetry are everywhere in real traffic.
_EVERYDAY_HOLDERS = re.compile("telemetry|element|pineapple|grapple|purchase")


def _inside(index: BrandIndex, text: str) -> tuple[Match, ...]:
    """`index.inside`, less the tokens that sit inside an everyday word (`_EVERYDAY_HOLDERS`)."""
    found = index.inside(text)
    if not found:
        return found
    masked = _EVERYDAY_HOLDERS.sub(lambda m: "-" * len(m.group()), text)
    return tuple(m for m in found if m.token in masked)


def _unexplained(words: tuple[str, ...], label: str, token: str) -> tuple[str, ...]:
    """`words` found in `label` less those its brand `token` holds each time (walletconnect-docs: 'wallet'
    is the brand's own name, not a word next to it); `walletconnect-wallet` keeps it."""
    if not words or not token:
        return words
    return tuple([w for w in words if label.count(w) > token.count(w)])


def _within_a_number(token: str, label: str) -> bool:
    """Whether `token` is a brand's number (10000, 10086) that stands in `label` only as part of a longer
    number: in front of a domain, ids, counters and hashes run digits together (`d18fa310000bfb`), and
    the brand's number is one only where no digit touches it (`kefu10000`, `10086-kefu`)."""
    if not token.isdigit():
        return False
    start = label.find(token)
    while start >= 0:
        end = start + len(token)
        if not ((start and label[start - 1].isdigit()) or (end < len(label) and label[end].isdigit())):
            return False
        start = label.find(token, start + 1)
    return True


def domain_signals(index: BrandIndex, label: str, suffix: str, read_traits=None) -> DomainPart:
    """Signals of a registrable domain that no brand owns: `label` is its first label, ASCII.
    `read_traits`: `read_domain_traits`, or a cache of it (domains share their traits: the TLD's alone,
    a hyphen under it ...)."""
    if f"{label}.{suffix}" in VENDOR_DOMAINS:
        # A vendor's own domain (app.link, service-now.com) has a known registrant: the TLD's rank and the
        # label's words and shape, priors on unknown ones, say nothing (`service-now` holds 'service').
        vendor = ((INFRASTRUCTURE, domain_kind(label, suffix, None)),)
        return DomainPart((), (), False, vendor, (read_traits or read_domain_traits)(vendor))
    text = decode_label(label) if label.startswith("xn--") else label
    plain = text.replace("-", "") if "-" in text else text
    # One pass says whether any fraud word, lure word or long token can be in the label: for
    # most labels none is, and the searches for each are skipped.
    any_word = index.gate(plain) is not None
    signals, words, found = _brand_signals(index, text, suffix, plain, any_word)
    traits = list(tld_trait(suffix))
    if any_word:
        lures = lure_words(text)
        if lures and found:
            for match in _inside(index, plain):
                lures = _unexplained(lures, plain, match.token)
        traits += [("lure", w) for w in lures]
    shape = label_shape(label)
    if found and shape and signals[0].rule is Rule.COMBOSQUAT and signals[0].value >= INSIDE_WITH_WORDS:
        # A brand and the fraud words next to it make a long label (`exampletravelservices`): its length
        # says nothing the combosquat signal has not said, and it made such a brand's own names block.
        shape = [trait for trait in shape if trait[0] not in ("long", "very-long")]
    traits += shape
    if not found:
        traits += credential_step(text)
    if not found and (serving := domain_kind(label, suffix, tld_tier(suffix), any_word)):
        traits.append((INFRASTRUCTURE, serving))
    domain_traits = tuple(traits)
    return DomainPart(signals, words, found, domain_traits, (read_traits or read_domain_traits)(domain_traits))


def _brand_signals(index: BrandIndex, text: str, suffix: str, plain: str, any_word: bool,
                   ) -> tuple[tuple[Signal, ...], tuple[str, ...], bool]:
    brand: Brand | None = index.token(plain)
    if brand is not None and (plain == text or any(d.startswith(text + ".") for d in brand.domains)):
        # The brand's own label, hyphens and all (credit-agricole, sf-express), under another suffix: its
        # own country forms are spelled so; a TLD swap (warn), not a hyphen put in (pay-pal, block).
        value, why = TLD_SWAP, ""
        if plain in _EVERYDAY_TOKENS and (_country(suffix) or suffix == "com"):
            # office.co.uk, visa.com.br: a word of that country's own sites, not only the brand's. And
            # the .com of such a word that the brand does not run (its own would be in its domains):
            # another's since the web began (Telegram is on .org; the word's .com, a newspaper's).
            value, why = TLD_SWAP_ABROAD, ", though the word is in everyday use there"
        elif len(plain) <= SHORT_TOKEN and _country(suffix) and _acronym_abroad(brand, suffix):
            # ups.ee, cib.hu, boc.lk: three characters or fewer are an acronym that some organisation of every
            # country holds (Hungary's CIB Bank, the Bank of Ceylon); outside the brand's own market it is a
            # hint, as an everyday word is (a ranked TLD or a word makes it warn).
            value, why = TLD_SWAP_ABROAD, ", an acronym that organisations of that country use too"
        signal = Signal(value, Rule.TLD_SWAP, f"brand '{plain}' under .{suffix}, which is not "
                        f"its own domain {brand.domain}{why}", brand.domain)
        return (signal,), (), True
    signals = _lookalike(index, text, suffix, plain, brand)
    if signals:
        return signals, find_words(text) if any_word else (), True     # find_words: () without a fraud word
    if not any_word and "-" not in text:
        return (), (), False        # no word, no long token, no hyphenated part: no combosquat
    combo, words = _combo(index, text, any_word and has_words(text), any_word)
    if combo is not None:
        return (combo,), (), True
    return (), words, False


# Labels read in front of a domain (and their hyphenated parts) kept, at most this many, by each scorer
# (`readings`).
READINGS = 65_536


class LabelReading(NamedTuple):
    """What one label in front of a registrable domain says on its own, whatever stands around it."""
    words: tuple[str, ...]      # fraud words (combo.find_words)
    shown: Match | None         # the brand the label, or else one of its hyphenated parts, is, reads as or slips from
    part: str                   # that part of the label ("" when none)
    inside: Match | None        # else the longest token inside the label (`_inside`)
    front: FrontLabel           # lure words, machine-made, a domain ending glued on (traits.front_label)


# The readings of labels that show nothing but their shape, shared (`traits.PLAIN_FRONTS`, same order).
_PLAIN_READINGS = tuple(LabelReading((), None, "", None, front) for front in PLAIN_FRONTS)


def read_labels(index: BrandIndex, labels: list[str], readings: OrderedDict | None = None) -> list[LabelReading]:
    """The `LabelReading` of each of `labels`, the labels in front of a registrable domain.

    `readings`: what a label said before, kept by the label. Host names repeat their labels (www, api,
    cdn, the domain in front of which a CDN hash changes) and reading one is a dozen look-ups and a
    regular expression; new names under a known domain then read only their new label."""
    if readings is None:
        readings = OrderedDict()
    read = []
    for label in labels:
        reading = readings.get(label)
        if reading is None:
            reading = _remember(readings, label, _read_label(index, label, readings))
        read.append(reading)
    return read


def subdomain_signals(index: BrandIndex, labels: list[str], label: str, registrable: str,
                      readings: OrderedDict | None = None, read: list[LabelReading] | None = None,
                      ) -> tuple[tuple[Signal, ...], tuple[str, ...]]:
    """Brands and fraud words in the labels in front of an unrelated registrable domain.

    `readings` as `read_labels` keeps them; `read`: what `read_labels` says of `labels`, when the caller
    has it already."""
    if readings is None:
        readings = OrderedDict()
    if read is None:
        read = read_labels(index, labels, readings)
    first = 0
    while first < len(labels) and labels[first] in _FIRST_LABELS:
        first += 1
    if first == len(labels):
        return (), ()
    if first:
        labels, read = labels[first:], read[first:]
    signals: list[Signal] = []
    # ban.kcomm.com: the brand split by a dot (not where a vendor's label follows: it was not chosen to complete
    # a brand, microsoft.onelink.me is no microsoftonline)
    key = (labels[-1], label)
    split = readings.get(key, _UNREAD) if registrable not in VENDOR_DOMAINS else None
    if split is _UNREAD:
        split = _remember(readings, key, _split_signal(index, labels[-1], label))
    if split is not None:
        signals.append(split)
    words: list[str] = []
    for position, reading in enumerate(read):
        words += reading.words
        if signals or (reading.shown is None and reading.inside is None) or \
                (labels[position].isdigit() and written_address(labels)):
            continue
        after = labels[position + 1] if position + 1 < len(labels) else ""
        signals.append(_shown_signal(reading, after, registrable))
    return tuple(signals), tuple(words)


_UNREAD = object()


def _remember(readings: OrderedDict, key, reading):
    if len(readings) >= READINGS:
        # First in, first out, one at a time: never a stall. An OrderedDict's: a dict's first key,
        # found again and again past the slots its deletions left, cost 27 µs a time once full.
        readings.popitem(last=False)
    readings[key] = reading
    return reading


def _brand_shown(index: BrandIndex, part: str) -> Match | None:
    """The brand a part of a label in front of a domain is, reads as, or slips from; None."""
    brand = index.token(part)
    if brand:
        return Match(part, brand, 0)
    match = None
    if len(part) > SHORT_TOKEN:
        text = decode_label(part)
        folded = skeleton(text)
        if index.skeleton_known(folded):    # the usual answer, no, without building a tuple
            match = index.same_skeleton(text, folded=folded)[0]
    if match is None and len(part) >= SUBDOMAIN_NEAR_MIN:
        # amaozn.example.top: a slip of a long brand in front, as in the domain itself
        match = next(iter(index.near(part)), None)
    return match


def _split_signal(index: BrandIndex, last: str, label: str) -> Signal | None:
    joined = last + label
    for match in (*((Match(joined, b, 0),) if (b := index.token(joined)) else ()), *index.near(joined)):
        return Signal(SUBDOMAIN_SPLIT, Rule.TYPOSQUAT, f"'{last}.{label}' is {_of(match)} split by a dot",
                      match.brand.domain)
    return None


def _read_label(index: BrandIndex, label: str, readings: OrderedDict) -> LabelReading:
    """The `LabelReading` of `label`. The brand a hyphenated part shows is kept in `readings` too:
    machine-made labels recombine a few words with counters (img-cdn-17, edge-eu-3)."""
    # One pass says whether any fraud word, lure word or long token can be in the label: for most
    # labels none is, and the searches for each are skipped.
    any_word = index.gate(label) is not None
    words = find_words(label) if any_word else ()
    front = front_label(label, any_word)
    match = _brand_shown(index, label)
    if match is not None:
        if match.token == label:    # the brand's own name explains a word it holds (trustwallet: 'wallet')
            words, front = (), front._replace(lures=())
        return LabelReading(words, match, label, None, front)
    for part in dict.fromkeys(label.split("-")) if "-" in label else ():
        key = (part,)
        shown = readings.get(key, _UNREAD)
        if shown is _UNREAD:
            shown = _remember(readings, key, _brand_shown(index, part))
        if shown is not None:
            return LabelReading(_unexplained(words, label, part), shown, part, None,
                                front._replace(lures=_unexplained(front.lures, label, part)))
    inside = next((m for m in _inside(index, label) if not _within_a_number(m.token, label)), None) \
        if any_word else None
    if inside is not None:
        words = _unexplained(words, label, inside.token)
        front = front._replace(lures=_unexplained(front.lures, label, inside.token))
    if words or inside is not None or front.lures:
        return LabelReading(words, None, "", inside, front)
    return _PLAIN_READINGS[2 * front.machine_made + front.suffix_dash]   # most labels: see PLAIN_FRONTS


def _shown_signal(reading: LabelReading, after: str, registrable: str) -> Signal:
    """The signal of a label in front that shows a brand (`reading.shown`) or holds one (`reading.inside`);
    `after` is the label that follows it."""
    match = reading.shown
    if match is None:
        match = reading.inside
        assert match is not None, "a label in front that shows no brand and holds none gives no signal"
        value, what = INSIDE, f"brand '{match.token}' inside"
    else:
        value = (SUBDOMAIN_SHORT if len(match.token) <= SHORT_TOKEN
                 else SUBDOMAIN_BRAND_SPELLED if _spelled_on(match.brand, after) else SUBDOMAIN_BRAND)
        if value == SUBDOMAIN_BRAND and match.distance and classify(reading.part, match.token) is Edit.TRANSPOSITION:
            # amaozn.example.com: two letters swapped is a slip no honest host name makes of a long
            # brand; a letter replaced is often a word (finance of binance, telegraf of telegram).
            value = SUBDOMAIN_SWAPPED
        what = (f"look-alike of brand '{match.token}'" if match.distance else f"brand '{match.token}'") + " in"
    return Signal(value, Rule.BRAND_SUBDOMAIN, f"{what} subdomain of an unrelated domain {registrable}",
                  match.brand.domain)


def written_address(labels: list[str]) -> bool:
    """Whether `labels` spell an address (192.0.2.189.example.net): numbers, not a brand's (189)."""
    return sum(label.isdigit() for label in labels) >= 3


def _spelled_on(brand: Brand, after: str) -> bool:
    """Whether the label after a brand in front spells a domain ending: `paypal.com.x.top`, or one glued
    to more (`allegro.pl-x.example.eu`, `paypal.com-x.example.net`): com, net, org ... or the brand's own."""
    if after in _SUFFIX_LIKE:
        return True
    head = after.partition("-")[0]
    return head != after and (head in _SUFFIX_LIKE or any(d.endswith("." + head) for d in brand.domains))


def _group(found: list[tuple[str, str]], keys: frozenset[str] | None, rule: Rule, lead: str,
           ) -> Signal | None:
    """One signal for the traits of one kind: their values noisy-or'ed, their reasons listed."""
    doubt, reasons = 1.0, []
    for key, reason in found:
        if keys is None or key in keys:
            doubt *= 1.0 - WEIGHTS[key]
            reasons.append(reason)
    if not reasons:
        return None
    return Signal(round(1.0 - doubt, 4), rule, lead + ", ".join(reasons))


_SHAPE_KEYS = frozenset(k for k in WEIGHTS if not k.startswith(("tld-", "word", "lure")))


INFRASTRUCTURE = "infrastructure"     # the trait key of a serving domain (infrastructure.py): weighs nothing


class Weighing(NamedTuple):
    """Traits weighed as `context_signals` weighs them, in the order found: a signal for each trait of a
    kind of its own (TLD, words, a note), the shape and the structure traits each noisy-or'ed into one."""
    own: tuple[Signal, ...] = ()
    shape_doubt: float = 1.0
    shape: tuple[str, ...] = ()             # the shape traits' reasons
    shape_signal: tuple[Signal, ...] = ()   # their signal: () or one
    structure_doubt: float = 1.0
    structure: tuple[str, ...] = ()
    structure_signal: tuple[Signal, ...] = ()
    signals: tuple[Signal, ...] = ()        # all of the above as signals


def weigh(traits: list[tuple[str, str]] | tuple[tuple[str, str], ...], start: Weighing = Weighing()) -> Weighing:
    """`start` with `traits` weighed after the traits it holds: the same as weighing all of them at once."""
    if not traits:
        return start
    own, shape_doubt, shape, shape_signal, structure_doubt, structure, structure_signal = _weigh(traits, start)
    own = tuple(own)
    return Weighing(own, shape_doubt, tuple(shape), shape_signal, structure_doubt, tuple(structure),
                    structure_signal, own + shape_signal + structure_signal)


def _weighed_signals(traits: list[tuple[str, str]], start: Weighing) -> tuple[Signal, ...]:
    """`weigh(traits, start).signals`, without the rest of the `Weighing`: what a host adds to its domain's."""
    own, _, _, shape_signal, _, _, structure_signal = _weigh(traits, start)
    return (*own, *shape_signal, *structure_signal)


def _weigh(traits, start: Weighing):
    own = list(start.own)
    shape, structure = list(start.shape), list(start.structure)
    shape_doubt, structure_doubt = start.shape_doubt, start.structure_doubt
    for key, reason in traits:
        if key == INFRASTRUCTURE:
            own.append(Signal(0.0, Rule.INFRASTRUCTURE, f"infrastructure: {reason}"))
            continue
        weight = WEIGHTS[key]
        if not weight:
            continue        # fitted to nothing: not a reason
        rule = _OWN_RULE.get(key)
        if rule is not None:
            own.append(Signal(weight, rule, reason))
        elif key in _STRUCTURE_KEYS:
            structure_doubt *= 1.0 - weight
            structure.append(reason)
        else:
            shape_doubt *= 1.0 - weight
            shape.append(reason)
    # A group that gained no trait keeps its signal: a host's traits are mostly of one group.
    shape_signal = start.shape_signal if len(shape) == len(start.shape) else (
        Signal(round(1.0 - shape_doubt, 4), Rule.SHAPE, "machine-made shape: " + ", ".join(shape)),)
    # One hint, however many of its traits: depth, a machine-made or long label in front and a long
    # host describe one layout, which cloud workloads share (api-7f9c2d1e4b-x2k9z.eu-west-1.prod.example.io).
    structure_signal = start.structure_signal if len(structure) == len(start.structure) else (
        Signal(min(round(1.0 - structure_doubt, 4), STRUCTURE_CAP), Rule.SHAPE,
               "built like a phishing host: " + ", ".join(structure)),)
    return own, shape_doubt, shape, shape_signal, structure_doubt, structure, structure_signal


class WeighedTraits(NamedTuple):
    """Traits of a registrable domain, the keys among them and their `Weighing`: what a host's own
    traits are added to."""
    traits: tuple[tuple[str, str], ...]
    keys: frozenset[str]
    weighing: Weighing


def _weighed(traits: tuple[tuple[str, str], ...], start: WeighedTraits | None = None) -> WeighedTraits:
    """`traits` weighed (after `start`'s)."""
    if start is None:
        return WeighedTraits(traits, frozenset([key for key, _ in traits]), weigh(traits))
    return WeighedTraits(start.traits + traits, start.keys.union([key for key, _ in traits]),
                         weigh(traits, start.weighing))


class DomainTraits(NamedTuple):
    """A registrable domain's traits (`DomainPart.traits`) as `host_traits` reads them, weighed: what
    depends on the domain alone is done once per domain (cached with its DomainPart), not per name.

    Its traits that count as they are (the TLD, the shape, the sign-in step) are weighed four ways, as
    a host under it starts from them: `plain`; `named`, less the sign-in step (`traits.named_in_front`);
    each with the lure trait of the domain's own lure words after them (`lured`, `named_lured`), which
    is a host's lure trait when no fraud word and no other lure word stands in front. None where a way
    is the same as another (no sign-in step, no lure word)."""
    lures: tuple[str, ...]                  # lure words of the registrable label
    serving: str                            # why the domain serves machines (infrastructure.py); "" if not
    plain: WeighedTraits
    named: WeighedTraits | None
    lured: WeighedTraits | None
    named_lured: WeighedTraits | None
    machines: WeighedTraits | None          # a serving domain's host with no brand or word: its TLD, the note


def read_domain_traits(domain_traits: tuple[tuple[str, str], ...]) -> DomainTraits:
    """The `DomainTraits` of `domain_traits` (`DomainPart.traits`)."""
    found = []
    lures = []
    serving = ""
    sign_in = False
    for trait in domain_traits:
        key = trait[0]
        if key == "lure":
            lures.append(trait[1])
        elif key == INFRASTRUCTURE:
            serving = trait[1]
        else:
            found.append(trait)
            sign_in = sign_in or key == SIGN_IN
    lures = list(dict.fromkeys(lures))
    plain = _weighed(tuple(found))
    named = _weighed(tuple([t for t in found if t[0] != SIGN_IN])) if sign_in else None
    lure = (_lure_trait(lures),) if lures else ()
    machines = _weighed(tuple([t for t in found if t[0].startswith("tld-")] + [(INFRASTRUCTURE, serving)])
                        ) if serving else None
    return DomainTraits(tuple(lures), serving, plain, named, _weighed(lure, plain) if lure else None,
                        _weighed(lure, named) if lure and named else None, machines)


def _lure_trait(lures: list[str] | tuple[str, ...]) -> tuple[str, str]:
    return ("lure", f"lure word{'s' if len(lures) > 1 else ''} " + ", ".join([f"'{w}'" for w in lures]))


def _host_traits(domain: DomainTraits, words: tuple[str, ...], subdomain: list[str] | tuple[str, ...],
                 host: str, branded: bool, fronts: list[FrontLabel] | None,
                 ) -> tuple[WeighedTraits, list[tuple[str, str]]]:
    """`host_traits` as the domain's traits it starts from and the host's own that follow them."""
    found = []
    if words:
        if len(words) > 1:
            words = tuple(dict.fromkeys(words))
        said = ", ".join([f"'{w}'" for w in words])
        found.append(("words" if len(words) > 1 else "word", f"fraud word{'s' if len(words) > 1 else ''} {said}"))
    if subdomain and fronts is None:
        fronts = [front_label(sub) for sub in subdomain]
    lured = False       # the lure trait is the domain's own, weighed with it
    lures = domain.lures
    for front in fronts or ():
        if front.lures:
            lures += front.lures
    if len(lures) > len(domain.lures) or words and lures:
        lures = tuple([w for w in dict.fromkeys(lures) if w not in words])
        if lures:
            found.append(_lure_trait(lures))
    else:
        lured = bool(lures)
    if domain.machines is not None and not branded and not words and not lures:     # a serving domain
        return domain.machines, []
    named = subdomain and domain.named is not None and named_in_front(subdomain)   # traits.named_in_front says why
    base = (domain.named_lured if named else domain.lured) if lured else domain.named if named else domain.plain
    assert base is not None, "read_domain_traits weighs each way that lured and named pick"
    if subdomain:
        structure = host_structure(list(subdomain), len(host), fronts)
        if structure:
            # Each trait once. Those found so far are each of another key (the domain's traits, the
            # words, the lures), but a label in front may share one with the domain (suffix-dash).
            keys = base.keys.union([key for key, _ in found]) if found else base.keys
            found += [t for t in structure if t[0] not in keys]
    if host:
        found += ip_like(host)      # never one of the above
    return base, found


def host_traits(domain_traits: tuple[tuple[str, str], ...] | DomainTraits, words: tuple[str, ...],
                subdomain: list[str] | tuple[str, ...] = (), host: str = "", branded: bool = False,
                fronts: list[FrontLabel] | None = None) -> list[tuple[str, str]]:
    """Every trait of a host as (key of traits.WEIGHTS, reason); lure words as ("lure", word).

    Under a domain that serves machines (infrastructure.py), with no brand (`branded`: a brand
    signal was found in the host), fraud word or lure word, the shape and the structure are
    what such hosts look like: they give way to one ("infrastructure", reason), and the TLD stays.
    `domain_traits`: `DomainPart.traits`, or as `read_domain_traits` reads them.
    `fronts`: the `traits.front_label` of each label of `subdomain`, when the caller has kept them."""
    if not isinstance(domain_traits, DomainTraits):
        domain_traits = read_domain_traits(domain_traits)
    base, found = _host_traits(domain_traits, words, subdomain, host, branded, fronts)
    return [*base.traits, *found]


def context_signals(domain_traits: tuple[tuple[str, str], ...] | DomainTraits, words: tuple[str, ...],
                    subdomain: list[str] | tuple[str, ...] = (), host: str = "", branded: bool = False,
                    fronts: list[FrontLabel] | None = None) -> tuple[Signal, ...]:
    """What is left once brands are accounted for: the TLD, fraud and lure words, the shape.

    `domain_traits` are the registrable domain's (`DomainPart.traits`, or `DomainPart.weighed`, read
    and weighed once for the domain), `words` the fraud words no brand explains, `subdomain` the labels
    in front, `host` the whole name, `fronts` as `host_traits` takes them. One signal per kind:
    TLD, words, the label's shape, the host's structure; traits of one kind
    noisy-or'ed, their reasons listed.
    """
    if not isinstance(domain_traits, DomainTraits):
        domain_traits = read_domain_traits(domain_traits)
    base, found = _host_traits(domain_traits, words, subdomain, host, branded, fronts)
    return _weighed_signals(found, base.weighing) if found else base.weighing.signals


_STRUCTURE_KEYS = frozenset({"spelled-domain", "ip-like", "deep", "sub-random", "sub-long", "long-host"})
# The traits that are a signal of their own (TLD, words), by key, with its rule; the others are noisy-or'ed
# into one of two groups, the structure (_STRUCTURE_KEYS) and the shape.
_OWN_RULE = {key: Rule.TLD if key.startswith("tld-") else Rule.WORDS for key in WEIGHTS
             if key.startswith(("tld-", "word", "lure"))}
