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

from typing import Iterable

from fraudwall.scoring.combo import word_pattern
from fraudwall.scoring.score import Rule, Signal

__all__ = ["INFRA_WORDS", "LOOKUP_DOMAINS", "PROVIDER_DOMAINS", "SERVICE_LABELS", "TENANT_DOMAINS", "VENDOR_DOMAINS",
           "brand_as_customer", "domain_kind", "record_owner"]

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
    # Deep-link services: an app's links answer under a name the service gives it after the app
    # (Branch: `<app>.app.link`, `<app>.test-app.link`; AppsFlyer OneLink: `<app>.onelink.me`).
    "app.link", "test-app.link", "onelink.me",
    # GoDaddy: its hosting and mail servers (its help pages' server settings: smtpout.secureserver.net,
    # imap.secureserver.net; cPanel hosting servers as <server>.prod.<data centre>.secureserver.net).
    "secureserver.net",
})

# Registrable domains of software-as-a-service platforms that give each customer (a tenant) a name of its
# own in front of the vendor's domain, the customer's name first: `<company>.service-now.com`. Each vendor's
# own documentation of its tenants' names (none comes from a ranking or a feed): ServiceNow's instance URL
# (`<instance>.service-now.com`; its government cloud's `<instance>.servicenowservices.com`); Salesforce's
# "My Domain URL formats" (`<mydomain>.my.salesforce.com`, `<mydomain>.lightning.force.com`,
# `<mydomain>--c.vf.force.com`, `<mydomain>.file.force.com`, `<mydomain>.my.site.com`,
# `<mydomain>.my.salesforce-sites.com`, `<mydomain>--<sandbox>.sandbox.my.salesforce.com`); Okta's org URL
# (`<org>.okta.com`, `<org>-admin.okta.com`, `<org>.oktapreview.com`, `<org>.okta-emea.com`); Auth0's tenant
# domain (`<tenant>.<region>.auth0.com`); OneLogin's (`<subdomain>.onelogin.com`); Microsoft Entra's
# customer tenants (Azure AD B2C's `<tenant>.b2clogin.com`, External ID's `<tenant>.ciamlogin.com`);
# Zendesk's (`<subdomain>.zendesk.com`); Freshworks' (`<company>.freshdesk.com`, `<company>.freshservice.com`);
# Atlassian Cloud's site URL (`<site>.atlassian.net`); Workday's career sites
# (`<tenant>.wd5.myworkdayjobs.com`); Slack's workspace URL (`<workspace>.slack.com`); Zoom's vanity URL
# (`<company>.zoom.us`); Webex's site URL (`<site>.webex.com`); Microsoft 365's initial domain of a tenant
# (`<tenant>.onmicrosoft.com`) and Power Apps portals' (`<portal>.microsoftcrmportals.com`); Amazon Cognito's
# prefix domain (`<prefix>.auth.<region>.amazoncognito.com`). Microsoft's `<tenant>.sharepoint.com` is
# Microsoft's own domain (brands.toml). The vendor's own label says nothing of the tenant (`service-now`
# holds the fraud word 'service', `onelogin` 'login', `auth0` the sign-in step); the tenant's label is
# judged (scorer.Scorer), and anyone can open a tenant on most of these.
TENANT_DOMAINS = frozenset({
    "service-now.com", "servicenowservices.com",
    "salesforce.com", "force.com", "site.com", "salesforce-sites.com",
    "okta.com", "oktapreview.com", "okta-emea.com", "auth0.com", "onelogin.com", "b2clogin.com", "ciamlogin.com",
    "zendesk.com", "freshdesk.com", "freshservice.com", "atlassian.net", "myworkdayjobs.com",
    "slack.com", "zoom.us", "webex.com", "onmicrosoft.com", "microsoftcrmportals.com", "amazoncognito.com",
})

# Domains whose registrant is known and that name what stands in front after the vendor's customer: a
# provider's endpoints (PROVIDER_DOMAINS) and a platform's tenants (TENANT_DOMAINS). The domain's own label,
# its TLD and the vendor's labels in front (`my`, `wd5`, `global.ssl`) say nothing of the customer.
VENDOR_DOMAINS = PROVIDER_DOMAINS | TENANT_DOMAINS

