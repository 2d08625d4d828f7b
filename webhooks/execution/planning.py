"""From a signal and an account's position to the orders to send: pure functions.

Processing order on one account (shared/reference/tradingview.md): cancel working
orders when asked, then exit or flip the current position, then enter. A signal that
states the position it wants after execution (`sentiment`, a market position size)
is executed as the difference from the venue's actual position, so a missed alert or
a manual trade does not leave the account out of step; otherwise it is a delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from brokers.instruments.specs import Instrument
from common.numbers import plain
from webhooks.intake.intents import MAX_PRICE, MAX_QUANTITY, Intent, Offset

ZERO = Decimal(0)


class PlanError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Overrides:
    """A subscription's adjustments (copy trading); the identity for a plain key."""

    multiplier: Decimal = Decimal(1)
    max_quantity: Decimal | None = None
    allowed_sides: str = "both"  # both | long | short


@dataclass(frozen=True)
class Leg:
    number: int  # part of the client order id: 1 = exit, 2 = entry
    role: str  # exit | entry
    side: str
    quantity: Decimal
    order_type: str = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_distance: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    time_in_force: str = ""
    symbol: str = ""  # the contract, filled in by the executor

    def as_payload(self) -> dict[str, str | int | None]:
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in self.__dict__.items()
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Leg:
        """A leg as stored in an execution's plan (a retry sends it again)."""
        values: dict[str, Any] = {n: data.get(n) for n in cls.__dataclass_fields__}
        for name in DECIMALS:
            if values[name] is not None:
                values[name] = Decimal(values[name])
        return cls(**values)


DECIMALS = (
    "quantity",
    "limit_price",
    "stop_price",
    "trail_distance",
    "stop_loss",
    "take_profit",
)


def plan_legs(
    *,
    intent: Intent,
    position: Decimal,
    equity: Decimal,
    instrument: Instrument,
    overrides: Overrides = Overrides(),
) -> list[Leg]:
    """The orders that take `position` where the signal wants it (may be none)."""
    step = instrument.quantity_step
    target = _target(intent, position, equity, instrument, overrides, step)
    target = _allowed(target, position, overrides.allowed_sides)
    delta = target - position
    if delta == 0:
        return []
    side = "buy" if delta > 0 else "sell"
    closing = ZERO
    if position != 0 and (delta > 0) != (position > 0):
        closing = min(abs(delta), abs(position))
    legs = []
    if closing:
        legs.append(Leg(1, "exit", side, closing))
    opening = abs(delta) - closing
    if opening:
        legs.append(_entry(intent, side, opening, instrument))
    return legs


def _target(
    intent: Intent,
    position: Decimal,
    equity: Decimal,
    instrument: Instrument,
    overrides: Overrides,
    step: Decimal,
) -> Decimal:
    """The signed position wanted after the signal."""
    direction = Decimal(1) if position > 0 else Decimal(-1)
    action = intent.action
    if action == "flatten" or intent.sentiment == "flat":
        return ZERO
    if intent.target_size is not None:
        return _sign(intent.target_size) * _scaled(
            abs(intent.target_size), overrides, step
        )
    if action == "exit":
        if position == 0:
            return ZERO
        if intent.quantity is None:
            return ZERO
        size = _exit_size(intent, position, step)
        return position - direction * min(size, abs(position))
    if action == "reverse":
        if position == 0:
            raise PlanError("nothing-to-reverse", "There is no position to reverse.")
        size = (
            abs(position)
            if intent.quantity is None
            else _scaled(intent.quantity, overrides, step)
        )
        return -direction * size
    if action == "add":
        if position == 0:
            raise PlanError("nothing-to-add", "There is no position to add to.")
        size = _entry_size(intent, equity, instrument, overrides, step)
        return position + direction * size
    size = _entry_size(intent, equity, instrument, overrides, step)
    if intent.sentiment in ("long", "short"):
        # "buy, long, 2": be long 2 afterwards, whatever the account holds now.
        return size if intent.sentiment == "long" else -size
    return position + (size if action == "buy" else -size)


def _exit_size(intent: Intent, position: Decimal, step: Decimal) -> Decimal:
    assert intent.quantity is not None
    if intent.quantity_type == "percent_of_position":
        return _round(abs(position) * intent.quantity / 100, step)
    return intent.quantity


def _entry_size(
    intent: Intent,
    equity: Decimal,
    instrument: Instrument,
    overrides: Overrides,
    step: Decimal,
) -> Decimal:
    """Quantity from the alert's quantity mode, scaled by the subscription."""
    assert intent.quantity is not None
    quantity, kind = intent.quantity, intent.quantity_type
    reference = intent.limit_price or intent.stop_price or intent.price
    if kind in ("percent_of_equity", "dollar_amount"):
        assert reference is not None
        money = equity * quantity / 100 if kind == "percent_of_equity" else quantity
        quantity = money / (reference * instrument.point_value)
    elif kind in ("risk_dollars", "risk_percent"):
        assert intent.stop_loss is not None
        money = equity * quantity / 100 if kind == "risk_percent" else quantity
        distance = _risk_distance(intent.stop_loss, reference, instrument)
        quantity = money / (distance * instrument.point_value)
    return _scaled(quantity, overrides, step)


