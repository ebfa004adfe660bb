"""`Scorer`: brands loaded once, a suffix list that never touches the network, two caches."""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Callable

from fraudwall.scoring.brands import Brand, load_brands
from fraudwall.scoring.combo import find_words
from fraudwall.scoring.index import BrandIndex
from fraudwall.scoring.infrastructure import (LOOKUP_DOMAINS, PROVIDER_DOMAINS, TENANT_DOMAINS, brand_as_customer,
                                              record_owner)
from fraudwall.scoring.names import normalise_name, public_suffixes
from fraudwall.scoring.score import Rule, Score, Verdict, combine
from fraudwall.scoring.settings import ScorerSettings
from fraudwall.scoring.signals import (PART, DomainPart, DomainTraits, context_signals, deliberate_slip, domain_signals,
                                       read_domain_traits, read_labels, subdomain_signals, written_address)

__all__ = ["Scorer"]

CACHE_SIZE = 100_000
TRAIT_SETS = 4096
RESTRICTED_LABELS = frozenset(("gov", "edu", "mil", "gouv", "gob", "govt"))
# The same, as a country's second level only (ac.uk, ac.jp, go.jp, go.kr, sch.uk): the .ac
# TLD and go.com are anyone's.
RESTRICTED_SECOND_LEVEL = frozenset(("ac", "go", "sch"))
_NOTHING = Score(0.0, Verdict.ALLOW, None, (), Rule.NONE.value)


