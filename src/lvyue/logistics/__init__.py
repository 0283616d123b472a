"""Carriers and services, rate tables and carrier selection (物流匹配 / 快递策略)."""
