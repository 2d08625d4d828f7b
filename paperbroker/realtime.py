"""Seed 003's realtime messages, and the account changes that announce themselves.

Every change a trader can cause (an order placed or filled, a cancel, a flatten, a
reset) is followed by `paper_order_update` / `paper_fill_update` /
`paper_account_update` on the workspace's group, sent after commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from rest_framework.utils.encoders import JSONEncoder

from common.realtime import (
    PaperAccountEvent,
    PaperFillEvent,
    PaperOrderEvent,
    announce,
)
from paperbroker.models import PaperAccount, PaperOrder
from paperbroker.payloads import FillOut, OrderOut, account_body
from paperbroker.selectors import working_orders_for_account
from paperbroker.services import (
    paper_account_flatten,
    paper_account_reset,
    paper_order_cancel,
)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Decimals and datetimes as JSON numbers and strings, as the API renders them."""
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain


def notify(
    account: PaperAccount,
    orders: Iterable[PaperOrder],
    *,
    account_changed: bool,
    fresh: bool = False,
) -> None:
    """Seed 003's realtime messages on the workspace group, sent after commit.

    `fresh`: `account` is the copy the services locked and changed, not an older one.
    """
    broker_account = account.broker_account
    workspace_id = broker_account.workspace_id
    for order in orders:
        order.account = account
        body = _plain(dict(OrderOut(order).data))
        announce(workspace_id, PaperOrderEvent(type="paper_order_update", data=body))
        for fill in order.fills.all():
            fill.order, fill.account = order, account
            data = _plain(dict(FillOut(fill).data))
            announce(workspace_id, PaperFillEvent(type="paper_fill_update", data=data))
    if account_changed:
        if not fresh:
            account.refresh_from_db()  # the services changed their own locked copy
            account.broker_account = broker_account
        data = _plain(account_body(account))
        announce(
            workspace_id, PaperAccountEvent(type="paper_account_update", data=data)
        )


# The API and the pages change accounts through these: the service, then the news.


def reset_and_notify(*, account: PaperAccount) -> PaperAccount:
    account = paper_account_reset(account=account)
    notify(account, [], account_changed=True)
    return account


@transaction.atomic
def flatten_and_notify(*, account: PaperAccount) -> list[PaperOrder]:
    """Flatten; announce the cancelled working orders and the closing orders."""
    # Lock first, as the order services do, so no evaluation fills what we cancel.
    PaperAccount.objects.select_for_update().filter(pk=account.pk).first()
    working = list(working_orders_for_account(account))
    closing = paper_account_flatten(account=account)
    for order in working:
        order.refresh_from_db()
    notify(account, working + closing, account_changed=True)
    return closing


def cancel_and_notify(*, account: PaperAccount, order_id: int) -> PaperOrder:
    """Raises VenueError when the order is no longer working."""
    order = paper_order_cancel(account=account, order_id=order_id)
    notify(account, [order], account_changed=False)
    return order


def notify_orders(orders: Iterable[PaperOrder]) -> None:
    """Announce orders that a price changed (fills, triggers, expiries)."""
    by_account: dict[int, list[PaperOrder]] = {}
    for order in orders:
        by_account.setdefault(order.account_id, []).append(order)
    for account in PaperAccount.objects.filter(pk__in=by_account).select_related(
        "broker_account"
    ):
        notify(account, by_account[account.pk], account_changed=True)
