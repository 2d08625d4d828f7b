"""MetaTrader 4 and 5 through TradeFlow's Expert Advisor (brokers.md §4, 5b).

MetaTrader has no server API: the EA (`ea/TradeFlow.mq5`, `ea/TradeFlow.mq4`) runs
in the trader's terminal and pulls its commands from us over HTTPS. So this venue
is a Django app of its own: the EA's `Terminal` (token, session, what it last
reported) and the `Command` queue are our tables, the protocol's routes are ours
(docs/ea-protocol.md), and the adapter places an order by queueing a command and
reads the order back from the EA's acknowledgement.
"""
