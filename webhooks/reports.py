"""A venue's own reports (brokers.signals.venue_reported) recorded as a stream's
events are: our working orders and executions first, then balance, equity and
positions, then the account's rules measured on what was just reported."""

from __future__ import annotations

import logging
from typing import Any

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.services import account_sync
from common.realtime import AccountEvent, announce
from risk.monitor import risk_monitor
from webhooks.execution.supervision import executions_refresh

log = logging.getLogger(__name__)


def venue_report_record(
    *, account_id: int, orders: bool, state: bool, **_: Any
) -> None:
    if orders:
        executions_refresh(account_id=account_id)
    if not state:
        return
    account = BrokerAccount.objects.filter(pk=account_id).first()
    if account is None:
        return
    try:
        account_sync(account=account)
    except VenueError as exc:
        log.warning("account %s not mirrored: %s", account_id, exc)
        return
    updates: list[tuple[int, AccountEvent]] = []
    risk_monitor(account=account, updates=updates)
    for workspace_id, update in updates:
        announce(workspace_id, update)
