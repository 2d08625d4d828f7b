"""Tradovate: REST client, adapter, mapping and a faithful fake (brokers.md §3)."""