class Scorer:
    """Scores names; `score` is a pure function of the name once constructed.

    Two bounded LRU caches: full names, so a name seen before costs a
    dictionary lookup, and registrable domains, so the brand matching of
    `paypa1.com` is done once for all of `*.paypa1.com` (the subdomain part,
    which can differ, is cheap and done per name).
    """

    def __init__(self, settings: ScorerSettings | None = None, brands: tuple[Brand, ...] | None = None,
                 cache_size: int = CACHE_SIZE) -> None:
        self.settings = settings or ScorerSettings()
        self.index = BrandIndex(brands if brands is not None else load_brands(self.settings.brands_file))
        self._owner = self.index.owner
        # The suffix list bundled with tldextract: no fetch, no cache directory written.
        self._suffixes = public_suffixes()
        self._is_suffix = self._suffixes.is_public_suffix
        # A domain's traits read and weighed (signals.read_domain_traits), kept by the traits: most domains
        # share theirs with many others.
        self._read_traits: Callable[[tuple[tuple[str, str], ...]], DomainTraits] | None = (
            functools.lru_cache(maxsize=TRAIT_SETS)(read_domain_traits) if cache_size else None)
        analyse = functools.partial(domain_signals, self.index, read_traits=self._read_traits)
        # The labels read in front of domains (signals.read_labels); None: each read afresh.
        self._readings: OrderedDict | None = OrderedDict() if cache_size else None
        self.score: Callable[[str], Score]
        self._domain_part: Callable[[str, str], DomainPart]
        if cache_size:
            self.score = functools.lru_cache(maxsize=cache_size)(self.score_uncached)
            self._domain_part = functools.lru_cache(maxsize=cache_size)(analyse)
        else:       # no caches: no wrappers either
            self.score = self.score_uncached
            self._domain_part = analyse

    def cache_clear(self) -> None:
        for cached in (self.score, self._domain_part, self._read_traits):
            clear = getattr(cached, "cache_clear", None)
            if clear is not None:
                clear()
        if self._readings is not None:
            self._readings.clear()

    def score_uncached(self, name: str) -> Score:
        """The Score of `name`; InvalidName (a ValueError) when it is not a domain name."""
        return self.score_normalised(normalise_name(name))

    def score_normalised(self, name: str) -> Score:
        """The Score of `name` as `normalise_name` spells it, without spelling it again (a caller
        that needs the spelling too, as `fraudwall score` does, pays for IDNA once), uncached."""
        evidence = self._evidence(name)
        if isinstance(evidence, Score):
            return evidence
        signals, domain, subdomain, words, host, suffix, fronts = evidence
        branded = bool(signals) and not brand_as_customer(host, subdomain, signals)
        signals += context_signals(domain.weighed, words, subdomain, host, branded, fronts)
        score = combine(signals, self.settings.block_threshold, self.settings.warn_threshold)
        if score.verdict is Verdict.ALLOW:
            return score
        labels = suffix.split(".")
        if ((not RESTRICTED_LABELS.isdisjoint(labels) or not RESTRICTED_SECOND_LEVEL.isdisjoint(labels[:-1]))
                and not (score.brand or "").endswith("." + suffix)):
            # gov.cn, gov.uk, edu, mil, ac.uk ...: only the state or schools register there. A name there is
            # judged only as a look-alike of a brand under the same suffix (a fake tax office under gov.cn).
            return Score(0.0, Verdict.ALLOW, None, (f"registered under the restricted suffix .{suffix}",),
                         Rule.NONE.value)
        return score

    def evidence(self, name: str, normalised: bool = False):
        """The brand signals, DomainPart, subdomain labels, unexplained fraud words, host and
        public suffix of `name`; or the final Score when there is nothing to weigh (a brand's own domain, no
        registrable domain). What `score_uncached` combines, and what the weights are fitted on.
        `normalised`: `name` is spelled as `normalise_name` spells it already."""
        evidence = self._evidence(name if normalised else normalise_name(name))
        return evidence if isinstance(evidence, Score) else evidence[:6]

    def _evidence(self, name: str):
        """`evidence` of a normalised name, and the traits of each label in front of its domain as
        `signals.LabelReading.front` has them (None without a label in front)."""
        name = record_owner(name)       # _dmarc, _domainkey ...: judged as the domain the record is of
        sub, label, suffix = self._suffixes.split(name)
        if not suffix or not label or suffix == "arpa" or suffix.endswith(".arpa"):
            # A single label, an unknown TLD, a bare public suffix, or the .arpa tree of
            # reverse lookups: nothing a stranger can register for the public to reach.
            return _NOTHING
        registrable = f"{label}.{suffix}"
        owner = self._owner(registrable)
        if owner is None and sub and self.index.above_owned(registrable):
            owner = self._owner_above(name, registrable)
        if owner is not None:
            return Score(0.0, Verdict.ALLOW, owner.domain,
                         (f"legitimate domain of {owner.name}",), Rule.BRAND_DOMAIN.value)
        if registrable in LOOKUP_DOMAINS:
            # infrastructure.LOOKUP_DOMAINS: what stands in front is looked up by a spam filter, not visited.
            why = f"infrastructure: {registrable} is a DNS blocklist's domain, where names are looked up, not visited"
            return Score(0.0, Verdict.ALLOW, None, (why,), Rule.INFRASTRUCTURE.value)
        if sub and registrable in PROVIDER_DOMAINS and (edge := self._own_host_in_front(sub)) is not None:
            owner, host = edge
            return Score(0.0, Verdict.ALLOW, owner.domain, (f"infrastructure: {registrable} names the edge host "
                                                            f"of {owner.name}'s own {host}",), Rule.INFRASTRUCTURE.value)
        domain: DomainPart = self._domain_part(label, suffix)
        if not sub:
            return list(domain.signals), domain, [], domain.words, name, suffix, None
        signals = list(domain.signals)
        subdomain = sub.split(".")
        tenant = registrable in TENANT_DOMAINS
        read = read_labels(self.index, subdomain, self._readings)
        on_platform = (self._on_platform(subdomain, registrable, tenant)
                       if tenant or self._is_suffix(registrable) else None)
        sub_signals, sub_words = on_platform or subdomain_signals(self.index, subdomain, label, registrable,
                                                                 self._readings, read)
        if tenant and not on_platform:
            # The first label is the tenant's name, the customer's choice; those after it are the vendor's layout
            # (`my`, `sandbox.my`, `auth.us-east-1`): their words say nothing. A brand's domain spelled out
            # there (`paypal.com.okta.com`), which no vendor's layout makes, is still judged.
            sub_words = read[0].words
        signals += sub_signals
        return (signals, domain, subdomain, domain.words + sub_words, name, suffix,
                [reading.front for reading in read])

    def _on_platform(self, subdomain: list[str], platform: str, tenant: bool = False):
        """The brand signals of the customer's label on a platform where customers name their sites (a rule
        of the public suffix list's private section: github.io, netlify.app, duckdns.org), and the fraud words
        no brand explains; None when that label holds no look-alike.

        `paypa1.netlify.app` and `paypal-login.github.io` are judged as those labels are under a TLD. Not
        the brand's exact name (a TLD swap): companies keep their own pages there (`google.github.io`), so
        that stays the weaker brand-in-a-subdomain hint; nor a letter replaced (`telegraf.github.io`):
        customers pick names by the million there, and such a slip is mostly a word.

        `tenant`: `platform` is a software-as-a-service platform's domain (infrastructure.TENANT_DOMAINS), whose
        customer's label comes first, before the vendor's own, which say nothing (`<tenant>.auth.<region>.
        amazoncognito.com`). Nor is a brand's exact name next to a word that is no fraud word a look-alike
        there: companies name their tenants so (`<brand>-admin.okta.com`, `<brand>--uat.sandbox.my.salesforce.com`)."""
        if written_address(subdomain):
            return None
        label = subdomain[0] if tenant else subdomain[-1]
        head, _, tag = label.rpartition("-")
        if head and len(tag) <= 2 and platform in PROVIDER_DOMAINS:
            label = head    # a provider's tag on its customer's name (Akamai's `<customer>-a`), no slip of it
        customer = self._domain_part(label, platform)
        where = f"on {platform}, where anyone names {'a tenant' if tenant else 'a site'}"
        signals = [s._replace(reason=f"{s.reason}, {where}")
                   for s in customer.signals if s.rule is not Rule.TLD_SWAP
                   and not (tenant and s.rule is Rule.COMBOSQUAT and s.value <= PART)]
        if not signals or (signals[0].rule is Rule.TYPOSQUAT and not deliberate_slip(self.index, label)):
            return None
        if tenant:
            return signals, customer.words
        return signals, customer.words + tuple(w for sub in subdomain[:-1] for w in find_words(sub))

    def _own_host_in_front(self, sub: str) -> tuple[Brand, str] | None:
        """The brand whose own host `sub` is, in front of a content-delivery provider's domain: providers
        name the edge host of a customer's host after it (Akamai's `www.example.com.edgekey.net` and
        `.edgesuite.net`, with a tag glued on at times: `www.example.com-c-3.edgekey.net`). A brand's
        domain with more after it (`example.com.login.edgekey.net`) is no such name."""
        head, _, last = sub.rpartition(".")
        last, _, tag = last.partition("-")
        if tag and any(len(part) > 2 for part in tag.split("-")):
            return None     # a word glued on (`example.com-login`), not a provider's tag (`c-3`)
        host = f"{head}.{last}" if head else last
        start = 0
        while start >= 0:
            owner = self._owner(host[start:])
            if owner is not None:
                return owner, host
            start = host.find(".", start) + 1 or -1
        return None

    def _owner_above(self, name: str, registrable: str):
        """A brand domain the suffix list does not know as registrable (amazon.com.be)."""
        # `name` and its parents longer than `registrable`, as `parents` walks them, without the list.
        end = len(name) - len(registrable) - 1
        start = 0
        while start <= end:
            owner = self._owner(name[start:])
            if owner is not None:
                return owner
            start = name.index(".", start) + 1
        return None
