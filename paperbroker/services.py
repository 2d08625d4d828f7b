"""The paper venue's writes: open accounts, record prices, place and fill orders.

This is the walking-skeleton fill model: market orders fill in full at the alert's
price or the last known quote. Working orders, sessions, slippage and fees widen it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import OrderRequest, VenueError
from brokers.models import BrokerAccount, OrderType
from brokers.positions import net
from paperbroker.models import PaperAccount, PaperFill, PaperOrder, PaperPosition, Quote


def paper_account_open(
    *, broker_account: BrokerAccount, initial_balance: Decimal, currency: str
) -> PaperAccount:
    if initial_balance <= 0:
        raise VenueError(
            "invalid-balance", "The initial balance must be greater than zero."
        )
    account, _ = PaperAccount.objects.get_or_create(
        broker_account=broker_account,
        defaults={
            "initial_balance": initial_balance,
            "cash_balance": initial_balance,
            "currency": currency.upper(),
        },
    )
    return account


def quote_record(*, symbol: str, last: Decimal, source: str) -> Quote:
    quote, _ = Quote.objects.update_or_create(
        symbol=symbol,
        defaults={"last": last, "source": source, "updated_at": timezone.now()},
    )
    return quote


def last_price(symbol: str) -> Decimal | None:
    return Quote.objects.filter(symbol=symbol).values_list("last", flat=True).first()


@transaction.atomic
def paper_order_place(*, account: PaperAccount, request: OrderRequest) -> PaperOrder:
    """Place an order once per client order id; a repeat returns the first order.

    The account row is locked so that orders on one account are applied in turn.
    """
    PaperAccount.objects.select_for_update().filter(pk=account.pk).first()
    existing = PaperOrder.objects.filter(
        account=account, client_order_id=request.client_order_id
    ).first()
    if existing is not None:
        return existing
    order = PaperOrder(
        account=account,
        client_order_id=request.client_order_id,
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        quantity=request.quantity,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
    )
    if request.reference_price is not None and request.reference_price > 0:
        quote_record(
            symbol=request.symbol,
            last=request.reference_price,
            source=Quote.Source.ALERT,
        )
    reason = _reject_reason(request)
    if reason:
        order.status, order.reject_reason = PaperOrder.Status.REJECTED, reason
        order.save()
        return order
    price = last_price(request.symbol)
    if price is None:
        order.status = PaperOrder.Status.REJECTED
        order.reject_reason = (
            f"no-price: no price is known for {request.symbol}; "
            "send the price in the alert."
        )
        order.save()
        return order
    order.save()
    _fill(order, request.quantity, price)
    return order


def _reject_reason(request: OrderRequest) -> str:
    if request.quantity <= 0:
        return "invalid-size: the quantity must be greater than zero."
    if request.order_type != OrderType.MARKET:
        return (
            "unsupported-order-type: the paper venue fills market orders, "
            f"not {request.order_type}."
        )
    return ""


def _fill(order: PaperOrder, quantity: Decimal, price: Decimal) -> PaperFill:
    now = timezone.now()
    fill = PaperFill.objects.create(
        order=order,
        account=order.account,
        symbol=order.symbol,
        side=order.side,
        quantity=quantity,
        price=price,
        filled_at=now,
    )
    position, _ = PaperPosition.objects.select_for_update().get_or_create(
        account=order.account, symbol=order.symbol
    )
    netted = net(position.quantity, position.avg_price, order.side, quantity, price)
    position.quantity, position.avg_price, position.updated_at = (
        netted.quantity,
        netted.avg_price,
        now,
    )
    position.save()
    order.status = PaperOrder.Status.FILLED
    order.filled_quantity, order.avg_fill_price, order.filled_at = quantity, price, now
    order.save()
    return fill


def paper_order_cancel(*, account: PaperAccount, order_id: int) -> PaperOrder:
    order = PaperOrder.objects.filter(account=account, pk=order_id).first()
    if order is None:
        raise VenueError("order-not-found", f"Order {order_id} does not exist.")
    PaperOrder.objects.filter(pk=order.pk, status=PaperOrder.Status.WORKING).update(
        status=PaperOrder.Status.CANCELLED
    )
    order.refresh_from_db()
    return order


def paper_account_flatten(*, account: PaperAccount) -> list[PaperOrder]:
    """Cancel working orders and close every open position at the last price."""
    PaperOrder.objects.filter(account=account, status=PaperOrder.Status.WORKING).update(
        status=PaperOrder.Status.CANCELLED
    )
    orders = []
    for position in PaperPosition.objects.filter(account=account).exclude(quantity=0):
        side = "sell" if position.quantity > 0 else "buy"
        stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
        request = OrderRequest(
            client_order_id=f"flatten-{position.symbol}-{stamp}"[:64],
            symbol=position.symbol,
            side=side,
            order_type=OrderType.MARKET,
            quantity=abs(position.quantity),
        )
        orders.append(paper_order_place(account=account, request=request))
    return orders
