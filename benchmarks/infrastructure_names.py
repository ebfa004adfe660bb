"""Made-up host names in the shapes CDN, cloud and telemetry providers give out, for scorer_eval.py.

    python benchmarks/infrastructure_names.py [--count 2000] [--seed 1]

The development set's benign names are registrable domains only; real resolver
traffic is mostly full host names, and many are machine-made: edge nodes
(`e1234.a.<edge>`), distribution hashes (`d1a2b3c4d5e6f7.<cdn>`), video cache nodes
(`r3---sn-ab5x.<video>`), numbered shards and addresses written as names. Every
name here is generated from those documented shapes; the domains are providers'
documented ones (scoring/infrastructure.py), brands' own (brands.toml), and invented
ones named like infrastructure (`<word>cdn.net`) and like anything else
(`<word>.com`), so the figure also shows what the shape costs under domains the
scorer has no list for. Nothing comes from a ranking or a feed.
Output: name, kind (provider / brand / invented-infra / invented-plain; edge-of-brand: a
provider's edge name for a brand's own host, `www.<brand domain>.edgekey.net`; brand-at-provider:
a brand's name as a provider's customer, in the provider's documented layout (Fastly
`<service>.global.ssl.fastly.net`, Akamai `<customer>-a.akamaihd.net`, Azure Front Door
`<endpoint>-<hash>.z01.azurefd.net`, Branch `<app>.app.link`, AppsFlyer `<app>.onelink.me`);
cloud-workload: a workload's host under an invented company domain, as Kubernetes names a pod
(`<deployment>-<10-character hash>-<5 characters>`, its alphabet) or a load balancer a cloud
(`<name>-<10 digits>.<region>.elb...`), behind a region and an environment; blocklist-lookup: a
spam filter's lookup of a domain (a brand's, a made-up one, a look-alike) or of an address in a DNS
blocklist's documented query zone (`<domain>.dbl.spamhaus.org`, `<reversed address>.zen.spamhaus.org`);
brand-tenant: a brand's name as a software-as-a-service platform's tenant, in the vendor's documented
layout (`<company>.service-now.com`, `<company>.my.salesforce.com`, `<org>-admin.okta.com`,
`<tenant>.wd5.myworkdayjobs.com` ...); each of those five one more after every eighth name), tab-separated.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from typing import Iterator

from fraudwall.scoring.brands import load_brands
from fraudwall.scoring.infrastructure import PROVIDER_DOMAINS

_WORDS = ["north", "river", "blue", "stone", "maple", "orbit", "pixel", "nova", "delta", "harbor", "cedar",
          "summit", "lumen", "vertex", "echo", "atlas", "quartz", "sierra", "amber", "falcon"]
_INFRA_ENDINGS = ["cdn.net", "edge.net", "static.com", "cache.net", "telemetry.io", "metrics.com", "-cdn.com",
                  "analytics.net", "stats.com", "edge.io"]
_REGIONS = ["us-east-1", "eu-west-2", "ap-south-1", "fra", "iad", "sjc03", "lhr2", "nrt"]
_ENVIRONMENTS = ["prod", "stg", "dev", "live", "int"]
# The alphabet Kubernetes draws a pod's hash and suffix from (no vowels, no 0, 1, 3: k8s.io/apimachinery rand).
_POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _base32(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase + "234567") for _ in range(n))


def _front(rng: random.Random) -> str:
    """What stands in front: the shapes of the providers' documentation."""
    shape = rng.randrange(8)
    if shape == 0:
        return f"e{rng.randrange(1, 99999)}.{rng.choice('abcdg')}"
    if shape == 1:
        return "d" + _hex(rng, 13)
    if shape == 2:
        return f"r{rng.randrange(1, 9)}---sn-{_base32(rng, 4)}{rng.choice(['', 'n'])}{_base32(rng, 3)}"
    if shape == 3:
        return f"{rng.choice(['cs', 'a', 's', 'v', 'node', 'cdn'])}{rng.randrange(0, 999)}.{rng.choice(_REGIONS)}"
    if shape == 4:
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    if shape == 5:
        return f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}.{rng.choice(_REGIONS)}"
    if shape == 6:
        return f"{_base32(rng, 26)}.{rng.choice(['ingest', 'events', 'collector', 'sync'])}"
    return f"{rng.choice(['fp', 'wpc', 'img', 'api'])}{_hex(rng, 4)}.{rng.choice(['wpc', 'dscb', 'global'])}.{_hex(rng, 4)}"


def _customer(rng: random.Random, brand: str) -> str:
    """A brand's name as a provider's customer, in the layouts the providers document."""
    return rng.choice([f"{brand}.global.ssl.fastly.net", f"{brand}.map.fastly.net", f"{brand}-a.akamaihd.net",
                       f"{brand}.akamaized.net", f"{brand}-{_hex(rng, 12)}.z01.azurefd.net",
                       f"{brand}.trafficmanager.net", f"{brand}.b-cdn.net", f"{brand}.app.link",
                       f"{brand}.test-app.link", f"{brand}.onelink.me"])


