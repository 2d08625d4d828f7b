"""Our reports of TradeLocker's orders: its rows and executions read as `OrderReport`s.

The values of its rows are strings: `dec` reads a number (none as 0) and `when`
a time in epoch milliseconds (none as now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from brokers.adapters.base import FillReport, OrderReport
from brokers.models import Order

from .mapping import OrderStatus

ZERO = Decimal(0)

STATUSES = {
    OrderStatus.NEW: Order.Status.PENDING,
    OrderStatus.ACCEPTED: Order.Status.WORKING,
    OrderStatus.PARTIALLY_FILLED: Order.Status.PARTIALLY_FILLED,
    OrderStatus.FILLED: Order.Status.FILLED,
    OrderStatus.CANCELLED: Order.Status.CANCELLED,
    OrderStatus.REMOVED: Order.Status.CANCELLED,
    OrderStatus.REFUSED: Order.Status.REJECTED,
    OrderStatus.UNPLACED: Order.Status.REJECTED,
}


def order_report(
    row: dict[str, Any],
    executions: list[dict[str, Any]],
    symbols: dict[int, str],
    *,
    cid: str = "",
) -> OrderReport:
    """An order row with its fills (the executions of that order id); its client
    order id is `cid`, else the row's strategyId."""
    order_id = str(row["id"])
    fills = tuple(
        FillReport(
            venue_fill_id=f"{order_id}:{execution['id']}",
            quantity=dec(execution["qty"]),
            price=dec(execution["price"]),
            commission=ZERO,  # TradeLocker books fees apart (todayFees)
            filled_at=when(execution.get("createdDate")),
        )
        for execution in executions
        if str(execution.get("orderId")) == order_id
    )
    status = _status(row.get("status"))
    filled = sum((fill.quantity for fill in fills), ZERO)
    if status == Order.Status.WORKING and filled:
        status = Order.Status.PARTIALLY_FILLED
    cost = sum((fill.price * fill.quantity for fill in fills), ZERO)
    tag = str(row.get("strategyId") or "")
    return OrderReport(
        client_order_id=cid or tag,
        venue_order_id=order_id,
        status=status,
        filled_quantity=filled,
        avg_fill_price=cost / filled if filled else None,
        reject_reason=(
            f"venue-refused: TradeLocker {row.get('status')} the order."
            if status == Order.Status.REJECTED
            else ""
        ),
        fills=fills,
        symbol=symbols.get(int(row["tradableInstrumentId"]), ""),
    )


def _status(value: object) -> str:
    try:
        return STATUSES.get(OrderStatus(str(value)), Order.Status.PENDING)
    except ValueError:
        return Order.Status.PENDING


def dec(value: object) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def when(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return timezone.now()
