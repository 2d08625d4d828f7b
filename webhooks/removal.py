"""Removing a broker account (seed 004's `DELETE /accounts/{id}`).

Never while it holds money at risk: an open position or a working order, at the
venue or in our books, refuses the removal (close them first: nothing is left
unwatched at a venue). Then it is deleted, or disabled where deleting would
erase history: Order, Fill, Execution and Violation rows (and the paper venue's
trades) cascade from the account's row, so an account that ever traded keeps
its row, disabled and marked removed (`removed_at`: gone from every list,
quota and route; its history stays readable), with its login forgotten, its
keys revoked and its strategies and groups left. One that never traded is
deleted with everything hanging off it (its first key, its risk config, its
paper record).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount, Order, Position
from common.locks import advisory_lock
from risk.models import Violation
from webhooks.models import ApiKey, Execution, Subscription

log = logging.getLogger(__name__)
DELETED, DISABLED = "deleted", "disabled"


class AccountNotFlat(Exception):  # noqa: N818 - a refusal with its sentence
    code = "account-has-positions"

    def __init__(self, positions: int, orders: int) -> None:
        self.message = (
            f"The account holds {positions} open position(s) and {orders} working "
            "order(s): close them first (terminating the account flattens it), "
            "then remove it."
        )
        super().__init__(self.message)


class AccountBusy(Exception):  # noqa: N818 - a refusal with its sentence
    code = "account-busy"
    message = "An order is being sent on this account: try again in a moment."


@dataclass(frozen=True)
class _Open:
    positions: int
    orders: int


def account_remove(*, account: BrokerAccount) -> str:
    """Delete or disable the account (DELETED / DISABLED, see the module).

    Holds the account's execution lock throughout, so no order is placed on it
    between the check and the removal. Raises AccountNotFlat while anything is
    open, AccountBusy when an execution holds the account, and a transient
    VenueError when the venue cannot be asked (then nothing changes)."""
    wait = settings.EXECUTION_ACCOUNT_WAIT_SECONDS
    with advisory_lock("account", account.pk, wait=wait) as held:
        if not held.acquired:
            raise AccountBusy
        found = _open(account)
        if found.positions or found.orders:
            raise AccountNotFlat(found.positions, found.orders)
        if _has_history(account):
            _disable(account)
            log.info("account %s disabled, its history kept", account.pk)
            return DISABLED
        log.info("account %s deleted", account.pk)
        account.delete()
    return DELETED


def _open(account: BrokerAccount) -> _Open:
    """What is open, by the venue's word and by ours, whichever says more. A
    venue that refuses the stored login (no way to trade it from here either)
    leaves our books to decide."""
    positions = Position.objects.filter(account=account).exclude(quantity=0).count()
    orders = (
        Order.objects.filter(account=account).exclude(status__in=Order.FINAL).count()
    )
    try:
        adapter = get_adapter(account)
        at_venue = sum(1 for p in adapter.positions() if p.quantity)
        working = len(adapter.working_orders())
    except VenueError as exc:
        if exc.transient:
            raise
        log.info("account %s: venue not asked (%s); our books decide", account.pk, exc)
        return _Open(positions, orders)
    return _Open(max(positions, at_venue), max(orders, working))


def _has_history(account: BrokerAccount) -> bool:
    return (
        Order.objects.filter(account=account).exists()
        or Execution.objects.filter(account=account).exists()
        or Violation.objects.filter(account=account).exists()
    )


@transaction.atomic
def _disable(account: BrokerAccount) -> None:
    """Kept for its history, never traded again: disabled, its login forgotten,
    its keys revoked, out of its strategies and groups, and removed (gone from
    `BrokerAccount.objects`: every list, quota, sync and route of the trader's)."""
    now = timezone.now()
    if not BrokerAccount.objects.filter(pk=account.pk).update(
        enabled=False, credentials="", removed_at=now
    ):
        return  # another request removed it meanwhile
    account.enabled, account.credentials, account.removed_at = False, "", now
    ApiKey.objects.filter(account=account, revoked_at__isnull=True).update(
        revoked_at=now
    )
    Subscription.objects.filter(account=account).delete()
    account.account_groups.clear()
