"""The start-up banner: where the store, /metrics and the warning page are, and a query to try with a
client that is installed."""

from pathlib import Path

from fraudwall.resolver.config import Config

UPSTREAMS = ("192.0.2.53:53",)


def lines(config: Config, installed: tuple[str, ...] = ("dig", "kdig"), scorer: str = "compiled (mypyc)") -> list[str]:
    from fraudwall.resolver.server.banner import banner
    return banner(config, UPSTREAMS, which=lambda name: f"/usr/bin/{name}" if name in installed else None, pid=7,
                  scorer=lambda: scorer)


def lab(tmp_path: Path) -> Config:
    return Config().replace("blocklists", db=str(tmp_path / "blocklists.db"))


def test_it_says_where_the_store_the_log_metrics_and_page_are(tmp_path):
    config = lab(tmp_path).replace("warning", listen=("127.0.0.1:8080", "[::1]:8080"), tls_listen=("127.0.0.1",))
    text = "\n".join(lines(config))
    assert text.startswith("fraudwall 7: listening on 127.0.0.1:5300 (UDP and TCP); upstreams 192.0.2.53:53")
    assert f"store: {tmp_path / 'blocklists.db'} (fraudwall block, check and report take --db" in text
    assert f"query log: {tmp_path / 'querylog.db'}" in text
    assert "metrics: http://127.0.0.1:9553/metrics" in text
    assert "warning page: http://127.0.0.1:8080/, http://[::1]:8080/, https://127.0.0.1:443/" in text


def test_what_is_off_is_said_to_be_off_with_the_flag_that_turns_it_on(tmp_path):
    config = lab(tmp_path).replace("admin", listen="").replace("blocklists", store=False)
    text = "\n".join(lines(config))
    assert "metrics: off (--admin ADDR:PORT" in text
    assert "warning page: off (--warning-listen ADDR:PORT" in text
    assert "store: none" in text


def test_the_query_to_try_uses_dig_else_kdig_else_says_what_to_install(tmp_path):
    config = lab(tmp_path).replace("server", listen=("127.0.0.1:5353",))
    assert lines(config)[-1].startswith("try: dig @127.0.0.1 -p 5353 example.com")
    kdig = lines(config, installed=("kdig",))[-1]
    assert kdig.startswith("try: kdig @127.0.0.1 -p 5353 +edns example.com") and "dig @" not in kdig.replace("kdig @", "")
    neither = lines(config, installed=())[-1]
    assert "apt-get install knot-dnsutils" in neither and "fraudwall check icbc-tuikuan.example.com" in neither


def test_it_says_which_scorer_runs_and_in_which_mode(tmp_path):
    assert "scorer: mode block, compiled (mypyc)" in lines(lab(tmp_path))
    warn_only = lab(tmp_path).replace("scorer", mode="warn-only")
    assert "scorer: mode warn-only, pure Python" in lines(warn_only, scorer="pure Python")
    assert 'scorer: off ([scorer] mode = "off")' in lines(lab(tmp_path).replace("scorer", mode="off"))
