"""The fill model never fills at a price the market did not trade."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from paperbroker.fillmodel import (
    Slippage,
    book_from_last,
    limit_fill_price,
    market_price,
    on_tick,
    stop_touched,
    trail_anchor,
    trail_stop_level,
)

TICK = Decimal("0.25")
ticks = st.integers(min_value=4_000, max_value=100_000).map(lambda n: Decimal(n) * TICK)
sides = st.sampled_from(["buy", "sell"])


@given(ticks, ticks, sides)
def test_a_limit_fills_only_when_crossed_and_never_worse_than_its_price(
    last, limit, side
):
    book = book_from_last(last, TICK)
    price = limit_fill_price(side, limit, book)
    if side == "buy":
        assert (price is not None) == (book.ask <= limit)
        assert price is None or (price <= limit and price == book.ask)
    else:
        assert (price is not None) == (book.bid >= limit)
        assert price is None or (price >= limit and price == book.bid)


@given(
    ticks, sides, st.integers(min_value=1, max_value=50).map(Decimal), st.integers(0, 3)
)
def test_a_market_order_pays_the_spread_and_the_slippage_on_tick(
    last, side, qty, fixed
):
    book = book_from_last(last, TICK)
    price, slip = market_price(side, book, TICK, qty, Slippage(fixed_ticks=fixed))
    assert on_tick(price, TICK) and slip == TICK * fixed
    assert price == (book.ask + slip if side == "buy" else book.bid - slip)


def test_size_grows_slippage_one_tick_per_step_beyond_the_first():
    slippage = Slippage(fixed_ticks=1, per_size=Decimal(10))
    assert [slippage.ticks(Decimal(q)) for q in (1, 10, 19, 20, 35)] == [1, 1, 1, 2, 3]


def test_the_book_straddles_the_last_price_on_ticks():
    book = book_from_last(Decimal("5000.10"), TICK)
    assert (book.bid, book.ask) == (Decimal("5000.00"), Decimal("5000.25"))


def test_stops_trigger_on_touch():
    assert stop_touched("buy", Decimal(100), Decimal(100))
    assert not stop_touched("buy", Decimal(100), Decimal("99.75"))
    assert stop_touched("sell", Decimal(100), Decimal("99.75"))


def test_a_trailing_sell_stop_follows_the_high_and_never_moves_down():
    anchor = None
    for last in map(Decimal, ["100", "103", "101", "105", "102"]):
        anchor = trail_anchor("sell", anchor, last)
    assert anchor == Decimal(105)
    assert trail_stop_level("sell", anchor, Decimal(2)) == Decimal(103)
