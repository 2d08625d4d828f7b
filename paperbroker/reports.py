"""A paper order as the common adapter interface reports it: the one spelling
of its venue order id (`po-<pk>`) and fill ids (`pf-<pk>`), which our books
record fills by, exactly once."""

from __future__ import annotations

from brokers.adapters.base import FillReport, OrderReport
from brokers.models import Order
from paperbroker.models import PaperOrder

_STATUS = {
    PaperOrder.Status.WORKING: Order.Status.WORKING,
    PaperOrder.Status.FILLED: Order.Status.FILLED,
    PaperOrder.Status.CANCELLED: Order.Status.CANCELLED,
    PaperOrder.Status.EXPIRED: Order.Status.CANCELLED,
    PaperOrder.Status.REJECTED: Order.Status.REJECTED,
}


def order_report(order: PaperOrder) -> OrderReport:
    fills = tuple(
        FillReport(
            venue_fill_id=f"pf-{fill.pk}",
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission + fill.fees,
            filled_at=fill.filled_at,
        )
        for fill in sorted(order.fills.all(), key=lambda fill: fill.pk)
    )
    reason = order.reject_reason or ("expired" if order.status == "expired" else "")
    return OrderReport(
        client_order_id=order.client_order_id,
        venue_order_id=f"po-{order.pk}",
        status=_STATUS[PaperOrder.Status(order.status)],
        filled_quantity=order.filled_quantity,
        avg_fill_price=order.avg_fill_price,
        reject_reason=reason,
        fills=fills,
        symbol=order.symbol,
    )
