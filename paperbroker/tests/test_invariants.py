"""Accounting invariants over random order and price sequences (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokers.adapters.base import OrderRequest
from paperbroker.accounting import account_state
from paperbroker.fillmodel import book_from_last
from paperbroker.models import (
    PaperAccount,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperTrade,
)
from paperbroker.services import paper_account_reset, paper_order_place, price_update

TICK = Decimal("0.01")
_ids = count(1)

prices = st.integers(min_value=9_000, max_value=11_000).map(lambda n: Decimal(n) / 100)
quantities = st.integers(min_value=1, max_value=5).map(Decimal)
offsets = st.integers(min_value=-300, max_value=300).map(lambda n: Decimal(n) / 100)
steps = st.one_of(
    st.tuples(st.just("price"), prices),
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), quantities),
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), quantities, offsets),
    st.tuples(
        st.just("bracket"),
        st.sampled_from(["buy", "sell"]),
        quantities,
        st.integers(1, 300),
    ),
)


def _place(paper: PaperAccount, last: Decimal, step: tuple) -> None:
    kind, side, qty = step[0], step[1], step[2]
    extra: dict = {}
    if kind == "limit":
        extra = {
            "order_type": "limit",
            "limit_price": max(last + step[3], TICK),
            "time_in_force": "GTC",
        }
    elif kind == "bracket":
        distance = Decimal(step[3]) / 100
        low, high = last - distance * 2, last + distance * 2
        stop_loss, take_profit = (low, high) if side == "buy" else (high, low)
        extra = {
            "order_type": "market",
            "stop_loss": stop_loss,
            "take_profit": take_profit,
        }
    request = OrderRequest(
        client_order_id=f"h-{next(_ids)}",
        symbol="BTCUSDT",
        side=side,
        order_type=extra.pop("order_type", "market"),
        quantity=qty,
        **extra,
    )
    paper_order_place(account=paper, request=request)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=prices, sequence=st.lists(steps, min_size=1, max_size=25))
def test_the_books_always_balance(world, start, sequence):
    paper = paper_account_reset(
        account=PaperAccount.objects.get(broker_account=world.account)
    )
    price_update(symbol="BTCUSDT", last=start, source="manual")
    last, traded_low, traded_high = start, start, start
    for step in sequence:
        if step[0] == "price":
            last = step[1]
            price_update(symbol="BTCUSDT", last=last, source="manual")
        else:
            _place(paper, last, step)
        book = book_from_last(last, TICK)
        traded_low, traded_high = min(traded_low, book.bid), max(traded_high, book.ask)
    paper.refresh_from_db()
    trades = PaperTrade.objects.filter(account=paper)
    gross = sum((t.gross_pnl for t in trades), Decimal(0))
    # Cash is the start plus realized gross P&L less every cost paid.
    assert paper.cash_balance == paper.initial_balance + gross - paper.commissions_paid
    # Realized P&L is exactly the sum of closed round trips.
    assert paper.realized_pnl == sum((t.pnl for t in trades), Decimal(0))
    # Equity is cash plus open P&L at the last price.
    state = account_state(paper)
    open_pnl = sum(
        (
            (last - p.avg_price) * p.quantity
            for p in PaperPosition.objects.filter(account=paper).exclude(quantity=0)
        ),
        Decimal(0),
    )
    assert state.equity == paper.cash_balance + open_pnl.quantize(Decimal("0.01"))
    # No fill at a price the market did not show.
    for fill in PaperFill.objects.filter(account=paper):
        assert traded_low <= fill.price <= traded_high
    # The position is the signed sum of the fills.
    signed = sum(
        (
            f.quantity if f.side == "buy" else -f.quantity
            for f in PaperFill.objects.filter(account=paper)
        ),
        Decimal(0),
    )
    assert signed == (
        PaperPosition.objects.filter(account=paper)
        .values_list("quantity", flat=True)
        .first()
        or 0
    )
    # Brackets never fill both sides.
    for parent in PaperOrder.objects.filter(account=paper, parent__isnull=True):
        assert parent.children.filter(status=PaperOrder.Status.FILLED).count() <= 1
