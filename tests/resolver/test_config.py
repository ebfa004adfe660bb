"""Config errors name the file, the key and what is wrong; flags lay over the file."""

import pytest
from fraudwall.blocklists.settings import Feed
from fraudwall.resolver import config
from fraudwall.resolver.cli import main
from fraudwall.resolver.config import (
    ConfigError,
    parse_hostport,
    read_resolv_conf,
    upstream_servers,
)


def write(tmp_path, text):
    path = tmp_path / "fraudwall.toml"
    path.write_text(text)
    return path


def test_bundled_default_is_safe():
    loaded = config.load()
    assert loaded.server.listen == ("127.0.0.1:5300",)
    assert loaded.access.allow == ("127.0.0.0/8", "::1/128")


@pytest.mark.parametrize("text, words", [
    ("[server]\nlisen = ['127.0.0.1:53']\n", ["fraudwall.toml", "[server]", "'lisen'"]),
    ("[server]\nworkers = 'two'\n", ["[server] workers", "must be an integer"]),
    ("[sinkhole]\nipv4 = '::1'\n", ["[sinkhole] ipv4", "not an IPv4 address"]),
    ("[upstream]\nservers = ['dns.example.org']\n", ["[upstream] servers", "not an IP address"]),
    ("[access]\nallow = ['10.0.0.0/33']\n", ["[access] allow"]),
    ("[nonsense]\n", ["unknown section [nonsense]"]),
    ("[server\n", ["not valid TOML"]),
    ("[scorer]\nmode = 'loud'\n", ["[scorer] mode"]),
    ("[server]\ntcp_max_connections_per_client = 0\n", ["[server] tcp_max_connections_per_client"]),
    ("[server]\ntcp_message_timeout = -1\n", ["[server] tcp_message_timeout", "between"]),
    ("[upstream]\nmax_in_flight = 0\n", ["[upstream] max_in_flight", "at least 1"]),
    ("[upstream]\nmax_in_flight_per_client = 0\n", ["[upstream] max_in_flight_per_client"]),
    ("[cache]\nserve_stale = 2000000\n", ["[cache] serve_stale", "7 days"]),
    ("[server]\nuser = 'no-such-user-here'\n", ["[server] user", "no such user 'no-such-user-here'"]),
])
def test_errors_name_file_key_and_problem(tmp_path, text, words):
    with pytest.raises(ConfigError) as raised:
        config.load(write(tmp_path, text))
    for word in words:
        assert word in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "absent.toml")


def test_relative_files_are_relative_to_the_config(tmp_path):
    loaded = config.load(write(tmp_path, "[blocklists]\nfiles = ['lists/fraud.txt', 'demo']\n"))
    assert loaded.blocklists.files == (str(tmp_path / "lists/fraud.txt"), "demo")


def test_hostport_forms():
    assert parse_hostport("127.0.0.1:5300", 53) == ("127.0.0.1", 5300)
    assert parse_hostport("[::1]:5300", 53) == ("::1", 5300)
    assert parse_hostport("::1", 53) == ("::1", 53)
    assert parse_hostport("192.0.2.1", 53) == ("192.0.2.1", 53)
    for bad in ("127.0.0.1:0", "127.0.0.1:70000", "[::1", "example.org:53", "[::1]x"):
        with pytest.raises(ValueError):
            parse_hostport(bad, 53)


