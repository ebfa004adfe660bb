"""Zone transfers signed with TSIG (RFC 8945), with real peers both ways.

A real BIND 9 is a TSIG-keyed secondary of fraudwall (`primaries port P { ADDR key NAME; }`),
fraudwall requiring the key (`[xfr] require_key`) and signing its NOTIFYs (`notify = ["ADDR:PORT
key NAME"]`, BIND's `allow-notify { key NAME; }`); fraudwall follows a zone that a real NSD provides
only to the holder of a key (`provide-xfr: 127.0.0.1 NAME`), named by a `[[lists]]` table, and takes
NSD's NOTIFY signed with that key (`notify: ADDR@PORT NAME`), answering it signed. With the wrong
secret, the transfer is refused either way, and each side says so.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from pathlib import Path

import dns.exception
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.tsigkeyring
import pytest

from tests.e2e.peers import Process, fraudwall_binary, free_port, nsd_config, start_fraudwall, wait_for, write_fraudwall_config
from tests.e2e.rpz_peers import lists, metrics, named_options, rcode, store_with_list

pytestmark = pytest.mark.e2e

KEY_NAME = "transfer-key"
SECRET = base64.b64encode(bytes(range(32))).decode()
WRONG = base64.b64encode(bytes(range(1, 33))).decode()
LISTED = "evil-bank.example.com"
FILLER = 20_000


def _key_statement(secret: str) -> str:
    """What `tsig-keygen -a hmac-sha256 transfer-key` prints, with a fixed secret."""
    return f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'


def _key_file(directory: Path, secret: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "xfr.key"
    path.write_text(_key_statement(secret))
    path.chmod(0o600)
    return path


def _soa_serial(port: int, zone: str) -> int | None:
    try:
        reply = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=1.0)
    except (OSError, dns.exception.DNSException):
        return None
    if reply.rcode() != dns.rcode.NOERROR or not reply.answer:
        return None
    return reply.answer[0][0].serial


# ---------------------------------------------------------------- BIND, a secondary of fraudwall

@pytest.fixture
def primary(tmp_path: Path):
    """A fraudwall serving its zones to the holder of the key only, and sending signed NOTIFYs to
    the port BIND will listen on."""
    directory = tmp_path / "fraudwall"
    # Enough names for a transfer of many messages, each signed and checked by BIND.
    names = f"{LISTED}\n" + "".join(f"filler-{number}.example.net\n" for number in range(FILLER))
    store = store_with_list(directory / "store" / "blocklists.db", "phish", tmp_path / "phish.txt", names)
    _key_file(directory, SECRET)
    xfr_port, bind_port, admin_port = free_port(), free_port(), free_port()
    server = start_fraudwall(directory, ["127.0.0.1:9"], "--xfr-listen", f"127.0.0.1:{xfr_port}",
                             "--admin", f"127.0.0.1:{admin_port}",
                             extra=f'\n[xfr]\nkeys_file = "xfr.key"\nrequire_key = true\n'
                                   f'notify = ["127.0.0.1:{bind_port} key {KEY_NAME}"]\n')
    wait_for("fraudwall's transfer server answers", lambda: _soa_serial(xfr_port, "phish.rpz.fraudwall."))
    server.admin_port = admin_port
    yield store, xfr_port, bind_port, server
    server.stop()


def _start_bind(named: str, directory: Path, xfr_port: int, port: int, secret: str) -> Process:
    """`named` in the foreground holding secondary copies of fraudwall's zones, fetched with the key."""
    directory.mkdir()
    config = directory / "named.conf"
    zones = "".join(f"""
zone "{name}.rpz.fraudwall" {{
    type secondary;
    primaries port {xfr_port} {{ 127.0.0.1 key "{KEY_NAME}"; }};
    allow-notify {{ key "{KEY_NAME}"; }};
}};
""" for name in ("manual", "phish"))
    config.write_text(_key_statement(secret) + named_options(directory, port, "    recursion no;\n") + zones)
    return Process("named", [named, "-g", "-4", "-n", "1", "-c", str(config)], port, directory, "version.bind").start()


