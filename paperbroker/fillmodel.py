"""The paper venue's fill model, as pure functions of an order and a quote.

Rules traders expect from a believable simulator:
- a market order pays the spread: buys fill at the ask, sells at the bid, plus
  slippage (fixed ticks, or growing with size);
- a limit order fills only when the market crosses it, at its price or better;
- a stop triggers when the last price touches it, then fills as a market order;
- a stop-limit triggers like a stop, then works as a limit;
- a trailing stop follows the best price by a fixed distance and triggers on touch.
No function here reads the database or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Book:
    """The top of the book for one symbol."""

    bid: Decimal
    ask: Decimal
    last: Decimal


@dataclass(frozen=True)
class Slippage:
    """Extra ticks a market order pays: `fixed`, plus one per `per_size` units."""

    fixed_ticks: int = 0
    per_size: Decimal | None = None

    def ticks(self, quantity: Decimal) -> int:
        extra = int(quantity // self.per_size) if self.per_size else 0
        return (
            self.fixed_ticks + max(extra - 1, 0) if self.per_size else self.fixed_ticks
        )


def book_from_last(last: Decimal, tick: Decimal, spread_ticks: int = 1) -> Book:
    """A book `spread_ticks` wide around a last price, aligned to ticks."""
    below = (spread_ticks - (0 if on_tick(last, tick) else 1)) // 2
    bid = round_to_tick(last, tick, down=True) - tick * below
    return Book(bid=bid, ask=bid + tick * max(spread_ticks, 1), last=last)


def round_to_tick(price: Decimal, tick: Decimal, *, down: bool) -> Decimal:
    steps = (price / tick).to_integral_value(ROUND_FLOOR if down else ROUND_CEILING)
    return steps * tick


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return (price / tick) == (price / tick).to_integral_value()


def market_price(
    side: str, book: Book, tick: Decimal, quantity: Decimal, slippage: Slippage
) -> tuple[Decimal, Decimal]:
    """(fill price, slippage paid per unit beyond the touch) for a market order."""
    slip = tick * slippage.ticks(quantity)
    if side == "buy":
        return book.ask + slip, slip
    return book.bid - slip, slip


def limit_fill_price(side: str, limit: Decimal, book: Book) -> Decimal | None:
    """The fill price if the market crosses the limit now, else None.

    A buy fills when the ask is at or below the limit, at the ask (never worse than
    the limit); a sell when the bid is at or above it, at the bid.
    """
    if side == "buy":
        return book.ask if book.ask <= limit else None
    return book.bid if book.bid >= limit else None


def stop_touched(side: str, stop: Decimal, last: Decimal) -> bool:
    """A buy stop sits above the market and triggers at or above; a sell stop below."""
    return last >= stop if side == "buy" else last <= stop


def trail_stop_level(side: str, anchor: Decimal, distance: Decimal) -> Decimal:
    """A trailing stop stands below the high for a sell, above the low for a buy."""
    return anchor - distance if side == "sell" else anchor + distance


def trail_anchor(side: str, anchor: Decimal | None, last: Decimal) -> Decimal:
    """The best price seen since placement: the high for a sell stop, low for a buy."""
    if anchor is None:
        return last
    return max(anchor, last) if side == "sell" else min(anchor, last)


def commission(
    *, per_unit: Decimal, bps: Decimal, quantity: Decimal, notional: Decimal
) -> Decimal:
    """Per contract or lot, or basis points of the notional (stocks, crypto)."""
    return (per_unit * quantity + notional * bps / 10_000).quantize(Decimal("0.01"))
