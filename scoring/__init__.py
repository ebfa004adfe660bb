"""fraudwall.scoring."""