def test_bind_transfers_fraudwalls_zones_with_the_key_and_takes_its_signed_notify(require_binary, primary,
                                                                                  tmp_path: Path):
    store, xfr_port, bind_port, fraudwall = primary
    bind = _start_bind(require_binary("named"), tmp_path / "named", xfr_port, bind_port, SECRET)
    try:
        wait_for("BIND holds phish.rpz.fraudwall. from fraudwall",
                 lambda: _soa_serial(bind.port, "phish.rpz.fraudwall.") is not None)
        reply = dns.query.udp(dns.message.make_query(f"{LISTED}.phish.rpz.fraudwall.", "CNAME"), "127.0.0.1",
                              port=bind.port, timeout=1.0)
        assert [rdata.to_text() for rrset in reply.answer for rdata in rrset] == ["."]
        last = dns.query.udp(dns.message.make_query(f"filler-{FILLER - 1}.example.net.phish.rpz.fraudwall.", "CNAME"),
                             "127.0.0.1", port=bind.port, timeout=1.0)
        assert last.answer, "BIND holds the zone's last message too"
        # The operator's zone may be at serial 0 (nothing blocked by hand yet).
        wait_for("BIND holds manual.rpz.fraudwall.",
                 lambda: _soa_serial(bind.port, "manual.rpz.fraudwall.") is not None)
        before = _soa_serial(bind.port, "manual.rpz.fraudwall.")
        subprocess.run([fraudwall_binary(), "block", "--db", str(store), "www.example.org"], check=True,
                       capture_output=True)
        # BIND's own refresh is 300 s away: only the signed NOTIFY brings the new serial this soon.
        wait_for("BIND takes the new serial of manual.rpz.fraudwall. after fraudwall's signed NOTIFY",
                 lambda: (_soa_serial(bind.port, "manual.rpz.fraudwall.") or 0) > before)
        assert "refused notify" not in bind.log() and "tsig verify failure" not in bind.log(), bind.log()[-3000:]
        # /metrics counts what the transfer server answered and the NOTIFYs BIND acknowledged.
        wait_for("/metrics counts the transfers and the NOTIFYs", lambda: all(
            line in metrics(fraudwall.admin_port) for line in (
                'fraudwall_xfr_transfers_total{kind="axfr",result="full"}',
                'fraudwall_xfr_notifies_total{result="acknowledged"}')))
    finally:
        bind.stop()


def test_bind_with_the_wrong_secret_is_refused_the_transfer(require_binary, primary, tmp_path: Path):
    _, xfr_port, bind_port, fraudwall = primary
    bind = _start_bind(require_binary("named"), tmp_path / "named", xfr_port, bind_port, WRONG)
    try:
        # fraudwall answers BIND's signed SOA query NOTAUTH with BADSIG, unsigned: BIND never
        # asks for the transfer. And BIND refuses fraudwall's NOTIFY, signed with the other secret.
        wait_for("BIND logs the refused refresh of phish.rpz.fraudwall",
                 lambda: "phish.rpz.fraudwall/IN: refresh: failure trying primary" in bind.log())
        assert "tsig indicates error" in bind.log()
        wait_for("BIND refuses fraudwall's NOTIFY signed with the other secret",
                 lambda: "request has invalid signature: TSIG transfer-key: tsig verify failure (BADSIG)" in bind.log())
        assert _soa_serial(bind.port, "phish.rpz.fraudwall.") is None
        wait_for("/metrics counts the SOA queries refused BADSIG",
                 lambda: 'fraudwall_xfr_transfers_total{kind="query",result="badsig"}' in metrics(fraudwall.admin_port))
    finally:
        bind.stop()
    # Without the key at all, a transfer is REFUSED ([xfr] require_key).
    with pytest.raises(dns.exception.DNSException):
        list(dns.query.xfr("127.0.0.1", "phish.rpz.fraudwall.", port=xfr_port, timeout=2.0))


# ---------------------------------------------------------------- fraudwall, a secondary of NSD

ZONE = "phish.rpz.example.org"


