"""fraudwall.resolver."""
