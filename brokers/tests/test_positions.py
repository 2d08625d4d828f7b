"""Netting arithmetic, checked against cash flows over random fill sequences."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from brokers.positions import net

fills = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(min_value=1, max_value=20).map(Decimal),
        st.integers(min_value=1, max_value=50_000).map(lambda n: Decimal(n) / 4),
    ),
    max_size=40,
)


@given(fills)
def test_quantity_is_the_signed_sum_and_realized_plus_open_equals_cash_flow(sequence):
    quantity, avg, realized, cash = Decimal(0), None, Decimal(0), Decimal(0)
    for side, qty, price in sequence:
        result = net(quantity, avg, side, qty, price)
        quantity, avg = result.quantity, result.avg_price
        realized += result.realized_points
        cash += -qty * price if side == "buy" else qty * price
    assert quantity == sum((q if s == "buy" else -q) for s, q, _ in sequence)
    assert (avg is None) == (quantity == 0)
    # Marking the open position at its average price leaves only realized P&L.
    open_value = quantity * (avg or 0)
    assert abs(cash + open_value - realized) < Decimal("1e-9")


def test_a_fill_that_crosses_zero_opens_the_rest_at_the_fill_price():
    result = net(Decimal(2), Decimal(100), "sell", Decimal(5), Decimal(110))
    assert (
        result.quantity,
        result.avg_price,
        result.closed_quantity,
        result.realized_points,
    ) == (Decimal(-3), Decimal(110), Decimal(2), Decimal(20))


def test_adding_to_a_short_keeps_a_weighted_average():
    result = net(Decimal(-1), Decimal(100), "sell", Decimal(3), Decimal(104))
    assert (result.quantity, result.avg_price) == (Decimal(-4), Decimal(103))