def _zone_text(serial: int, *listed: str) -> str:
    return (f"$ORIGIN {ZONE}.\n$TTL 60\n@ IN SOA ns.example.org. hostmaster.example.org. {serial} 3600 600 86400 60\n"
            f"@ IN NS ns.example.org.\n" + "".join(f"{name} CNAME .\n" for name in listed)
            # Enough names for a transfer of many messages: NSD signs only some of them (RFC 8945 5.3.1).
            + "".join(f"filler-{number}.example.net CNAME .\n" for number in range(FILLER)))


def _start_keyed_nsd(nsd_binary: str, directory: Path, notify: str = "") -> Process:
    """An NSD providing a policy zone to the holder of the key only; `notify` is its notify: line."""
    port = free_port()
    directory.mkdir()
    (directory / "rpz.zone").write_text(_zone_text(1, LISTED))
    nsd_config(directory, port, f"""\
key:
    name: "{KEY_NAME}"
    algorithm: hmac-sha256
    secret: "{SECRET}"
zone:
    name: "{ZONE}"
    zonefile: "rpz.zone"
    provide-xfr: 127.0.0.1 {KEY_NAME}
{notify}""")
    return Process("nsd", [nsd_binary, "-d", "-c", str(directory / "nsd.conf")], port, directory, ZONE).start()


@pytest.fixture
def keyed_nsd(nsd_binary: str, tmp_path: Path) -> Process:
    server = _start_keyed_nsd(nsd_binary, tmp_path / "nsd")
    yield server
    server.stop()


def _follower(directory: Path, nsd_port: int, secret: str, port: int | None = None) -> Process:
    """A fraudwall following NSD's zone with the key (on `port` when given: NSD's NOTIFYs go there)."""
    _key_file(directory, secret)
    tables = (f'\n[xfr]\nkeys_file = "xfr.key"\n\n[[lists]]\nname = "phish"\nprimary = "127.0.0.1:{nsd_port}"\n'
             f'zone = "{ZONE}"\nkey = "{KEY_NAME}"\n')
    admin_port = free_port()
    if port is None:
        follower = start_fraudwall(directory, ["127.0.0.1:9"], "--admin", f"127.0.0.1:{admin_port}", extra=tables)
    else:
        config = write_fraudwall_config(directory, ["127.0.0.1:9"], extra=tables)
        follower = Process("fraudwall", [fraudwall_binary(), "serve", "--config", str(config), "--listen",
                                         f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin_port}"],
                           port, directory, "icbc-tuikuan.example.com").start()
    follower.admin_port = admin_port
    return follower


def test_fraudwall_follows_a_zone_nsd_gives_only_to_the_key(keyed_nsd: Process, tmp_path: Path):
    follower = _follower(tmp_path / "fraudwall", keyed_nsd.port, SECRET)
    try:
        wait_for(f"{LISTED} blocked after a signed transfer from NSD",
                 lambda: rcode(follower.port, LISTED) == dns.rcode.NXDOMAIN)
        assert f"phish follows {ZONE}. at 127.0.0.1:{keyed_nsd.port} key {KEY_NAME}: serial 1;" in lists(
            follower.directory / "fraudwall.toml")
        assert rcode(follower.port, f"filler-{FILLER - 1}.example.net") == dns.rcode.NXDOMAIN
    finally:
        follower.stop()


