"""On a software-as-a-service platform that names each customer's tenant in front of its own domain
(infrastructure.TENANT_DOMAINS), the tenant's label is the customer's name and the platform's own label
says nothing. Names made up for the test."""

import pytest

from fraudwall.scoring.score import Verdict


@pytest.mark.parametrize("name", [
    "chase.service-now.com",                     # 'service' is the platform's word, not the tenant's
    "hsbc.servicenowservices.com",
    "barclays.my.salesforce.com",
    "hsbc--uat.sandbox.my.salesforce.com",       # a sandbox: the company's name, two hyphens, the sandbox's
    "chase.lightning.force.com",
    "hsbc-admin.okta.com",                       # Okta's admin console of the org
    "hsbc.us.auth0.com",                         # 'auth' is the platform's word
    "hsbc.onelogin.com",                         # ... and 'login'
    "chase.wd5.myworkdayjobs.com",               # the platform's label held a rare letter pair ('yj')
    "verizon.zendesk.com",
    "hsbc.onmicrosoft.com",                      # a Microsoft 365 tenant's initial domain: 'microsoft' is the
    "hsbc.microsoftcrmportals.com",              # platform's own; these blocked before
    "hsbc.auth.eu-west-1.amazoncognito.com",     # the vendor's layout label 'auth' is no fraud word of the tenant
])
def test_a_brands_tenant_on_a_platform_is_allowed(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW, score
    assert any(reason.startswith("infrastructure: ") and "software-as-a-service" in reason
               for reason in score.reasons), score


@pytest.mark.parametrize("name", ["acme.service-now.com", "service-now.com", "dev12345.service-now.com",
                                  "acme-sso.okta-emea.com"])
def test_the_platforms_own_label_adds_nothing_to_a_tenant(scorer, name):
    score = scorer.score(name)
    assert score.verdict is Verdict.ALLOW and score.value == 0.0, score


# A look-alike or a fraud word as the tenant blocks: test_platforms.py, with the platforms' customers.


def test_a_deliberate_slip_as_the_tenant_is_flagged_and_a_word_one_letter_off_is_not(scorer):
    assert scorer.score("amaozn.okta.com").verdict is not Verdict.ALLOW
    assert scorer.score("telegraf.slack.com").verdict is Verdict.ALLOW


def test_a_brands_domain_spelled_out_on_a_platform_blocks(scorer):
    assert scorer.score("paypal.com.okta.com").verdict is Verdict.BLOCK


def test_the_same_platform_label_under_another_registrant_is_judged(scorer):
    # Only the vendor's own registrable domain: `service-now.top` is anyone's.
    assert scorer.score("chase.service-now.top").verdict is not Verdict.ALLOW
