"""Clients at risk: five distinct fraud names within a day, or a block after a look-alike warning."""

from fraudwall.resolver.observe.atrisk import AtRiskWatcher, assess
from fraudwall.resolver.observe.querylog import LogEntry, QueryLog

HOUR = 3600.0


def blocked(time, name, client="192.0.2.7", verdict="blocked", label="phishtank"):
    return LogEntry(time, client, name, "A", verdict, f"listed in {label}", label)


def warned(time, name, client="192.0.2.7", label="typosquat"):
    return LogEntry(time, client, name, "A", "warned", "scored 0.70: look-alike of paypal.com", label)


def test_five_distinct_fraud_names_within_a_day_flag_the_client():
    entries = [blocked(i * HOUR, f"fraud{i}.example.net") for i in range(5)]
    [client] = assess(entries)
    assert client.client == "192.0.2.7"
    assert client.trigger == "5 distinct fraud names blocked within 24 h"
    assert client.names == tuple(f"fraud{i}.example.net" for i in range(5))


def test_repeats_of_one_name_or_names_spread_over_days_do_not():
    repeats = [blocked(i * 60.0, "fraud.example.net") for i in range(50)]
    spread = [blocked(i * 7 * HOUR, f"fraud{i}.example.net") for i in range(5)]
    assert assess(repeats) == []
    assert assess(spread) == []
    assert assess(spread, window_seconds=30 * HOUR)[0].client == "192.0.2.7"


def test_a_block_after_a_lookalike_warning_flags_the_client():
    entries = [warned(0.0, "paypa1-support.example.net"), blocked(600.0, "paypal-login.example.org")]
    [client] = assess(entries)
    assert "after a look-alike warning for paypa1-support.example.net" in client.trigger


def test_a_shape_warning_or_a_block_before_the_warning_does_not():
    assert assess([warned(0.0, "x.example.net", label="shape"), blocked(600.0, "y.example.org")]) == []
    assert assess([blocked(0.0, "y.example.org"), warned(600.0, "x.example.net")]) == []
    assert assess([warned(0.0, "x.example.net"), blocked(600.0, "y.example.org")], after_warning=False) == []


def test_clients_are_judged_apart_most_recent_first():
    entries = [blocked(i * 60.0, f"f{i}.example.net", client="192.0.2.1") for i in range(5)]
    entries += [blocked(1000 + i * 60.0, f"f{i}.example.net", client="192.0.2.2") for i in range(5)]
    entries += [blocked(i * 60.0, f"f{i}.example.net", client="192.0.2.3") for i in range(4)]
    assert [client.client for client in assess(entries)] == ["192.0.2.2", "192.0.2.1"]


def test_watcher_counts_and_tells_the_webhook_once_with_retries(tmp_path):
    path = tmp_path / "querylog.db"
    log = QueryLog(path)
    log.write([blocked(1000.0 + i, f"fraud{i}.example.net") for i in range(5)], now=1005.0)
    log.close()
    posts, sleeps = [], []

    def flaky_post(url, document):
        posts.append(document)
        if len(posts) < 3:
            raise OSError("connection refused")

    watcher = AtRiskWatcher(str(path), 5, 24 * HOUR, True, webhook="http://127.0.0.1:9/hook",
                            post=flaky_post, clock=lambda: 2000.0, sleep=sleeps.append)
    watcher.check()
    assert watcher.count == 1
    assert len(posts) == 3 and sleeps == [2.0, 4.0]
    assert posts[-1]["event"] == "fraudwall.at_risk" and posts[-1]["client"] == "192.0.2.7"
    assert len(posts[-1]["names"]) == 5
    watcher.check()
    assert len(posts) == 3  # told once per window


def test_the_report_says_which_policy_the_client_is_under():
    from fraudwall.resolver.observe.atrisk import as_json

    entries = [blocked(i * HOUR, f"fraud{i}.example.net")._replace(policy="guests") for i in range(5)]
    [client] = assess(entries)
    assert client.policy == "guests"
    assert client.trigger == "5 distinct fraud names blocked within 24 h (policy guests)"
    document = as_json(client)
    assert document["policy"] == "guests" and {a["policy"] for a in document["attempts"]} == {"guests"}
