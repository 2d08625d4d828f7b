"""What a venue that reports to us (rather than being asked) tells the layers above.

A venue whose state arrives on its own (MetaTrader's Expert Advisor posting
acknowledgements and heartbeats) sends `venue_reported` with the account's id;
the alert pipeline, which stands above brokers, connects to it and brings our
orders, executions and books up to date, and measures the account's rules.

    orders: an order's outcome arrived (an acknowledgement, an expiry)
    state:  balance, equity and positions arrived (a heartbeat)
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)
venue_reported = Signal()


def reported(account_id: int, *, orders: bool = True, state: bool = False) -> None:
    """Tell whoever listens; a listener's failure is logged, not raised (the
    beat's refresh and sync come back for the account)."""
    for _, result in venue_reported.send_robust(
        sender=None, account_id=account_id, orders=orders, state=state
    ):
        if isinstance(result, Exception):
            log.error("a report of account %s was not recorded: %r", account_id, result)
