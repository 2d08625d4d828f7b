"""Around executions: approval decisions, the sweeper that re-enqueues what a
lost message or a dead worker left behind, and orders still working at a venue."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from brokers.adapters.registry import get_adapter
from brokers.models import Order
from brokers.services import order_apply_report
from common.locks import advisory_lock_free
from webhooks.execution.enqueue import execution_enqueue
from webhooks.execution.outcome import finish_from_orders, signal_refresh
from webhooks.models import Execution, Signal

log = logging.getLogger(__name__)
ZERO = Decimal(0)


def execution_decide(*, execution: Execution, user: User, approve: bool) -> bool:
    """Approve (run it) or reject a signal waiting on a strategy in approval mode."""
    waiting = Execution.objects.filter(
        pk=execution.pk, status=Execution.Status.AWAITING
    )
    if approve:
        done = waiting.update(status=Execution.Status.PENDING, decided_by=user)
        if done:
            execution_enqueue(execution.pk)
    else:
        done = waiting.update(
            status=Execution.Status.SKIPPED,
            error_code="rejected-by-trader",
            error_message=f"Rejected by {user.email}.",
            decided_by=user,
            finished_at=timezone.now(),
        )
    if done:
        signal_refresh(signal_id=execution.signal_id)
    return bool(done)


def signals_sweep(
    *, older_than: timedelta | None = None
) -> tuple[list[int], list[int]]:
    """Signals and executions a lost message or a dead worker left behind.

    Returns (signal ids, execution ids) to enqueue again; expires approvals nobody
    gave in time and forgets explicit-id dedupe marks past their window.
    """
    now = timezone.now()
    if older_than is None:  # not `or`: timedelta(0) (sweep everything) is falsy
        older_than = timedelta(seconds=settings.SIGNAL_STUCK_SECONDS)
    cutoff = now - older_than
    signals = list(
        Signal.objects.filter(
            Q(status=Signal.Status.QUEUED, queued_at__lt=cutoff)
            | Q(status=Signal.Status.EXECUTING, started_at__lt=cutoff)
        ).values_list("pk", flat=True)[:500]
    )
    executions = list(
        Execution.objects.filter(
            status=Execution.Status.PENDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    # An execution claimed by a live worker holds its account's lock.
    for pk, account_id in Execution.objects.filter(
        status=Execution.Status.EXECUTING, started_at__lt=now - timedelta(seconds=2)
    ).values_list("pk", "account_id")[:500]:
        if advisory_lock_free("account", account_id):
            executions.append(pk)
    _approvals_expire(now)
    Signal.objects.filter(
        dedupe_key__isnull=False,
        received_at__lt=now - timedelta(hours=settings.WEBHOOK_ID_DEDUPE_HOURS),
    ).update(dedupe_key=None)
    return signals, executions


def _approvals_expire(now: Any) -> None:
    limit = now - timedelta(minutes=settings.SIGNAL_APPROVAL_MINUTES)
    expired = list(
        Execution.objects.filter(
            status=Execution.Status.AWAITING, created_at__lt=limit
        ).values_list("pk", "signal_id")
    )
    for pk, signal_id in expired:
        Execution.objects.filter(pk=pk, status=Execution.Status.AWAITING).update(
            status=Execution.Status.SKIPPED,
            error_code="approval-expired",
            error_message=f"Nobody approved it within "
            f"{settings.SIGNAL_APPROVAL_MINUTES} minutes.",
            finished_at=now,
        )
        signal_refresh(signal_id=signal_id)


def executions_refresh(*, limit: int = 200, account_id: int | None = None) -> int:
    """Executions whose orders still work at the venue: record what happened since
    (a limit filled, a day order expired) and finish them; only one account's when
    `account_id` says (a venue stream's event). Returns how many moved."""
    moved = 0
    working = Execution.objects.filter(status=Execution.Status.WORKING).select_related(
        "account", "signal"
    )
    if account_id is not None:
        working = working.filter(account_id=account_id)
    for execution in working.order_by("pk")[:limit]:
        adapter = get_adapter(execution.account)
        orders = list(execution.orders.order_by("client_order_id"))
        changed = False
        for index, order in enumerate(orders):
            if order.status in Order.FINAL:
                continue
            report = adapter.find_order(order.client_order_id)
            if report is not None and (
                report.status != order.status
                or report.filled_quantity != order.filled_quantity
            ):
                orders[index] = order_apply_report(order=order, report=report)
                changed = True
        if not changed:
            continue
        fills = [order.filled_at for order in orders if order.filled_at]
        execution.filled_at = max(fills) if fills else None
        finish_from_orders(execution, orders, None, current=Execution.Status.WORKING)
        signal_refresh(signal_id=execution.signal_id)
        moved += execution.status != Execution.Status.WORKING
    return moved