# Registrable domains of the DNS blocklists that mail servers query: a name in front of one is a lookup of
# that name or address (`paypal.com.dbl.spamhaus.org`, `2.0.0.127.zen.spamhaus.org`), made by a spam filter
# checking a link or a sender, never a host anyone can name; blocking it would blind the filter to the very
# phishing domains it looks up. Each operator's documentation of its query zones: Spamhaus (zen, dbl and
# zrd.spamhaus.org; the Data Query Service's <key>.zen.dq.spamhaus.net), SURBL (multi.surbl.org), URIBL
# (multi.uribl.com), SpamCop (bl.spamcop.net), Barracuda (b.barracudacentral.org), Abusix
# (<key>.combined.mail.abusix.zone), Mailspike (bl.mailspike.net), DNSWL (list.dnswl.org), Team Cymru's
# malware hash registry (<hash>.malware.hash.cymru.com).
LOOKUP_DOMAINS = frozenset({
    "spamhaus.org", "spamhaus.net", "surbl.org", "uribl.com", "spamcop.net", "barracudacentral.org",
    "abusix.zone", "mailspike.net", "dnswl.org", "cymru.com",
})

# Underscored labels that name a kind of record at the domain below them (RFC 8552's registry of
# underscored node names, and the mail standards that use them): DKIM keys (RFC 6376,
# `<selector>._domainkey.example.com`), DMARC policies and the check that a domain may receive another's
# reports (RFC 7489, `example.net._report._dmarc.example.com`), MTA-STS and TLS reporting (RFC 8461,
# 8460), BIMI, ACME challenges (RFC 8555) and service records (RFC 2782, `_sip._tcp`). What stands
# before one is data (a selector, a domain checked), not a host; and no public CA issues a certificate
# for a name with an underscore (CA/Browser Forum ballot SC12, 2019), so no phishing page is served there
# over HTTPS.
SERVICE_LABELS = frozenset({"_domainkey", "_dmarc", "_report", "_mta-sts", "_smtp", "_tls", "_bimi",
                            "_acme-challenge", "_tcp", "_udp"})


def record_owner(name: str) -> str:
    """The domain a record of `name` belongs to: the labels after the last of SERVICE_LABELS in it
    (`example.net._report._dmarc.example.com` -> `example.com`); `name` itself when it holds none."""
    if "._" not in name and not name.startswith("_"):
        return name         # the usual case, one pass
    labels = name.split(".")
    for position in range(len(labels) - 1, -1, -1):
        if labels[position] in SERVICE_LABELS:
            return ".".join(labels[position + 1:])
    return name


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
    if f"{label}.{suffix}" in TENANT_DOMAINS:
        return f"{label}.{suffix} is a software-as-a-service platform's domain, where each customer has a name"
    if not may_hold_word or tld_tier in ("high", "mid"):
        return ""
    word = _INFRA_WORDS.search(label)
    return f"'{word.group()}' in {label}.{suffix} names serving infrastructure" if word else ""


# Below `warn` (0.6): a brand's name alone in front of an unrelated domain (signals.SUBDOMAIN_BRAND,
# 0.56), not spelled out with a domain ending (0.85), nor two of its letters swapped (0.65).
_CUSTOMER_NAME_MAX = 0.6


def brand_as_customer(host: str, subdomain: list[str] | tuple[str, ...], signals: Iterable[Signal]) -> bool:
    """Whether the brand signals of `host` are only a brand's name in front of a vendor's domain
    (VENDOR_DOMAINS), `subdomain` being the labels in front of its registrable domain.

    Providers name a customer's endpoint after the customer: Fastly `<service>.global.ssl.fastly.net`,
    Akamai `<customer>-a.akamaihd.net`, Azure Front Door `<endpoint>-<hash>.z01.azurefd.net`, Branch
    `<app>.app.link`; platforms name a tenant so (`<company>.service-now.com`). Such a name is the brand's
    own or the weak hint it always was (0.56); the vendor's layout (labels, hashes, depth) and its domain
    say nothing more, so the host is judged as infrastructure. A brand spelled out with a domain ending,
    or next to a fraud or lure word, is judged as anywhere."""
    registrable = host.split(".", len(subdomain))[-1] if subdomain else host
    return registrable in VENDOR_DOMAINS and all(
        signal.rule is Rule.BRAND_SUBDOMAIN and signal.value < _CUSTOMER_NAME_MAX for signal in signals)
