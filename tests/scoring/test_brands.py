import pytest

from fraudwall.scoring.brands import Brand, BrandsError, Category, Group, load_brands

REQUIRED = [  # the list: main domain of each brand that must be protected
    "icbc.com.cn", "ccb.com", "boc.cn", "abchina.com", "bankcomm.com", "cmbchina.com",
    "psbc.com", "spdb.com.cn", "cib.com.cn", "citicbank.com", "alipay.com", "unionpay.com",
    "tenpay.com", "wechat.com", "qq.com", "taobao.com", "tmall.com", "jd.com", "pinduoduo.com",
    "meituan.com", "douyin.com", "12306.cn", "chinatax.gov.cn", "10086.cn", "chinatelecom.com.cn",
    "10010.com", "ctrip.com", "baidu.com", "apple.com", "icloud.com", "microsoft.com", "office.com",
    "google.com", "paypal.com", "amazon.com", "netflix.com", "facebook.com", "instagram.com",
    "whatsapp.com", "binance.com", "coinbase.com", "dhl.com", "fedex.com", "usps.com", "chase.com",
    "wellsfargo.com", "bankofamerica.com", "hsbc.com", "steamcommunity.com", "steampowered.com",
]


def test_shipped_file_protects_the_required_brands():
    brands = load_brands()
    assert len(brands) >= 80
    domains = {d for b in brands for d in b.domains}
    assert not [d for d in REQUIRED if d not in domains]
    assert {b.group for b in brands} == {Group.CN, Group.INTL}


def test_a_brand_has_its_main_domain_first_and_typed_fields():
    icbc = next(b for b in load_brands() if "icbc.com.cn" in b.domains)
    assert icbc.domain == "icbc.com.cn"
    assert "icbc" in icbc.tokens
    assert icbc.group is Group.CN and icbc.category is Category.BANK


def test_generic_abbreviations_are_not_tokens():
    # "abc" is a TV network and Alphabet's abc.xyz, not only the Agricultural Bank.
    tokens = {t for b in load_brands() for t in b.tokens}
    assert "abc" not in tokens and "abchina" in tokens


def test_admin_file_adds_a_brand_and_defaults_tokens(tmp_path):
    extra = tmp_path / "brands.toml"
    extra.write_text('[[brand]]\nname = "Example Bank"\ngroup = "intl"\ncategory = "bank"\n'
                     'domains = ["Example-Bank.org.", "example.net"]\n')
    brands = load_brands(str(extra))
    mine = [b for b in brands if b.name == "Example Bank"]
    assert mine == [Brand("Example Bank", ("example-bank.org", "example.net"), ("examplebank",),
                          Group.INTL, Category.BANK)]
    assert len(brands) == len(load_brands()) + 1


def test_admin_file_replaces_a_shipped_brand_of_the_same_name(tmp_path):
    extra = tmp_path / "brands.toml"
    extra.write_text('[[brand]]\nname = "PayPal"\ngroup = "intl"\ndomains = ["paypal.com", "example.org"]\n')
    paypal = [b for b in load_brands(str(extra)) if b.name == "PayPal"]
    assert len(paypal) == 1 and paypal[0].domains == ("paypal.com", "example.org")


@pytest.mark.parametrize("body, message", [
    ('[[brand]]\nname = "X"\ngroup = "cn"\n', "domains: needs at least one"),
    ('[[brand]]\nname = "X"\ngroup = "eu"\ndomains = ["example.org"]\n', "group: must be"),
    ('[[brand]]\nname = "X"\ngroup = "cn"\ndomains = ["exa mple.org"]\n', "is not a domain"),
    ('[[brand]]\nname = "X"\ngroup = "cn"\ndomains = ["example.org"]\nservices = ["ad server.example"]\n',
     "services: 'ad server.example' is not a domain"),
    ('[[brand]]\nname = "X"\ngroup = "cn"\ndomains = ["example.org"]\ntokens = ["ex-ample"]\n', "tokens:"),
    ('[[brand]]\nname = "X"\ngroup = "cn"\ndomains = ["example.org"]\ncolour = 1\n', "unknown key 'colour'"),
    ('[[brand]]\nname = "X"\ngroup = "cn"\ndomains = "example.org"\n', "must be a list"),
    ("[[brand]\n", "not valid TOML"),
])
def test_bad_admin_file_names_file_brand_and_key(tmp_path, body, message):
    extra = tmp_path / "mine.toml"
    extra.write_text(body)
    with pytest.raises(BrandsError, match=message) as caught:
        load_brands(str(extra))
    assert "mine.toml" in str(caught.value)


def test_missing_admin_file_is_an_error(tmp_path):
    with pytest.raises(BrandsError, match="no such brands file"):
        load_brands(str(tmp_path / "absent.toml"))


def test_a_brand_s_services_are_never_flagged_but_are_not_its_domains(tmp_path):
    # An ad or telemetry host the brand runs: the scorer allows it, the blocklists may block it.
    from fraudwall.scoring.scorer import Scorer
    extra = tmp_path / "brands.toml"
    extra.write_text('[[brand]]\nname = "Example Bank"\ngroup = "intl"\ndomains = ["examplebank.org"]\n'
                     'services = ["examplebank-metrics.net"]\n')
    brands = load_brands(str(extra))
    bank = next(b for b in brands if b.name == "Example Bank")
    assert bank.services == ("examplebank-metrics.net",) and "examplebank-metrics.net" not in bank.domains
    score = Scorer(brands=brands).score("x7.examplebank-metrics.net")
    assert score.rule == "brand-domain" and score.brand == "examplebank.org"
    assert Scorer(brands=brands).score("examplebank-login.net").verdict.value == "block"
