"""Real processes for the end-to-end tests: an NSD serving a test zone, and `fraudwall serve` in front of it.

Nothing here is a mock: each helper writes a config into a temporary directory, starts the
real binary on free loopback ports and waits until it answers a DNS query.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

ZONE = "example.org"
START_TIMEOUT = 10.0

# TXT strings of 255 octets: six make an answer of about 1.6 KB (more than 1232, so it needs TCP),
# three about 800 bytes (more than 512 but less than 1232: fits EDNS UDP, not plain UDP).
BIG_TXT_STRINGS = 6
MEDIUM_TXT_STRINGS = 3

ZONE_TEXT = f"""\
$ORIGIN {ZONE}.
$TTL 300
@        3600 IN SOA ns1 hostmaster 2024010101 3600 900 604800 60
@             IN NS  ns1
ns1           IN A   127.0.0.1
www           IN A   192.0.2.10
www           IN AAAA 2001:db8::10
v4only        IN A   192.0.2.20
alias         IN CNAME alias2
alias2        IN CNAME www
ttl100   100  IN A   192.0.2.100
countdown 100 IN A   192.0.2.101
cached        IN A   192.0.2.102
big           IN TXT {' '.join(f'"{chr(97 + i) * 255}"' for i in range(BIG_TXT_STRINGS))}
medium        IN TXT {' '.join(f'"{chr(97 + i) * 255}"' for i in range(MEDIUM_TXT_STRINGS))}
to-blocked    IN CNAME icbc-tuikuan.example.com.
"""
# One name per query of the TCP pipelining test, each with its own address.
PIPELINED = [f"pipe{index}" for index in range(8)]
ZONE_TEXT += "".join(f"{name} IN A 192.0.2.{200 + index}\n" for index, name in enumerate(PIPELINED))


def free_port() -> int:
    """A port that is free for UDP and TCP on 127.0.0.1 and ::1 (each is bound to port 0 to find it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if all(_bindable(family, kind, port) for family in (socket.AF_INET, socket.AF_INET6)
               for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
            return port
    raise RuntimeError("no free port on 127.0.0.1 and ::1")


def _bindable(family: int, kind: int, port: int) -> bool:
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, kind) as probe:
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_is_free(port: int) -> bool:
    return all(_bindable(family, kind, port) for family in (socket.AF_INET, socket.AF_INET6)
               for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM))


def answers(host: str, port: int, name: str, rdtype: str = "SOA") -> bool:
    try:
        dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=0.2)
    except (OSError, dns.exception.DNSException):
        return False
    return True