def _tenant(rng: random.Random, brand: str) -> str:
    """A brand's tenant on a software-as-a-service platform, in the layouts the vendors document
    (scoring/infrastructure.py, TENANT_DOMAINS), at times with the tag the vendor or the company adds."""
    return rng.choice([f"{brand}.service-now.com", f"{brand}dev.service-now.com", f"{brand}.my.salesforce.com",
                       f"{brand}--uat.sandbox.my.salesforce.com", f"{brand}.lightning.force.com",
                       f"{brand}.okta.com", f"{brand}-admin.okta.com", f"{brand}.oktapreview.com",
                       f"{brand}.us.auth0.com", f"{brand}.onelogin.com", f"{brand}.b2clogin.com",
                       f"{brand}.zendesk.com", f"{brand}.freshservice.com", f"{brand}.atlassian.net",
                       f"{brand}.wd{rng.randrange(1, 13)}.myworkdayjobs.com", f"{brand}.slack.com",
                       f"{brand}.zoom.us", f"{brand}.webex.com", f"{brand}.onmicrosoft.com",
                       f"{brand}.microsoftcrmportals.com", f"{brand}.auth.{rng.choice(_REGIONS[:3])}.amazoncognito.com"])


def _workload(rng: random.Random) -> str:
    """A cloud workload's host under an invented company domain: a pod or a load balancer, a region, an environment."""
    domain = rng.choice(_WORDS) + rng.choice(_WORDS) + rng.choice([".com", ".net", ".io"])
    place = f"{rng.choice(_REGIONS)}.{rng.choice(_ENVIRONMENTS)}.{domain}"
    if rng.randrange(2):
        pod = "".join(rng.choice(_POD_ALPHABET) for _ in range(10)) + "-" + \
            "".join(rng.choice(_POD_ALPHABET) for _ in range(5))
        return f"{rng.choice(['api', 'web', 'worker', 'ingest'])}-{pod}.{place}"
    return f"{rng.choice(['lb', 'alb', 'k8s'])}-{rng.choice(_WORDS)}-{rng.randrange(10 ** 9, 10 ** 10)}.{place}"


# DNS blocklists' query zones, as their operators document them (scoring/infrastructure.py, LOOKUP_DOMAINS).
_DOMAIN_ZONES = ["dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"]
_ADDRESS_ZONES = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "bl.mailspike.net"]


def _lookup(rng: random.Random, brand_domain: str) -> str:
    """A spam filter's lookup in a DNS blocklist: of a domain found in a mail, or of the sender's address."""
    kind = rng.randrange(3)
    if kind == 0:
        return f"{brand_domain}.{rng.choice(_DOMAIN_ZONES)}"
    if kind == 1:
        domain = f"{rng.choice(_WORDS)}-{rng.choice(['login', 'verify', 'secure'])}.{rng.choice(['top', 'xyz', 'com'])}"
        return f"{domain}.{rng.choice(_DOMAIN_ZONES)}"
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4)) + "." + rng.choice(_ADDRESS_ZONES)


def generate(count: int = 2000, seed: int = 1) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    edge = random.Random(f"{seed}:edge")
    customer = random.Random(f"{seed}:customer")
    workload = random.Random(f"{seed}:workload")
    lookup = random.Random(f"{seed}:lookup")
    tenant = random.Random(f"{seed}:tenant")
    providers = sorted(PROVIDER_DOMAINS)
    brand_domains = sorted(d for b in load_brands() for d in b.domains if not d.startswith("www."))
    brand_labels = sorted({b.domain.split(".")[0] for b in load_brands()})
    for i in range(count):
        kind = ("provider", "brand", "invented-infra", "invented-plain")[i % 4]
        if kind == "provider":
            domain = rng.choice(providers)
        elif kind == "brand":
            domain = rng.choice(brand_domains)
        elif kind == "invented-infra":
            domain = rng.choice(_WORDS) + rng.choice(_INFRA_ENDINGS)
        else:
            domain = rng.choice(_WORDS) + rng.choice(_WORDS) + rng.choice([".com", ".net", ".io"])
        yield f"{_front(rng)}.{domain}", kind
        if i % 8 == 0:
            # A provider's edge name for a brand's own host (Akamai's: the host name, then edgekey.net).
            # On a stream of its own, so the other kinds' names stay as they were.
            host = edge.choice(["www", "images", "static", "api"]) + "." + edge.choice(brand_domains)
            yield f"{host}{edge.choice(['', '-c-3'])}.{edge.choice(['edgekey.net', 'edgesuite.net'])}", "edge-of-brand"
            yield _customer(customer, customer.choice(brand_labels)), "brand-at-provider"
            yield _workload(workload), "cloud-workload"
            yield _lookup(lookup, lookup.choice(brand_domains)), "blocklist-lookup"
            yield _tenant(tenant, tenant.choice(brand_labels)), "brand-tenant"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for name, kind in generate(args.count, args.seed):
        print(f"{name}\t{kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
