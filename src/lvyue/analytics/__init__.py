"""Read-only reports and dashboards over everything (DESIGN §3)."""
