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
ASCII_GLYPHS = {
    "0": ["o"], "1": ["l", "i"], "3": ["8"], "6": ["9"], "8": ["3"], "9": ["6"],
    "b": ["d", "lb"], "c": ["e"], "d": ["b", "cl", "dl"], "e": ["c"], "g": ["q"], "h": ["lh"],
    "i": ["1", "l"], "k": ["lc"], "l": ["1", "i"], "m": ["n", "nn", "rn"], "n": ["m", "r"],
    "o": ["0"], "q": ["g"], "u": ["v"], "v": ["u"], "w": ["vv"],
}
UNICODE_GLYPHS = {
    "a": "àáâãäåɑạăȧąǎāа", "b": "ḃḅƅʙḇɓь", "c": "čᴄċçćĉƈс", "d": "ďḍḋɖḏɗđԁ",
    "e": "êẹęèḛěɇėĕéëēȩе", "f": "ḟƒ", "g": "ǧġǵğɡǥĝģɢ", "h": "ȟḫḩḣɦḥḧħẖⱨĥһ",
    "i": "ɩǐíɪỉȋɨïīĩịîıĭįìі", "j": "ǰĵʝɉј", "k": "ĸǩⱪḵķᴋḳк", "l": "ĺłɫļľӏ",
    "m": "ᴍṁḿṃɱм", "n": "ņǹńňṅṉṇꞑñŋ", "o": "öóȯỏôᴏōòŏơőõọøо", "p": "ṗƿƥṕр",
    "q": "ʠԛ", "r": "ʀȓɍɾřṛɽȑṙŗŕɼṟ", "s": "ṡșŝꜱʂšśṣşѕ", "t": "ťƫţṭṫțŧ",
    "u": "ᴜųŭūűǔȕưùůʉúȗüûũụ", "v": "ᶌṿᴠⱴⱱṽѵ", "w": "ᴡẇẅẃẘẉⱳŵẁԝ", "x": "ẋẍх",
    "y": "ŷÿʏẏɏƴȳýỿỵу", "z": "žƶẓẕⱬᴢżźʐ",
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
        "homoglyph": set(homoglyphs(label)),
    }
    for name in out:
        out[name] = {f for f in out[name] if f != label and f.strip("-.") == f and f and "--" not in f[:4]}
    return out


def homoglyphs(label: str) -> Iterator[str]:
    """One or two substitutions by look-alike characters; Unicode ones punycoded."""
    def mix(text: str) -> Iterator[str]:
        for i, c in enumerate(text):
            for g in [*ASCII_GLYPHS.get(c, ()), *UNICODE_GLYPHS.get(c, "")]:
                yield text[:i] + g + text[i + 1:]
    first = set(mix(label))
    for text in sorted(first | {s for f in sorted(first)[:100] for s in mix(f)}):
        try:
            yield text.encode("idna").decode("ascii")
        except UnicodeError:
            continue


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
        if len(label) <= 3:
            # As in the development set: other edits of a two- or three-letter
            # name give another short name that is somebody's everyday domain.
            fams = {k: v for k, v in fams.items() if k in ("addition", "dictionary", "homoglyph", "tld-swap")}
        pool: list[tuple[str, str]] = []
        for family, names in sorted(fams.items()):
            names = sorted(n if family == "tld-swap" else f"{n}.{suffix}" for n in names)
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
