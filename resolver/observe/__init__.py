"""What the operator watches: metrics, query log, at-risk clients, the admin listener."""
