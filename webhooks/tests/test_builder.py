"""The alert-message builder: every message it offers parses once substituted."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

from webhooks.intake.builder import (
    ACTIONS,
    ORDER_TYPES,
    QUANTITY_MODES,
    QUANTITY_TYPES,
    SYMBOL_MODES,
    UNITS,
    AlertOptions,
    alert_intent,
    alert_message,
    alert_problems,
    alert_text,
    samples_for,
)


def values(choices: tuple[tuple[str, str], ...]) -> list[str]:
    return [value for value, _ in choices]


def every_option() -> list[AlertOptions]:
    """All combinations the form offers (flags that only add a field go together)."""
    combos = itertools.product(
        values(ACTIONS),
        values(SYMBOL_MODES),
        values(QUANTITY_MODES),
        values(QUANTITY_TYPES),
        values(ORDER_TYPES),
        [(None, None), (Decimal(20), None), (None, Decimal("40.5")), (Decimal(2),) * 2],
        values(UNITS),
        [False, True],  # sentiment
        [(False, False, False), (True, True, True), (False, True, False)],
    )
    return [
        AlertOptions(
            action=action,
            symbol_mode=symbol_mode,
            symbol="MNQ1!",
            quantity_mode=quantity_mode,
            quantity=Decimal("0.5"),
            quantity_type=quantity_type,
            order_type=order_type,
            stop_loss=stop_loss,
            take_profit=take_profit,
            offset_unit=unit,
            sentiment=sentiment,
            include_price=price,
            include_time=time,
            include_id=sender_id,
        )
        for (
            action,
            symbol_mode,
            quantity_mode,
            quantity_type,
            order_type,
            (stop_loss, take_profit),
            unit,
            sentiment,
            (price, time, sender_id),
        ) in combos
    ]


def test_every_accepted_combination_parses_as_json_and_as_text_once_substituted():
    accepted, seen = 0, set()
    for options in every_option():
        if alert_problems(options):
            continue
        accepted += 1
        message = alert_message(options)
        if message in seen:  # e.g. a unit without brackets
            continue
        seen.add(message)
        for sample in samples_for(options):
            for written in (message, alert_text(options)):
                intent = alert_intent(written, sample)
                expected = sample["{{strategy.order.action}}"]
                if options.action in ("buy", "sell", "strategy"):
                    assert intent.action == expected, written
                else:
                    assert intent.action == options.action, written
    assert accepted > 20000 and len(seen) > 5000  # the rules refuse some, not most


def test_the_default_message_is_a_market_buy_of_one_on_the_charts_symbol():
    assert json.loads(alert_message(AlertOptions())) == {
        "action": "buy",
        "symbol": "{{ticker}}",
        "quantity": 1,
        "price": "{{close}}",
        "time": "{{timenow}}",
    }
    assert alert_text(AlertOptions()) == (
        "buy {{ticker}} 1 price={{close}} time={{timenow}}"
    )


def test_a_strategy_alert_sends_the_strategys_order_position_and_a_unique_id():
    options = AlertOptions(
        action="strategy",
        quantity_mode="strategy",
        stop_loss=Decimal(20),
        take_profit=Decimal(40),
        sentiment=True,
        include_id=True,
    )
    message = json.loads(alert_message(options))
    assert message["action"] == "{{strategy.order.action}}"
    assert message["quantity"] == "{{strategy.order.contracts}}"
    assert (message["stop_loss"], message["take_profit"]) == ("20t", "40t")
    assert message["sentiment"] == "{{strategy.market_position}}"
    assert message["market_position_size"] == "{{strategy.market_position_size}}"
    assert message["id"] == "{{strategy.order.id}}-{{timenow}}"
    intent = alert_intent(alert_message(options), samples_for(options)[1])
    assert (intent.action, intent.sentiment, intent.target_size) == (
        "sell",
        "short",
        Decimal(-2),
    )


def test_each_unit_is_written_the_way_the_parser_reads_it():
    written = {
        unit: json.loads(
            alert_message(AlertOptions(stop_loss=Decimal("1.5"), offset_unit=unit))
        )["stop_loss"]
        for unit in values(UNITS)
    }
    assert written == {
        "ticks": "1.5t",
        "points": "1.5pts",
        "percent": "1.5%",
        "dollars": "$1.5",
        "price": 1.5,
    }


def test_a_limit_order_or_percent_sizing_always_sends_the_price():
    for options in (
        AlertOptions(order_type="limit", include_price=False),
        AlertOptions(quantity_type="percent_of_equity", include_price=False),
        AlertOptions(stop_loss=Decimal(1), offset_unit="percent", include_price=False),
    ):
        assert json.loads(alert_message(options))["price"] == "{{close}}"
    assert "price" not in json.loads(alert_message(AlertOptions(include_price=False)))


def test_options_that_cannot_work_are_refused_with_a_reason():
    assert alert_problems(AlertOptions(symbol_mode="fixed", symbol=""))
    assert alert_problems(AlertOptions(quantity_mode="none"))
    assert alert_problems(AlertOptions(quantity_type="risk_dollars"))
    assert alert_problems(AlertOptions(quantity_type="percent_of_position"))
    assert alert_problems(AlertOptions(action="exit", sentiment=True))
    assert not alert_problems(AlertOptions(action="exit", quantity_mode="none"))
    assert not alert_problems(AlertOptions(quantity_mode="none", sentiment=True))