def test_resolv_conf_nameservers(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text("# comment\nsearch example.org\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\noptions ndots:2\n")
    assert [str(server) for server in read_resolv_conf(str(path))] == ["192.0.2.53:53", "[fe80::1]:53"]
    path.write_text("search example.org\n")
    with pytest.raises(ConfigError, match="no nameserver"):
        read_resolv_conf(str(path))


def test_an_upstream_equal_to_our_listen_address_is_a_loop(tmp_path):
    loaded = config.load(write(tmp_path, "[server]\nlisten=['127.0.0.1:5300']\n[upstream]\nservers=['127.0.0.1:5300']\n"))
    with pytest.raises(ConfigError, match="loop"):
        upstream_servers(loaded.upstream, loaded.server.listen)


def test_cli_reports_config_errors_with_exit_code_2(tmp_path, capsys):
    path = write(tmp_path, "[cache]\nsize = -1\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert "[cache] size" in capsys.readouterr().err


def test_cli_flag_errors_exit_2(capsys):
    assert main(["serve", "--listen", "localhost:53"]) == 2
    assert "listen" in capsys.readouterr().err
    assert main(["serve", "--sinkhole-ipv4", "not-an-ip", "--upstream", "192.0.2.53"]) == 2


def test_lists_tables_name_feeds_that_serve_keeps_fresh(tmp_path):
    loaded = config.load(write(tmp_path, """
[[lists]]
name = "phishtank"
url = "https://feeds.example.org/online-valid.csv"
format = "phishtank-csv"
refresh = 3600

[[lists]]
name = "openphish"
url = "https://feeds.example.net/feed.txt"
"""))
    feeds = loaded.blocklists.parsed_feeds()
    assert [(feed.name, feed.format, feed.period) for feed in feeds] == [
        ("phishtank", "phishtank-csv", 3600), ("openphish", "auto", 3600)]
    assert loaded.blocklists.feeds == feeds and all(isinstance(feed, Feed) for feed in feeds)


def test_legacy_feed_strings_and_lists_tables_are_both_typed_feeds(tmp_path):
    loaded = config.load(write(tmp_path, """
[blocklists]
feeds = ["urlhaus=https://feeds.example.org/hostfile,hosts,7200"]

[[lists]]
name = "openphish"
url = "https://feeds.example.net/feed.txt"
"""))
    assert loaded.blocklists.feeds == (Feed("urlhaus", "https://feeds.example.org/hostfile", "hosts", 7200),
                                       Feed("openphish", "https://feeds.example.net/feed.txt", "auto", 3600))


@pytest.mark.parametrize("text, words", [
    ("[[lists]]\nname = 'x'\n", ["[[lists]] #1 url"]),
    ("[[lists]]\nname = 'x'\nurl = 'https://e.example.org/f'\nrefresh = 'hourly'\n", ["[[lists]] #1 refresh"]),
    ("[[lists]]\nname = 'x'\nurl = 'https://e.example.org/f'\nperiod = 60\n", ["[[lists]] #1 unknown key 'period'"]),
    ("[[lists]]\nname = 'x'\nurl = 'ftp://e.example.org/f'\n", ["[[lists]] #1 url", "http://"]),
    ("[[lists]]\nname = 'x'\nurl = 'https://e.example.org/f'\nrefresh = 30\n", ["[[lists]] #1 refresh", "60"]),
    ("[[lists]]\nname = 'Phish List'\nurl = 'https://e.example.org/f'\n", ["[[lists]] #1 name"]),
])
def test_bad_lists_tables_name_the_table_and_the_key(tmp_path, text, words):
    with pytest.raises(ConfigError) as raised:
        config.load(write(tmp_path, text))
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize("section, key, value", [
    ("server", "tcp_idle_timeout", "-1"), ("server", "tcp_idle_timeout", "0"), ("server", "tcp_idle_timeout", "nan"),
    ("server", "shutdown_grace", "-3"), ("server", "shutdown_grace", "inf"),
    ("cache", "max_ttl", "-1"), ("cache", "min_ttl", "-5"), ("cache", "negative_max_ttl", "-1"),
    ("cache", "servfail_ttl", "-1"), ("cache", "max_ttl", "4294967296"),
    ("querylog", "retention_days", "nan"), ("atrisk", "window_hours", "-inf"), ("atrisk", "window_hours", "nan"),
    ("atrisk", "check_seconds", "nan"), ("blocklists", "broadest_ipv4_prefix", "33"),
    ("blocklists", "broadest_ipv6_prefix", "-1"),
])
def test_negative_and_nonsense_durations_are_refused(tmp_path, section, key, value):
    """A negative timeout, grace period or TTL is a config error naming the key (issue 11, defect 11)."""
    with pytest.raises(ConfigError, match=rf"\[{section}\] {key}: must"):
        config.load(write(tmp_path, f"[{section}]\n{key} = {value}\n"))


def test_allowlist_names_are_normalised_as_the_blocklists_store_them(tmp_path):
    """A Unicode entry is stored as punycode, or it would never match a query (issue 11, defect 11)."""
    loaded = config.load(write(tmp_path, '[allowlist]\nnames = ["faß.de", "Bank.Example.ORG.", "intranet"]\n'))
    assert loaded.allowlist.names == ("xn--fa-hia.de", "bank.example.org", "intranet")


@pytest.mark.parametrize("name", ["bad..name", "*.example.org", "exa mple.org", "192.0.2.1", ""])
def test_an_invalid_allowlist_name_is_a_config_error(tmp_path, name):
    with pytest.raises(ConfigError, match=r"\[allowlist\] names: .* is not a domain name"):
        config.load(write(tmp_path, f'[allowlist]\nnames = ["ok.example.org", "{name}"]\n'))


def test_a_unicode_allowlist_entry_allows_the_punycode_query():
    import asyncio

    from fraudwall.resolver.dns.stages.allowlist import AllowlistStage
    from fraudwall.resolver.config import AllowlistSettings

    class Next:
        async def resolve(self, query):
            return query

    stage = AllowlistStage(AllowlistSettings(names=("faß.de",)).names)
    stage.next = Next()
    query = type("Query", (), {"qname": "www.xn--fa-hia.de", "_replace": lambda self, **kw: kw})()
    assert asyncio.run(stage.resolve(query)) == {"allowed": True}