class Process:
    """A started peer: its process, its port, its log; `stop()` is idempotent."""

    def __init__(self, name: str, argv: list[str], port: int, directory: Path, probe_name: str) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.directory = directory
        self.probe_name = probe_name
        self.log_path = directory / f"{name}.stderr"
        self.process: subprocess.Popen | None = None
        self.signalled = False

    def start(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                            cwd=self.directory, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} at start:\n{self.log()}")
            if answers("127.0.0.1", self.port, self.probe_name):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {START_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.signalled = True

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (unless `signal` sent one already), then the exit code; killed if it does not stop in time."""
        assert self.process is not None
        if self.process.poll() is None and not self.signalled:
            self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: nsd's children go too
        except ProcessLookupError:
            pass
        self.process.wait(5)


def start_nsd(nsd: str, directory: Path, zone_text: str = ZONE_TEXT, zone: str = ZONE, ipv6: bool = True,
              prefix: tuple[str, ...] = (), hide_version: bool = True) -> Process:
    """An authoritative NSD for `zone` on a free loopback port (IPv4, and IPv6 unless told), in the foreground.

    `prefix` goes before the command, e.g. ("taskset", "-c", "1") for the benchmark.
    `hide_version=False` makes it tell its version (`version.bind CH TXT`), which nothing should pass on.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (directory / f"{zone}.zone").write_text(zone_text)
    server = (f"    ip-address: ::1@{port}\n" if ipv6 else "") + \
        f"    hide-version: {'yes' if hide_version else 'no'}\n    rrl-ratelimit: 0\n"
    config = nsd_config(directory, port, f'zone:\n    name: "{zone}"\n    zonefile: "{zone}.zone"\n',
                        server=server, verbosity=1)
    return Process("nsd", [*prefix, nsd, "-d", "-c", str(config)], port, directory, zone).start()


def nsd_config(directory: Path, port: int, rest: str, server: str = "", verbosity: int = 2) -> Path:
    """An nsd.conf in `directory` listening on 127.0.0.1:`port`, everything in that folder; `server`:
    more lines of its server: clause, `rest` (key: and zone: clauses) after it."""
    config = directory / "nsd.conf"
    config.write_text(f"""\
server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{directory}"
    zonelistfile: "{directory}/zone.list"
    xfrdfile: "{directory}/xfrd.state"
    xfrdir: "{directory}"
    pidfile: "{directory}/nsd.pid"
    logfile: "{directory}/nsd.log"
    verbosity: {verbosity}
{server}remote-control:
    control-enable: no
{rest}""")
    return config


def fraudwall_binary() -> str:
    """The console script of the virtualenv running the tests."""
    candidate = Path(sys.executable).with_name("fraudwall")
    return str(candidate) if candidate.exists() else "fraudwall"


def toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def write_fraudwall_config(directory: Path, upstreams: list[str], allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128"),
                           timeout: float = 0.3, attempts: int = 1, policy: str = "sinkhole",
                           extra: str = "", scorer: str = "off", deny: tuple[str, ...] = (),
                           access_action: str = "refuse", keys: dict[str, str] | None = None) -> Path:
    """A test config with every section; `extra` is appended (e.g. more keys under a new header).

    Each config has its own store beside it, and no admin listener (`--admin` turns one on).

    `scorer` is the `[scorer] mode` ("off" unless a test wants look-alikes blocked: "block").
    `deny` and `access_action` are `[access] deny` and `action`, written only when set.
    `keys` adds lines under the header of a section written here, e.g. {"upstream": "max_in_flight = 50"}.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "fraudwall.toml"
    access_lines = ""
    if deny or access_action != "refuse":
        access_lines = f'\ndeny = {toml_list(deny)}\naction = "{access_action}"'
    config.write_text(f"""\
[server]
listen = ["127.0.0.1:5300"]
workers = 1
log_level = "warning"
shutdown_grace = 1.0

[access]
allow = {toml_list(allow)}{access_lines}

[upstream]
servers = {toml_list(upstreams)}
timeout = {timeout}
attempts = {attempts}

[cache]
size = 10000
max_ttl = 86400

[sinkhole]
ipv4 = "0.0.0.0"
ipv6 = "::"
ttl = 60
policy = "{policy}"

[blocklists]
db = "store/blocklists.db"
files = ["demo"]

[scorer]
mode = "{scorer}"

[admin]
listen = ""
{extra}""")
    if keys:
        text = config.read_text()
        for section, lines in keys.items():
            header = f"[{section}]\n"
            if header not in text:
                raise ValueError(f"no [{section}] in the test config: write it with `extra`")
            text = text.replace(header, header + lines.rstrip("\n") + "\n", 1)
        config.write_text(text)
    return config


def serve_expecting_failure(directory: Path, *flags: str, timeout: float = START_TIMEOUT) -> tuple[int, str]:
    """`fraudwall serve` with a test config in `directory` and `flags`, which must not start: (exit code, stderr).

    Fails the test when it serves instead (it announces itself once every listener is bound).
    """
    config = write_fraudwall_config(directory, ["127.0.0.1:9"])
    stderr_path = directory / "stderr"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen([fraudwall_binary(), "serve", "--config", str(config), *flags],
                                   stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while process.poll() is None and "listening on" not in stderr_path.read_text():
            assert time.monotonic() < deadline, f"serve {' '.join(flags)} neither exited nor started"
            time.sleep(0.05)
        assert process.poll() is not None, f"serve {' '.join(flags)} started:\n{stderr_path.read_text()}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
    return process.returncode, stderr_path.read_text()


def start_fraudwall(directory: Path, upstreams: list[str], *flags: str, probe_name: str = "icbc-tuikuan.example.com",
                    **config: object) -> Process:
    """`fraudwall serve` on a free port of 127.0.0.1 and ::1, forwarding to `upstreams`.

    The readiness probe asks for a blocked demo name: it is answered without any upstream.
    """
    path = write_fraudwall_config(directory, upstreams, **config)  # type: ignore[arg-type]
    port = free_port()
    argv = [fraudwall_binary(), "serve", "--config", str(path),
            "--listen", f"127.0.0.1:{port}", "--listen", f"[::1]:{port}"]
    for upstream in upstreams:
        argv += ["--upstream", upstream]
    argv += list(flags)
    return Process("fraudwall", argv, port, directory, probe_name).start()


def wait_for(what: str, check, seconds: float = 10.0, every: float = 0.1):
    """Ask `check()` until it returns something truthy, and return that; fails naming `what` past the deadline."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(every)
    return value
