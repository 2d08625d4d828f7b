"""How an execution ends, and what its signal's status says of all of them."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.selectors import billing_enabled
from billing.services import billing_record_trade
from brokers.models import Order
from common.realtime import SignalEvent, announce
from webhooks.models import Execution, Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """Why a leg was not sent: `risk:<rule>` or `trial-expired`, and a sentence."""

    code: str
    detail: str


def signal_refresh(*, signal_id: int) -> Signal | None:
    """Set the signal's status from its executions' outcomes."""
    event = signal_settle(signal_id=signal_id)
    signal = Signal.objects.filter(pk=signal_id).first()
    if event is not None and signal is not None and signal.workspace_id:
        announce(signal.workspace_id, event)
    return signal


def signal_settle(*, signal_id: int) -> SignalEvent | None:
    """`signal_refresh` without reading the row back: the news, when the
    status changed (a guarded update: only a signal still in progress moves)."""
    rows = list(
        Execution.objects.filter(signal_id=signal_id).values_list(
            "status", "error_code", "error_message"
        )
    )
    if not rows:
        return None
    status, code, message = _signal_outcome(rows)
    final = status in Signal.FINAL
    updated = Signal.objects.filter(
        pk=signal_id,
        status__in=[
            Signal.Status.EXECUTING,
            Signal.Status.AWAITING,
            Signal.Status.WORKING,
        ],
    ).update(
        status=status,
        error_code=code,
        error_message=message[:500],
        finished_at=timezone.now() if final else None,
    )
    if not updated:
        return None
    return SignalEvent(
        type="signal.update", signal_id=signal_id, status=status, error_code=code
    )


def _signal_outcome(rows: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """(status, code, message) of a signal whose executions ended as `rows`."""
    statuses = {status for status, _, _ in rows}
    failed = {Execution.Status.REJECTED, Execution.Status.FAILED}
    if statuses & {Execution.Status.PENDING, Execution.Status.EXECUTING}:
        return Signal.Status.EXECUTING, "", ""
    if Execution.Status.AWAITING in statuses:
        return Signal.Status.AWAITING, "", ""
    if statuses <= failed | {Execution.Status.SKIPPED}:
        # Nothing executed: the first failure (or skip) is the signal's reason, and
        # its word is the accounts' word: every one refused it -> Rejected.
        _, code, message = next((row for row in rows if row[0] in failed), rows[0])
        refused = Execution.Status.FAILED not in statuses and (
            Execution.Status.REJECTED in statuses
        )
        return (
            (Signal.Status.REJECTED if refused else Signal.Status.FAILED),
            code,
            message,
        )
    if statuses & failed:
        # A skipped account (subscription off, side not allowed) is not a failure.
        count = sum(status in failed for status, _, _ in rows)
        return (
            Signal.Status.PARTIAL,
            "partial",
            f"{count} of {len(rows)} accounts failed.",
        )
    if Execution.Status.WORKING in statuses:
        _, code, message = next(
            (row for row in rows if row[0] == Execution.Status.WORKING and row[1]),
            ("", "", ""),
        )
        return Signal.Status.WORKING, code, message
    if Execution.Status.FILLED in statuses:
        return Signal.Status.FILLED, "", ""
    return Signal.Status.DONE, "", ""


def finish_from_orders(
    execution: Execution,
    orders: list[Order],
    refusal: Refusal | None,
    current: str = Execution.Status.EXECUTING,
) -> None:
    """End the execution as its orders stand at the venue."""
    statuses = {order.status for order in orders}
    rejected = next((o for o in orders if o.status == Order.Status.REJECTED), None)
    code = message = ""
    if rejected is not None:
        reason, _, detail = rejected.reject_reason.partition(": ")
        code, message = f"venue:{reason}", detail or reason
    elif refusal is not None:
        code, message = refusal.code, refusal.detail
    if statuses <= {Order.Status.REJECTED, Order.Status.CANCELLED}:
        status = Execution.Status.REJECTED
        if not code:  # every order ended at the venue unfilled, none refused
            code, message = (
                "venue:cancelled",
                "The venue cancelled the order unfilled (immediate-or-cancel, "
                "fill-or-kill, or its time in force ended).",
            )
    elif statuses & {
        Order.Status.WORKING,
        Order.Status.PENDING,
        Order.Status.PARTIALLY_FILLED,
    }:
        status = Execution.Status.WORKING
        # A venue's word on an order still waiting (an Expert Advisor offline:
        # "ea-offline: ... waits 60 s for it") is the execution's note meanwhile.
        noted = next(
            (o for o in orders if o.status not in Order.FINAL and o.reject_reason),
            None,
        )
        if noted is not None and not code:
            reason, _, detail = noted.reject_reason.partition(": ")
            code, message = f"venue:{reason}", detail or reason
    else:
        status = Execution.Status.FILLED
    execution_finish(execution, status, code, message, current=current)


def execution_finish(
    execution: Execution,
    status: str,
    code: str = "",
    message: str = "",
    current: str = Execution.Status.EXECUTING,
) -> None:
    """Record the outcome once: only the claim holder's first finish counts.
    A fill counts one trade against the workspace's plan."""
    if status == current:
        return
    now = timezone.now()
    # With billing on, one transaction with the count: a trial's judge
    # (billing.entry_allowance) sees this execution in flight or counted, never
    # neither. Off, nothing runs out: no BEGIN/COMMIT on every fill.
    counted = status == Execution.Status.FILLED and billing_enabled()
    with transaction.atomic(savepoint=False) if counted else nullcontext():
        updated = Execution.objects.filter(pk=execution.pk, status=current).update(
            status=status,
            error_code=code,
            error_message=message[:500],
            started_at=execution.started_at,
            sent_at=execution.sent_at,
            acknowledged_at=execution.acknowledged_at,
            filled_at=execution.filled_at,
            finished_at=None if status == Execution.Status.WORKING else now,
        )
        if updated and status == Execution.Status.FILLED:
            billing_record_trade(workspace_id=execution.workspace_id)
    execution.status, execution.error_code = status, code
    execution.error_message = message[:500]
    if not updated:
        return
    log.info("execution %s: %s %s", execution.pk, status, code)
    announce(
        execution.workspace_id,
        {
            "type": "execution.update",
            "signal_id": execution.signal_id,
            "account_id": execution.account_id,
            "status": status,
            "error_code": code,
        },
    )
