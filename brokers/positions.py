"""Netting arithmetic shared by every position book (ours and the paper venue's)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Netted:
    quantity: Decimal  # signed
    avg_price: Decimal | None
    closed_quantity: Decimal  # how much of the old position this fill closed
    realized_points: (
        Decimal  # price difference times closed quantity, before multiplier
    )


def signed(side: str, quantity: Decimal) -> Decimal:
    return quantity if side == "buy" else -quantity


def net(
    quantity: Decimal,
    avg_price: Decimal | None,
    side: str,
    fill_qty: Decimal,
    price: Decimal,
) -> Netted:
    """Apply one fill to a netted position.

    Adding keeps a volume-weighted average; reducing keeps the average and realizes
    the difference; crossing zero opens the remainder at the fill price.
    """
    delta = signed(side, fill_qty)
    new_qty = quantity + delta
    if quantity == ZERO or (quantity > ZERO) == (delta > ZERO):
        old_cost = abs(quantity) * (avg_price or ZERO)
        avg = (old_cost + fill_qty * price) / abs(new_qty)
        return Netted(new_qty, avg, ZERO, ZERO)
    closed = min(abs(quantity), fill_qty)
    direction = Decimal(1) if quantity > ZERO else Decimal(-1)
    realized = (price - (avg_price or price)) * closed * direction
    if new_qty == ZERO:
        return Netted(ZERO, None, closed, realized)
    if (new_qty > ZERO) == (quantity > ZERO):
        return Netted(new_qty, avg_price, closed, realized)
    return Netted(new_qty, price, closed, realized)