def test_nsds_signed_notify_brings_a_change_within_10_s_and_nsd_takes_the_signed_reply(nsd_binary: str,
                                                                                       tmp_path: Path):
    port = free_port()
    nsd = _start_keyed_nsd(nsd_binary, tmp_path / "nsd", f"    notify: 127.0.0.1@{port} {KEY_NAME}\n")
    try:
        follower = _follower(tmp_path / "fraudwall", nsd.port, SECRET, port)
    except Exception:
        nsd.stop()
        raise
    try:
        wait_for(f"{LISTED} blocked after a signed transfer from NSD",
                 lambda: rcode(follower.port, LISTED) == dns.rcode.NXDOMAIN)
        added = "added-bank.example.com"
        (nsd.directory / "rpz.zone").write_text(_zone_text(2, LISTED, added))
        # The zone's refresh is an hour away: only NSD's NOTIFY, signed and taken, brings it this soon.
        nsd.signal(signal.SIGHUP)
        wait_for(f"{added} blocked after NSD's signed NOTIFY", lambda: rcode(follower.port, added) == dns.rcode.NXDOMAIN)
        assert "serial 2;" in lists(follower.directory / "fraudwall.toml")
        # The reply to a signed NOTIFY is signed over its MAC (dnspython checks it as BIND does);
        # from the primary's address, an unsigned NOTIFY is refused.
        notify = dns.message.make_query(f"{ZONE}.", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        notify.use_tsig(dns.tsigkeyring.from_text({f"{KEY_NAME}.": ("hmac-sha256", SECRET)}), keyname=f"{KEY_NAME}.")
        reply = dns.query.udp(notify, "127.0.0.1", port=follower.port, timeout=2.0)
        assert reply.rcode() == dns.rcode.NOERROR and reply.had_tsig
        unsigned = dns.message.make_query(f"{ZONE}.", "SOA")
        unsigned.set_opcode(dns.opcode.NOTIFY)
        assert dns.query.udp(unsigned, "127.0.0.1", port=follower.port, timeout=2.0).rcode() == dns.rcode.REFUSED
    finally:
        follower.stop()
        nsd.stop()


def test_fraudwall_with_the_wrong_secret_gets_nothing_from_nsd_and_says_so(keyed_nsd: Process, tmp_path: Path):
    follower = _follower(tmp_path / "fraudwall", keyed_nsd.port, WRONG)
    try:
        config = follower.directory / "fraudwall.toml"
        line = wait_for("lists shows the failed refresh",
                        lambda: next((line for line in lists(config).splitlines() if "failed" in line), None))
        assert "TSIG" in line or "NOTAUTH" in line, line
        assert "follow phish" in follower.log() and "TSIG" in follower.log()
        failed = 'fraudwall_xfr_secondary_transfers_total{list="phish",result="failed"}'
        wait_for("/metrics counts the failed refresh", lambda: failed in metrics(follower.admin_port))
        assert rcode(follower.port, LISTED) != dns.rcode.NXDOMAIN
    finally:
        follower.stop()


def _signed_soa_answered(port: int, secret: str) -> bool:
    """Whether the transfer server answers a SOA query signed with `secret` (a reply signed in turn)."""
    query = dns.message.make_query("phish.rpz.fraudwall.", "SOA")
    query.use_tsig(dns.tsigkeyring.from_text({f"{KEY_NAME}.": ("hmac-sha256", secret)}), keyname=f"{KEY_NAME}.")
    try:
        return dns.query.tcp(query, "127.0.0.1", port=port, timeout=2.0).rcode() == dns.rcode.NOERROR
    except (OSError, EOFError, dns.exception.DNSException):
        # EOFError: a connection the old transfer server took as it stopped for the new key (the
        # supervisor holds the socket meanwhile, so the kernel accepts it): not answered, yet.
        return False


def test_a_key_changed_in_the_key_file_takes_effect_at_sighup(primary):
    _, xfr_port, _, fraudwall = primary
    assert _signed_soa_answered(xfr_port, SECRET) and not _signed_soa_answered(xfr_port, WRONG)
    _key_file(fraudwall.directory, WRONG)     # the key rotated: same name, a new secret
    os.kill(fraudwall.pid, signal.SIGHUP)
    wait_for("the transfer server takes the new secret", lambda: _signed_soa_answered(xfr_port, WRONG))
    assert not _signed_soa_answered(xfr_port, SECRET)


def test_serve_refuses_a_key_file_others_may_read_with_one_line_naming_it(tmp_path: Path):
    directory = tmp_path / "fraudwall"
    _key_file(directory, SECRET).chmod(0o644)
    config = write_fraudwall_config(directory, ["127.0.0.1:9"],
                                    extra=f'\n[xfr]\nlisten = "127.0.0.1:{free_port()}"\nkeys_file = "xfr.key"\n')
    done = subprocess.run([fraudwall_binary(), "serve", "--config", str(config), "--listen", f"127.0.0.1:{free_port()}"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"fraudwall: config error: {config}: [xfr] keys_file: {directory / 'xfr.key'}: the TSIG keys are readable by "
        f"others (mode 0644): chmod 600 {directory / 'xfr.key'}"], done.stderr
