"""TradeLocker: REST client, adapter, mapping and a faithful fake (brokers.md §2)."""
