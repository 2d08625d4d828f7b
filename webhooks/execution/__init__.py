"""Execution: a queued signal fanned out to its accounts, each executed once.

fanout      signal -> one Execution per target account (the worker's first task)
run         one Execution on one account: plan, judge, record, send, finish
planning    pure: from a signal and a position to the orders to send
outcome     an execution's end and its signal's status
claims      who may work on a row now (session locks, guarded updates)
submit      orders from the API through the same pipeline, and the wait
supervision approvals, the sweeper, orders still working at a venue
"""
