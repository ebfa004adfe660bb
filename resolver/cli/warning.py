"""The `ca init` verb: the lab CA behind the warning page's HTTPS certificates."""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from fraudwall.resolver.warning import certificates
from fraudwall.resolver.warning.settings import WarningSettings

INSTALL_HELP = """\
Install {cert} as a trusted root on the clients that should see the warning page
over HTTPS (only on machines you manage: whoever holds ca.key can impersonate any site
to them, so keep it on this host, mode 0600). Copy {name} to each client, then:

  Debian/Ubuntu: sudo cp {name} /usr/local/share/ca-certificates/{stem}.crt && sudo update-ca-certificates
  Windows:       certutil -addstore -f Root {name}   (as administrator; or double-click {name},
                 "Install Certificate", Local Machine, "Trusted Root Certification Authorities")
  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {name}
  Android:       Settings > Security > Encryption & credentials > Install a certificate > CA certificate
                 (apps trust user CAs only if they opt in; Chrome does)
  iOS/iPadOS:    send {name} (mail, AirDrop), install the profile in Settings, then enable it under
                 General > About > Certificate Trust Settings
  Firefox:       Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import {name}
                 (or set security.enterprise_roots.enabled to use the system's roots)

Then set tls_listen (and ca_dir = "{directory}") in the [warning] section of the config.
Chromium for tests: --ignore-certificate-errors-spki-list={spki}
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    ca = subparsers.add_parser("ca", help="the lab CA behind the warning page's HTTPS certificates",
                               description="Manage the lab CA that signs a certificate for each blocked name, "
                                           "so clients that trust it see the warning page over HTTPS.")
    ca_verbs = ca.add_subparsers(title="ca commands", metavar="ACTION", required=True)
    init = ca_verbs.add_parser("init", help="create ca.crt and ca.key",
                               description="Create a lab CA (EC P-256): ca.crt to install on clients, ca.key (0600).")
    init.add_argument("--dir", metavar="DIR", default=None,
                      help="where (default: [warning] ca_dir, else /var/lib/fraudwall/ca as root, "
                           "else ~/.local/state/fraudwall/ca)")
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(run=run_ca_init)


def warning_settings(args: argparse.Namespace) -> WarningSettings:
    return getattr(getattr(args, "config", None), "warning", None) or WarningSettings()


def run_ca_init(args: argparse.Namespace) -> int:
    settings = warning_settings(args)
    directory = Path(args.dir).expanduser() if args.dir else certificates.ca_dir_of(settings.ca_dir)
    try:
        ca = certificates.create_ca(directory, settings.organisation, force=args.force)
    except certificates.CAError as error:
        print(f"fraudwall: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"fraudwall: error: {directory}: cannot write the CA: {error.strerror}", file=sys.stderr)
        return 2
    cert = directory / certificates.CA_CERT
    spki = base64.b64encode(certificates.spki_sha256(ca.certificate)).decode()
    print(f"created {cert} and {directory / certificates.CA_KEY} (valid {certificates.CA_YEARS} years)\n")
    # The Debian line copies it under a name of its own: update-ca-certificates reads every *.crt there.
    stem = f"{settings.organisation}-warning-ca".replace(" ", "-")
    print(INSTALL_HELP.format(cert=cert, name=certificates.CA_CERT, stem=stem, directory=directory, spki=spki),
          end="")
    return 0
