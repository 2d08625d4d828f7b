"""From a signal and a position to legs: pure functions, checked over many cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokers.instruments.catalogue import get_instrument
from webhooks.execution.planning import Overrides, PlanError, plan_legs
from webhooks.intake.intents import Intent, Offset

MNQ = get_instrument("MNQ")
EURUSD = get_instrument("EURUSD")
ZERO = Decimal(0)


def signed(legs) -> Decimal:
    return sum(
        (leg.quantity if leg.side == "buy" else -leg.quantity for leg in legs), ZERO
    )


def plan(intent: Intent, position: int | str = 0, **overrides):
    assert MNQ is not None
    return plan_legs(
        intent=intent,
        position=Decimal(position),
        equity=Decimal(50000),
        instrument=MNQ,
        overrides=Overrides(**overrides),
    )


positions = st.integers(min_value=-20, max_value=20).map(Decimal)
sizes = st.integers(min_value=1, max_value=20).map(Decimal)


@given(position=positions, size=sizes, sentiment=st.sampled_from(["long", "short"]))
def test_a_stated_position_is_reached_exactly_from_any_position(
    position, size, sentiment
):
    action = "buy" if sentiment == "long" else "sell"
    target = size if sentiment == "long" else -size
    intent = Intent(
        action=action, symbol="MNQ1!", sentiment=sentiment, target_size=target
    )
    legs = plan(intent, position)
    assert position + signed(legs) == target


@given(position=positions, size=sizes, side=st.sampled_from(["buy", "sell"]))
def test_legs_exit_first_never_past_flat_then_enter(position, size, side):
    legs = plan(Intent(action=side, symbol="MNQ1!", quantity=size), position)
    assert position + signed(legs) == position + (size if side == "buy" else -size)
    roles = [leg.role for leg in legs]
    assert roles in ([], ["exit"], ["entry"], ["exit", "entry"])
    for leg in legs:
        if leg.role == "exit":
            assert leg.quantity <= abs(position) and leg.order_type == "market"


@given(position=positions, size=sizes, side=st.sampled_from(["buy", "sell"]))
def test_a_long_only_account_never_ends_short(position, size, side):
    intent = Intent(action=side, symbol="MNQ1!", quantity=size)
    try:
        legs = plan(intent, abs(position), allowed_sides="long")
    except PlanError as exc:
        assert exc.code == "side-not-allowed"
    else:
        assert abs(position) + signed(legs) >= 0


@given(position=positions, percent=st.integers(min_value=1, max_value=100))
def test_an_exit_never_reverses_the_position(position, percent):
    intent = Intent(
        action="exit",
        symbol="MNQ1!",
        quantity=Decimal(percent),
        quantity_type="percent_of_position",
    )
    after = position + signed(plan(intent, position))
    assert abs(after) <= abs(position) and after * position >= 0


def test_multiplier_and_cap_scale_the_entry_in_whole_contracts():
    intent = Intent(action="buy", symbol="MNQ1!", quantity=Decimal(3))
    assert signed(plan(intent, multiplier=Decimal("0.5"))) == 1  # 1.5 rounds down
    assert signed(plan(intent, max_quantity=Decimal(2))) == 2
    with pytest.raises(PlanError) as info:
        plan(intent, multiplier=Decimal("0.2"))
    assert info.value.code == "quantity-rounds-to-zero"


def test_forex_sizes_in_hundredths_of_a_lot():
    assert EURUSD is not None
    intent = Intent(
        action="buy",
        symbol="EURUSD",
        quantity=Decimal(10),
        quantity_type="percent_of_equity",
        price=Decimal("1.1"),
    )
    (leg,) = plan_legs(
        intent=intent, position=ZERO, equity=Decimal(100000), instrument=EURUSD
    )
    # 10 % of 100,000 = 10,000 of notional; a lot is 100,000 euros at 1.1.
    assert leg.quantity == Decimal("0.09")


def test_brackets_in_ticks_points_percent_and_dollars_become_prices():
    intent = Intent(
        action="buy",
        symbol="MNQ1!",
        quantity=Decimal(2),
        price=Decimal("21000"),
        stop_loss=Offset(Decimal(40), "ticks"),  # 40 x 0.25 = 10 points
        take_profit=Offset(Decimal(100), "dollars"),  # $100 / (2 x $2) = 25 points
    )
    (leg,) = plan(intent)
    assert (leg.stop_loss, leg.take_profit) == (Decimal("20990"), Decimal("21025"))
    short = Intent(
        action="sell",
        symbol="MNQ1!",
        quantity=Decimal(1),
        price=Decimal("20000"),
        stop_loss=Offset(Decimal(1), "percent"),
        take_profit=Offset(Decimal(50), "points"),
    )
    (leg,) = plan(short)
    assert (leg.stop_loss, leg.take_profit) == (Decimal("20200"), Decimal("19950"))


def test_risk_sizing_uses_the_stop_distance_and_the_point_value():
    intent = Intent(
        action="buy",
        symbol="MNQ1!",
        quantity=Decimal(1),
        quantity_type="risk_percent",  # 1 % of 50,000 = $500
        price=Decimal("21000"),
        stop_loss=Offset(Decimal(50), "points"),  # $100 per MNQ contract
    )
    (leg,) = plan(intent)
    assert leg.quantity == 5


def test_reverse_and_add_need_a_position():
    for action, code in (("reverse", "nothing-to-reverse"), ("add", "nothing-to-add")):
        with pytest.raises(PlanError) as info:
            plan(Intent(action=action, symbol="MNQ1!", quantity=Decimal(1)))
        assert info.value.code == code
