"""On a platform where customers name their sites (the public suffix list's private section), the
customer's label is judged as a registrable label is. Names made up for the test."""

import pytest

from fraudwall.scoring.score import Verdict


@pytest.mark.parametrize("name, rule, named", [
    ("paypal-login.github.io", "combosquat", "a site"),
    ("paypa1.netlify.app", "homoglyph", "a site"),
    ("secure.paypal-login.web.app", "combosquat", "a site"),
    # A software-as-a-service platform's tenant (infrastructure.TENANT_DOMAINS), the first label: test_tenants.py
    ("paypal-login.service-now.com", "combosquat", "a tenant"),
    ("paypa1.service-now.com", "homoglyph", "a tenant"),
    ("paypa1.okta.com", "homoglyph", "a tenant"),
    ("paypal-secure.atlassian.net", "combosquat", "a tenant"),
    ("paypal-login.auth.us-east-1.amazoncognito.com", "combosquat", "a tenant"),
    ("paypa1.onmicrosoft.com", "homoglyph", "a tenant"),
])
def test_a_look_alike_as_the_customers_label_on_a_platform_blocks(scorer, name, rule, named):
    score = scorer.score(name)
    assert score.verdict is Verdict.BLOCK and score.rule == rule, score
    assert f"where anyone names {named}" in score.reasons[0]


def test_a_slip_of_a_brand_on_a_dynamic_dns_name_warns(scorer):
    assert scorer.score("amaozn.duckdns.org").verdict is not Verdict.ALLOW


@pytest.mark.parametrize("name", ["google.github.io", "microsoft.github.io", "mybank.github.io",
                                  "telegraf.github.io", "finance.github.io"])
def test_a_brands_own_pages_on_a_platform_are_not_flagged(scorer, name):
    # Companies keep their project pages under their own name there: the exact name stays a hint; so
    # does a letter replaced (telegraf, finance): customers pick names by the million, mostly words.
    assert scorer.score(name).verdict is Verdict.ALLOW


def test_an_address_written_as_labels_on_a_platform_holds_no_brand_number(scorer):
    # 139 is one stroke from China Telecom's 189, but here it is the last number of an address.
    assert scorer.score("130.50.49.139.trafficmanager.net").verdict is Verdict.ALLOW
