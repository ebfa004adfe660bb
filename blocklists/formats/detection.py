"""`--format auto`: the format of a feed from its first lines."""

from __future__ import annotations

import ipaddress
import re

from fraudwall.blocklists.formats import Format

_RPZ_RECORD = re.compile(r"\s(?:IN\s+)?(?:\d+\s+)?(?:CNAME|SOA|NS)\s", re.IGNORECASE)
_ADBLOCK_RULE = re.compile(r"^(?:@@)?\|\|[^\s]+\^")


def detect(head: list[str]) -> Format:
    lines = [line.strip().lstrip("\ufeff") for line in head if line.strip()]
    if not lines:
        return Format.DOMAINS
    first = lines[0]
    if first.startswith("[") and not first.startswith("[Adblock"):
        return Format.PHISHTANK_JSON
    text = "\n".join(lines)
    if "urlhaus" in text.lower() and "," in text:
        return Format.URLHAUS
    if first.lower().startswith("phish_id,"):
        return Format.PHISHTANK_CSV
    votes = dict.fromkeys(Format, 0)
    for line in lines:
        if line.startswith(("$ORIGIN", "$TTL")) or _RPZ_RECORD.search(" " + line + " "):
            votes[Format.RPZ] += 3
        elif line.startswith("[Adblock") or _ADBLOCK_RULE.match(line):
            votes[Format.ADBLOCK] += 3
        elif line.startswith("!"):
            votes[Format.ADBLOCK] += 1
        elif line.startswith(("#", ";")):
            continue
        elif line.startswith(("http://", "https://")):
            votes[Format.OPENPHISH] += 1
        else:
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if _is_network(fields[0]):
                # A network (with its `;` comment, Spamhaus style) is no hosts line's address.
                hosts = len(fields) > 1 and "/" not in fields[0] and not fields[1].startswith(";")
                votes[Format.HOSTS if hosts else Format.IPLIST] += 1
            else:
                votes[Format.DOMAINS] += 1
    best = max(votes, key=votes.__getitem__)
    return best if votes[best] else Format.DOMAINS


def _is_network(token: str) -> bool:
    try:
        ipaddress.ip_network(token.split("%", 1)[0], strict=False)
    except ValueError:
        return False
    return True
