"""The kill switch: the one action that reaches across strategies and accounts."""

from __future__ import annotations

import logging

from accounts.models import User
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from brokers.models import BrokerAccount
from risk.services import StopReport, account_emergency_close
from webhooks.strategies.services import strategies_stop

log = logging.getLogger(__name__)


def emergency_stop(*, user: User) -> StopReport:
    """Stop all trading: every strategy the user may trade is stopped, every
    account flattened (working orders cancelled) and made close-only.

    Idempotent: a second press finds nothing working and confirms close-only.
    Billing and plan limits never stand in its way.
    """
    workspaces = workspaces_for(user, Perm.TRADE)
    stopped = strategies_stop(workspaces=workspaces)
    accounts = BrokerAccount.objects.filter(workspace__in=workspaces, enabled=True)
    reports = [account_emergency_close(account=account) for account in accounts]
    log.warning("kill switch by user %s: %s accounts", user.pk, len(reports))
    return StopReport(
        accounts=len(reports),
        orders_cancelled=sum(r.orders_cancelled for r in reports),
        positions_closed=sum(r.positions_closed for r in reports),
        strategies_stopped=stopped,
        errors=[error for r in reports for error in r.errors],
    )
