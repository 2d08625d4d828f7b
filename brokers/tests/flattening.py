"""What each venue's flatten test shares: a position opened through our books
(as an execution opens one), then the one flatten, and what our books recorded.
A helper for tests, not a test module."""

from __future__ import annotations

from decimal import Decimal

from brokers.adapters.base import OrderRequest
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount, Fill, Order, OrderType, Position
from brokers.performance import RoundTrip, closed_trades
from brokers.services import (
    account_flatten,
    order_apply_report,
    order_place,
    order_record_intent,
    order_record_venue,
)


def open_long(
    account: BrokerAccount, symbol: str, quantity: Decimal, price: Decimal
) -> Order:
    """Buy at market as an execution does: the intent, the venue, the report."""
    request = OrderRequest(
        client_order_id=f"tf-900-{account.pk}-0",
        symbol=symbol,
        side="buy",
        order_type=OrderType.MARKET,
        quantity=quantity,
        reference_price=price,
    )
    order = order_record_intent(account=account, request=request)
    report = order_place(adapter=get_adapter(account), request=request)
    return order_apply_report(order=order, report=report)


def flatten_recorded(account: BrokerAccount, symbol: str) -> RoundTrip:
    """Flatten the account; assert its close is one sell Fill row, recorded once
    however often the flatten or its report comes again; the round trip."""
    done = account_flatten(account=account)
    assert done.positions_closed == 1
    sides = list(Fill.objects.filter(account=account).values_list("side", flat=True))
    assert sorted(sides) == ["buy", "sell"], sides
    assert account_flatten(account=account).closing == []  # nothing left to close
    order_record_venue(account=account, report=done.closing[0], side="sell")
    assert Fill.objects.filter(account=account).count() == 2
    held = Position.objects.get(account=account, symbol=symbol)
    assert held.quantity == 0  # the close netted once, not twice
    (trip,) = closed_trades(accounts=[account.pk])
    close = Fill.objects.get(account=account, side="sell")
    assert (trip.id, trip.side, trip.exit_price) == (close.pk, "long", close.price)
    return trip
