"""Deterministic dnstwist-style look-alikes of every shipped brand, for the scorer benchmark.

    python benchmarks/lookalikes.py [--per-brand 25] [--seed 1] > lookalikes-generated.txt

Implements dnstwist's permutation families (addition, bitsquatting, homoglyph,
hyphenation, insertion, omission, repetition, replacement, subdomain,
transposition, vowel-swap, tld-swap, dictionary) on the main domain of each
brand, then samples a fixed number per brand across the families, the way the
development set is built. Output: name, brand domain, family, group (tab-separated).
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from typing import Iterator

from fraudwall.scoring.brands import load_brands

QWERTY = {
    "1": "2q", "2": "3wq1", "3": "4ew2", "4": "5re3", "5": "6tr4", "6": "7yt5", "7": "8uy6",
    "8": "9iu7", "9": "0oi8", "0": "po9", "q": "12wa", "w": "3esaq2", "e": "4rdsw3",
    "r": "5tfde4", "t": "6ygfr5", "y": "7uhgt6", "u": "8ijhy7", "i": "9okju8", "o": "0plki9",
    "p": "lo0", "a": "qwsz", "s": "edxzaw", "d": "rfcxse", "f": "tgvcdr", "g": "yhbvft",
    "h": "ujnbgy", "j": "ikmnhu", "k": "olmji", "l": "kop", "z": "asx", "x": "zsdc",
    "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
# dnstwist's homoglyph fuzzer, table for table: its ASCII glyphs (a source of
# one or two letters, `rn` and `cl` included) apply everywhere; its Unicode
# glyphs depend on the TLD (`glyphs_idn_by_tld`: the accented letters a
# registry allows; none under .cn, .com.cn, .jp, .uk ...), Latin only. The
# Cyrillic look-alikes are dnstwist's separate whole-word `cyrillic` fuzzer,
# not this family.
ASCII_GLYPHS = {
    "0": "o", "1": "li", "3": "8", "6": "9", "8": "3", "9": "6",
    "b": ["d", "lb"], "c": "e", "d": ["b", "cl", "dl"], "e": "c", "g": "q", "h": ["lh"],
    "i": "1l", "k": ["lc"], "l": "1i", "m": ["n", "nn", "rn"], "n": "mr", "o": "0",
    "q": "g", "u": "v", "v": "u", "w": ["vv"], "rn": "m", "cl": "d",
}
UNICODE_GLYPHS = {
    "2": "ƻ", "3": "ʒ", "5": "ƽ",
    "a": "ạăȧɑåąâǎáəäãāà", "b": "ḃḅƅʙḇɓ", "c": "čᴄċçćĉƈ", "d": "ďḍḋɖḏɗḓḑđ",
    "e": "êẹęèḛěɇėĕéëēȩ", "f": "ḟƒ", "g": "ǧġǵğɡǥĝģɢ", "h": "ȟḫḩḣɦḥḧħẖⱨĥ",
    "i": "ɩǐíɪỉȋɨïīĩịîıĭįì", "j": "ǰĵʝɉ", "k": "ĸǩⱪḵķᴋḳ", "l": "ĺłɫļľ",
    "m": "ᴍṁḿṃɱ", "n": "ņǹńňṅṉṇꞑñŋ", "o": "öóȯỏôᴏōòŏơőõọø", "p": "ṗƿƥṕ",
    "q": "ʠ", "r": "ʀȓɍɾřṛɽȑṙŗŕɼṟ", "s": "ṡșŝꜱʂšśṣş", "t": "ťƫţṭṫțŧ",
    "u": "ᴜųŭūűǔȕưùůʉúȗüûũụ", "v": "ᶌṿᴠⱴⱱṽ", "w": "ᴡẇẅẃẘẉⱳŵẁ", "x": "ẋẍ",
    "y": "ŷÿʏẏɏƴȳýỿỵ", "z": "žƶẓẕⱬᴢżźʐ", "ae": "æ", "oe": "œ",
}
_EU = {"a": "áàăâåäãąā", "c": "ćĉčċç", "d": "ďđ", "e": "éèĕêěëėęē", "g": "ğĝġģ", "h": "ĥħ",
       "i": "íìĭîïĩįī", "j": "ĵ", "k": "ķĸ", "l": "ĺľļł", "n": "ńňñņ", "o": "óòŏôöőõøō",
       "r": "ŕřŗ", "s": "śŝšş", "t": "ťţŧ", "u": "úùŭûůüűũųū", "w": "ŵ", "y": "ýŷÿ",
       "z": "źžż", "ae": "æ", "oe": "œ"}
_FR = {"a": "àáâãäå", "c": "ç", "e": "èéêë", "i": "ìíîï", "n": "ñ", "o": "òóôõö",
       "u": "ùúûü", "y": "ýÿ", "ae": "æ", "oe": "œ"}
IDN_GLYPHS_BY_TLD = {
    **dict.fromkeys(["ad", "cz", "sk", "uk", "co.uk", "nl", "edu", "us", "jp", "co.jp", "ad.jp",
                     "ne.jp", "cn", "com.cn", "tw", "com.tw", "net.tw"], {}),
    "info": {"a": "áäåą", "c": "ćč", "e": "éėę", "i": "íį", "l": "ł", "n": "ñń", "o": "óöøő",
             "s": "śš", "u": "úüūűų", "z": "źżž", "ae": "æ"},
    **dict.fromkeys(["br", "com.br"], {"a": "àáâã", "c": "ç", "e": "éê", "i": "í", "o": "óôõ",
                                        "u": "úü", "y": "ýÿ"}),
    "dk": {"a": "äå", "e": "é", "o": "öø", "u": "ü", "ae": "æ"},
    **dict.fromkeys(["eu", "de", "pl"], _EU),
    "fi": {"3": "ʒ", "a": "áäåâ", "c": "č", "d": "đ", "g": "ǧǥ", "k": "ǩ", "n": "ŋ", "o": "õö",
           "s": "š", "t": "ŧ", "z": "ž"},
    "no": {"a": "áàäå", "c": "čç", "e": "éèê", "i": "ï", "n": "ŋńñ", "o": "óòôöø", "s": "š",
           "t": "ŧ", "u": "ü", "z": "ž", "ae": "æ"},
    **dict.fromkeys(["be", "fr", "re", "yt", "pm", "wf", "tf", "ch", "li"], _FR),
    "ca": {"a": "àâ", "c": "ç", "e": "èéêë", "i": "îï", "o": "ô", "u": "ùûü", "y": "ÿ",
           "ae": "æ", "oe": "œ"},
}
WORDS = ["login", "secure", "verify", "account", "update", "service", "support", "refund",
         "kefu", "tuikuan", "daikuan", "zhongjiang", "anquan"]
TLDS = ["top", "xyz", "shop", "vip", "cc", "icu", "cyou", "sbs", "buzz", "club", "online", "site",
        "info", "net", "org", "co", "io", "me", "app", "asia", "biz", "live", "ltd", "work", "tw",
        "hk", "com.cn", "net.cn", "com"]
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def split(domain: str) -> tuple[str, str]:
    label, _, suffix = domain.partition(".")
    return label, suffix


def families(label: str) -> dict[str, set[str]]:
    n = len(label)
    out: dict[str, set[str]] = {
        "addition": {label + c for c in ALNUM},
        "bitsquatting": {label[:i] + chr(ord(c) ^ m) + label[i + 1:]
                         for i, c in enumerate(label) for m in (1, 2, 4, 8, 16, 32, 64, 128)
                         if chr(ord(c) ^ m) in ALNUM + "-"},
        "hyphenation": {label[:i] + "-" + label[i:] for i in range(1, n)},
        "insertion": {label[:i] + k + label[i:] for i in range(1, n - 1) for k in QWERTY.get(label[i], "")}
        | {label[:i + 1] + k + label[i + 1:] for i in range(1, n - 1) for k in QWERTY.get(label[i], "")},
        "omission": {label[:i] + label[i + 1:] for i in range(n)},
        "repetition": {label[:i] + c + label[i:] for i, c in enumerate(label)},
        "replacement": {label[:i] + k + label[i + 1:] for i, c in enumerate(label) for k in QWERTY.get(c, "")},
        "subdomain": {label[:i] + "." + label[i:] for i in range(1, n - 1)},
        "transposition": {label[:i] + label[i + 1] + label[i] + label[i + 2:] for i in range(n - 1)},
        "vowel-swap": {label[:i] + v + label[i + 1:] for i, c in enumerate(label) if c in "aeiou"
                       for v in "aeiou"},
        "dictionary": {f for w in WORDS for f in (label + w, label + "-" + w, w + label, w + "-" + label)},
    }
    for name in out:
        out[name] = {f for f in out[name] if f != label and f.strip("-.") == f and f and "--" not in f[:4]}
    return out


def glyphs(suffix: str) -> dict[str, list[str]]:
    """dnstwist's glyph map under `suffix`: the ASCII glyphs and the TLD's Unicode ones."""
    unicode = IDN_GLYPHS_BY_TLD.get(suffix, UNICODE_GLYPHS)
    return {k: sorted(set(ASCII_GLYPHS.get(k, ())) | set(unicode.get(k, ())))
            for k in sorted(set(ASCII_GLYPHS) | set(unicode))}


def homoglyphs(label: str, suffix: str = "com") -> set[str]:
    """dnstwist's homoglyph family, in Unicode (punycoded when sampled): one round of
    substitutions, then a second round on every result of the first. A round puts a
    glyph for one character anywhere, and for each window of two characters, for the
    first, the second (every copy of it in the window: `oo` -> `00`) or both (`rn` -> `m`)."""
    table = glyphs(suffix)

    def mix(text: str) -> Iterator[str]:
        for i, c in enumerate(text):
            for g in table.get(c, ()):
                yield text[:i] + g + text[i + 1:]
        for i in range(len(text) - 1):
            window = text[i:i + 2]
            for source in {window[0], window[1], window}:
                for g in table.get(source, ()):
                    yield text[:i] + window.replace(source, g) + text[i + 2:]

    first = set(mix(label))
    return {t for t in first.union(*(mix(f) for f in first)) if t != label}


def punycode(text: str) -> str | None:
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def generate(per_brand: int, seed: int) -> Iterator[tuple[str, str, str, str]]:
    brands = load_brands()
    legit = {d for b in brands for d in b.domains}
    rng = random.Random(seed)
    for brand in brands:
        # The first domain whose label the brand is known by; a brand known by
        # other words (Wise, known as transferwise) has no look-alikes of wise.com.
        domain = next((d for d in brand.domains if split(d)[0].replace("-", "") in brand.tokens), None)
        if domain is None:
            continue
        label, suffix = split(domain)
        fams = families(label)
        fams["tld-swap"] = {label + "." + t for t in TLDS if t != suffix}
        fams["homoglyph"] = {h for h in homoglyphs(label, suffix) if h.strip("-.") == h and "--" not in h[:4]}
        if len(label) <= 3:
            # As in the development set: other edits of a two- or three-letter
            # name give another short name that is somebody's everyday domain.
            fams = {k: v for k, v in fams.items() if k in ("addition", "dictionary", "homoglyph", "tld-swap")}
        pool: list[tuple[str, str]] = []
        for family, names in sorted(fams.items()):
            names = sorted(n if family == "tld-swap" else f"{n}.{suffix}" for n in names)
            if family == "homoglyph":
                # Thousands of names (two rounds of substitutions), on a random stream
                # of their own so that their number moves no other family's sample;
                # punycoded as taken (IDNA refuses a few).
                random.Random(f"{seed}:{domain}").shuffle(names)
                names = [n for n in itertools.islice(filter(None, map(punycode, names)), per_brand)]
            else:
                rng.shuffle(names)
            pool += [(n, family) for n in names[:max(per_brand // 8, 3)] if n not in legit]
        rng.shuffle(pool)
        for name, family in pool[:per_brand]:
            yield name, domain, family, brand.group.value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-brand", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print("# name\tbrand\tfamily\tgroup")
    for row in generate(args.per_brand, args.seed):
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
