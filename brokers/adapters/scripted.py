"""A venue that does what the test scripts: the retry paths, made to happen.

An in-memory venue behind the common interface (one book per account, in this
process) that fills market orders at the price a test sets, rests limits and
stops until the price crosses them, and, step by step, answers the next order
as scripted: a timeout before or after the venue took it, a rate limit, a
refusal, a partial fill. Tests register it under the venue code "scripted"
(`settings.BROKER_ADAPTERS`); it passes the adapter contract suite like every
venue. Never configured outside tests.

    book = ScriptedAdapter.book(account)
    book.price("BTCUSDT", Decimal(100))
    book.script("timeout-after", "fill")     # the next two orders
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any, ClassVar

from django.utils import timezone

from brokers.adapters.base import (
    AccountSnapshot,
    FillReport,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAdapter,
    VenueError,
)
from brokers.models import BrokerAccount, Order, OrderType
from brokers.positions import net

ZERO = Decimal(0)
# What the next order may be scripted to do.
STEPS = frozenset(
    {"fill", "partial", "reject", "timeout-before", "timeout-after", "rate-limited"}
)
_ids = itertools.count(1)


@dataclass
class ScriptedOrder:
    request: OrderRequest
    venue_order_id: str
    status: str = Order.Status.WORKING
    fills: list[FillReport] = field(default_factory=list)
    reject_reason: str = ""

    @property
    def filled(self) -> Decimal:
        return sum((fill.quantity for fill in self.fills), ZERO)

    def report(self) -> OrderReport:
        filled = self.filled
        avg = (
            sum((f.price * f.quantity for f in self.fills), ZERO) / filled
            if filled
            else None
        )
        return OrderReport(
            client_order_id=self.request.client_order_id,
            venue_order_id=self.venue_order_id,
            status=self.status,
            filled_quantity=filled,
            avg_fill_price=avg,
            reject_reason=self.reject_reason,
            fills=tuple(self.fills),
            symbol=self.request.symbol,
        )


@dataclass
class ScriptedBook:
    """One account at the scripted venue, and what its next orders will do."""

    balance: Decimal
    currency: str = "USD"
    prices: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    orders: dict[str, ScriptedOrder] = field(default_factory=dict)
    steps: deque[str] = field(default_factory=deque)
    calls: list[str] = field(default_factory=list)

    def held(self, symbol: str) -> Decimal:
        """The signed quantity the venue holds in `symbol`."""
        return self.positions.get(symbol, (ZERO, None))[0]

    def price(self, symbol: str, last: Decimal) -> None:
        """Set the market; resting orders it crosses fill."""
        self.prices[symbol] = last
        for order in self.orders.values():
            if order.status == Order.Status.WORKING and _crossed(order, last):
                self._fill(order, order.request.quantity - order.filled, last)

    def script(self, *steps: str) -> None:
        """What the next orders do, in order (then "fill" again)."""
        unknown = set(steps) - STEPS
        assert not unknown, f"unknown steps {unknown}: {sorted(STEPS)}"
        self.steps.extend(steps)

    def complete(self, client_order_id: str) -> None:
        """The venue fills the rest of a partly filled order (later, on its own)."""
        order = self.orders[client_order_id]
        price = self.prices[order.request.symbol]
        self._fill(order, order.request.quantity - order.filled, price)

    def _fill(self, order: ScriptedOrder, quantity: Decimal, price: Decimal) -> None:
        if quantity <= 0:
            return
        fill = FillReport(
            venue_fill_id=f"sf-{next(_ids)}",
            quantity=quantity,
            price=price,
            commission=ZERO,
            filled_at=timezone.now().astimezone(UTC),
        )
        order.fills.append(fill)
        held, avg = self.positions.get(order.request.symbol, (ZERO, None))
        netted = net(held, avg, order.request.side, quantity, price)
        self.balance += netted.realized_points  # point value 1: a test venue
        self.positions[order.request.symbol] = (netted.quantity, netted.avg_price)
        done = order.filled >= order.request.quantity
        order.status = Order.Status.FILLED if done else Order.Status.PARTIALLY_FILLED


def _crossed(order: ScriptedOrder, last: Decimal) -> bool:
    request = order.request
    level = request.limit_price if request.limit_price is not None else None
    buy = request.side == "buy"
    if request.order_type == OrderType.LIMIT and level is not None:
        return last <= level if buy else last >= level
    if request.order_type == OrderType.STOP and request.stop_price is not None:
        return last >= request.stop_price if buy else last <= request.stop_price
    return request.order_type == OrderType.MARKET


class ScriptedAdapter(VenueAdapter):
    venue = "scripted"
    BOOKS: ClassVar[dict[int, ScriptedBook]] = {}

    @classmethod
    def book(cls, account: BrokerAccount) -> ScriptedBook:
        try:
            return cls.BOOKS[account.pk]
        except KeyError:
            raise VenueError(
                "account-not-found", "This account is not open at the venue."
            ) from None

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        balance = Decimal(str(options.get("initial_balance", "100000")))
        cls.BOOKS[account.pk] = ScriptedBook(balance=balance, currency=account.currency)

    def _book_for(self, call: str) -> ScriptedBook:
        """The account's book, noting the call (tests assert what was asked)."""
        book = self.book(self.account)
        book.calls.append(call)
        return book

    def account_snapshot(self) -> AccountSnapshot:
        book = self._book_for("account_snapshot")
        open_pnl = sum(
            (
                (book.prices.get(symbol, avg or ZERO) - (avg or ZERO)) * quantity
                for symbol, (quantity, avg) in book.positions.items()
            ),
            ZERO,
        )
        return AccountSnapshot(book.balance, book.balance + open_pnl, book.currency)

    def positions(self) -> list[PositionReport]:
        return [
            PositionReport(symbol, quantity, avg)
            for symbol, (quantity, avg) in self._book_for("positions").positions.items()
            if quantity
        ]

    def working_orders(self) -> list[OrderReport]:
        working = (Order.Status.WORKING, Order.Status.PARTIALLY_FILLED)
        orders = self._book_for("working_orders").orders.values()
        return [order.report() for order in orders if order.status in working]

    def place_order(self, request: OrderRequest) -> OrderReport:
        book = self._book_for("place_order")
        known = book.orders.get(request.client_order_id)
        if known is not None:  # idempotent: the first order, not a second one
            return known.report()
        return self._place(
            book, request, book.steps.popleft() if book.steps else "fill"
        )

    def _place(
        self, book: ScriptedBook, request: OrderRequest, step: str
    ) -> OrderReport:
        if step == "timeout-before":
            raise VenueError("timeout", "The venue did not answer.", transient=True)
        if step == "rate-limited":
            raise VenueError("rate-limited", "Too many requests.", transient=True)
        order = ScriptedOrder(request, f"so-{next(_ids)}")
        book.orders[request.client_order_id] = order
        if step == "reject" or request.quantity <= 0:
            order.status = Order.Status.REJECTED
            order.reject_reason = "rejected: The venue refused the order."
            return order.report()
        price = book.prices.get(request.symbol)
        if price is None and request.order_type == OrderType.MARKET:
            order.status = Order.Status.REJECTED
            order.reject_reason = "no-price: The venue has no price for it."
            return order.report()
        if price is not None and request.quantity * price > book.balance * 100:
            order.status = Order.Status.REJECTED
            order.reject_reason = "insufficient-buying-power: The order is too large."
            return order.report()
        if price is not None and _crossed(order, price):
            part = request.quantity / 2 if step == "partial" else request.quantity
            book._fill(order, part, price)
        if step == "timeout-after":  # the venue took it; the answer was lost
            raise VenueError("timeout", "The venue did not answer.", transient=True)
        return order.report()

    def find_order(self, client_order_id: str) -> OrderReport | None:
        order = self._book_for("find_order").orders.get(client_order_id)
        return None if order is None else order.report()

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        for order in self._book_for("cancel_order").orders.values():
            if order.venue_order_id == venue_order_id:
                if order.status not in (
                    Order.Status.WORKING,
                    Order.Status.PARTIALLY_FILLED,
                ):
                    raise VenueError("not-working", "The order is no longer working.")
                order.status = Order.Status.CANCELLED
                return order.report()
        raise VenueError("order-not-found", f"No order {venue_order_id!r}.")

    def flatten(self) -> list[OrderReport]:
        book = self._book_for("flatten")
        for report in self.working_orders():
            self.cancel_order(report.venue_order_id)
        closing = []
        for position in self.positions():
            side = "sell" if position.quantity > 0 else "buy"
            request = OrderRequest(
                client_order_id=f"flatten-{next(_ids)}",
                symbol=position.symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(position.quantity),
            )
            # The scripted steps are for the trader's orders, not these.
            closing.append(self._place(book, request, "fill"))
        return closing
