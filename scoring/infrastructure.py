"""Names machines give to machines: CDN edges, cloud endpoints, telemetry and ad hosts.

Real resolver traffic is full of hosts no person named: `e1234.a.example-edge.net`,
`d1a2b3c4d5e6f7.cdn.example.net`, `r3---sn-ab5x.video.example.com`. Read as phishing
hosts they look machine-made (hashes, counters, several labels in front, an
unpronounceable `xcdn`), which is what the shape traits look for. They are not
fraud when the machine-made labels sit under a domain built for serving them: a
content-delivery, cloud or telemetry provider's domain, or one whose own label
says so (`cdn`, `edge`, `static`, `telemetry` ...), under a TLD that abuse
reports do not rank high.

`domain_kind` says whether a registrable domain is of that kind (once per domain,
cached with the rest of its analysis). The scorer then drops the shape and
structure traits of a host under it (hashes, counters, depth, length, an
unpronounceable label) and says why, unless a brand, a fraud word or a lure word
is in the name: `paypal-login.d1a2b3.cdn.example.net` is judged as before. The
TLD's rank still counts.
"""

from __future__ import annotations

import re

from fraudwall.scoring.combo import word_pattern

__all__ = ["INFRA_WORDS", "PROVIDER_DOMAINS", "domain_kind"]

# Registrable domains that content-delivery and cloud providers document as the
# names their edges and endpoints answer under (each provider's own documentation
# of the host names it gives out; none comes from a ranking or a feed). A brand's
# own ones (Google, Microsoft, Amazon ...) are in brands.toml instead, and are
# allowed whatever stands in front.
PROVIDER_DOMAINS = frozenset({
    # Akamai: edge host names (CNAME targets) its customers are told to point at.
    "akamai.net", "akamaiedge.net", "akamaihd.net", "akamaized.net", "edgekey.net", "edgesuite.net",
    "akadns.net", "akamaitechnologies.com", "akamaitech.net",
    # Fastly, Cloudflare, Edgio / Edgecast, Limelight, CDN77, Bunny, StackPath, Imperva (Incapsula).
    "fastly.net", "fastlylb.net", "cloudflare.net", "edgecastcdn.net", "phicdn.net", "llnwd.net",
    "llnw.net", "cdn77.org", "b-cdn.net", "stackpathdns.com", "incapdns.net",
    # AWS CloudFront distributions (dxxxxxxxxxxxx.cloudfront.net).
    "cloudfront.net",
    # Microsoft Azure Traffic Manager and Front Door endpoints.
    "trafficmanager.net", "azurefd.net",
})

# Words a registrable label of serving infrastructure is made of. Only words that
# name what a machine does, never a lure (`track`, `delivery` are lure words).
INFRA_WORDS = frozenset({"cdn", "edge", "static", "cache", "telemetry", "metrics", "analytics", "stats", "beacon",
                         "pixel", "ocsp", "gslb", "adserv", "adsrv"})
_INFRA_WORDS = re.compile(word_pattern(INFRA_WORDS))


def domain_kind(label: str, suffix: str, tld_tier: str | None, may_hold_word: bool = True) -> str:
    """Why the registrable domain `label`.`suffix` serves machines, in words; "" when it does not.

    `may_hold_word` False: a cheaper test (`BrandIndex.gate`, which knows INFRA_WORDS) found none."""
    if f"{label}.{suffix}" in PROVIDER_DOMAINS:
        return f"{label}.{suffix} is a content-delivery or cloud provider's domain"
    if not may_hold_word or tld_tier in ("high", "mid"):
        return ""
    word = _INFRA_WORDS.search(label)
    return f"'{word.group()}' in {label}.{suffix} names serving infrastructure" if word else ""