def _risk_distance(
    stop: Offset, reference: Decimal | None, instrument: Instrument
) -> Decimal:
    """Price distance from entry to the stop, for sizing by risk."""
    if stop.unit == "dollars":
        raise PlanError(
            "invalid-offset",
            "Sizing by risk needs the stop as a distance (ticks, points, percent or "
            "price), not dollars.",
        )
    if stop.unit == "price":
        if reference is None:
            raise PlanError("price-required", "Sizing by risk needs the alert's price.")
        distance = abs(reference - stop.value)
    else:
        distance = _distance(stop, reference, instrument, quantity=Decimal(1))
    if distance <= 0:
        raise PlanError("invalid-offset", "The stop is at the entry price.")
    return distance


def _scaled(quantity: Decimal, overrides: Overrides, step: Decimal) -> Decimal:
    quantity = _round(quantity * overrides.multiplier, step)
    if overrides.max_quantity is not None:
        quantity = min(quantity, overrides.max_quantity)
    if quantity > MAX_QUANTITY:
        raise PlanError(
            "invalid-quantity", f"The sized quantity {quantity:.0f} is not plausible."
        )
    if quantity <= 0:
        raise PlanError(
            "quantity-rounds-to-zero",
            f"The quantity rounds down to nothing (the step is {step}).",
        )
    return quantity


def _allowed(target: Decimal, position: Decimal, sides: str) -> Decimal:
    """Clamp the wanted position to the sides this account may hold."""
    clamped = target
    if (sides == "long" and target < 0) or (sides == "short" and target > 0):
        clamped = ZERO
    if clamped != target and clamped == position:
        raise PlanError(
            "side-not-allowed", f"This account follows {sides} signals only."
        )
    return clamped


def _entry(intent: Intent, side: str, quantity: Decimal, instrument: Instrument) -> Leg:
    reference = intent.limit_price or intent.stop_price or intent.price
    sign = Decimal(1) if side == "buy" else Decimal(-1)

    def bracket(offset: Offset | None, away: Decimal) -> Decimal | None:
        if offset is None:
            return None
        if offset.unit == "price":
            return offset.value
        if reference is None:
            raise PlanError(
                "price-required",
                'Brackets given as distances need the alert\'s "price": {{close}}.',
            )
        distance = _distance(offset, reference, instrument, quantity)
        price = _tick(reference + away * distance, instrument)
        if not 0 < price < MAX_PRICE:
            raise PlanError(
                "invalid-offset",
                f"A bracket {plain(offset.value)} {offset.unit} from "
                f"{plain(reference)} lands at {plain(price)}: not a price.",
            )
        return price

    trail = None
    if intent.trailing_stop is not None:
        if intent.trailing_stop.unit == "price":
            trail = intent.trailing_stop.value
        else:
            trail = _distance(intent.trailing_stop, reference, instrument, quantity)
    return Leg(
        2,
        "entry",
        side,
        quantity,
        order_type=intent.order_type,
        limit_price=intent.limit_price,
        stop_price=intent.stop_price,
        trail_distance=trail,
        stop_loss=bracket(intent.stop_loss, -sign),
        take_profit=bracket(intent.take_profit, sign),
        time_in_force=intent.time_in_force,
    )


def _distance(
    offset: Offset, reference: Decimal | None, instrument: Instrument, quantity: Decimal
) -> Decimal:
    """A distance in price units from ticks, points, percent or dollars."""
    if offset.unit == "ticks":
        return offset.value * instrument.tick_size
    if offset.unit == "points":
        return offset.value
    if offset.unit == "percent":
        if reference is None:
            raise PlanError("price-required", "A percent distance needs a price.")
        return reference * offset.value / 100
    if offset.unit == "dollars":
        return offset.value / (quantity * instrument.point_value)
    raise PlanError("invalid-offset", f"{offset.unit} is not a distance.")


def _tick(price: Decimal, instrument: Instrument) -> Decimal:
    ticks = (price / instrument.tick_size).quantize(Decimal(1), ROUND_HALF_UP)
    return ticks * instrument.tick_size


def _round(quantity: Decimal, step: Decimal) -> Decimal:
    return (quantity / step).to_integral_value(ROUND_DOWN) * step


def _sign(value: Decimal) -> Decimal:
    return Decimal(1) if value > 0 else Decimal(-1) if value < 0 else ZERO
