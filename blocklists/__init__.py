"""fraudwall.blocklists."""
