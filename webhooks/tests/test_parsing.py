from __future__ import annotations

from decimal import Decimal

import pytest

from webhooks.intake.body import parse_body
from webhooks.intake.intents import ParseError
from webhooks.intake.parsing import intent_from_payload


def intent(body: str, broker: str = "paper"):
    return intent_from_payload(parse_body(body.encode()), broker)


def error_code(body: str | bytes) -> str:
    raw = body if isinstance(body, bytes) else body.encode()
    with pytest.raises(ParseError) as info:
        intent_from_payload(parse_body(raw), "paper")
    return info.value.code


def test_unify_v1_market_buy_is_read_with_decimal_quantity_and_price():
    parsed = intent(
        '{"version":"unify.v1","intent":{"broker":"paper","side":"buy","type":"market","symbol":"mnq1!","qty":2,"price":21000.25}}'
    )
    assert (parsed.side, parsed.symbol, parsed.quantity, parsed.price) == (
        "buy",
        "MNQ1!",
        Decimal(2),
        Decimal("21000.25"),
    )
    assert parsed.order_type == "market"


def test_tradingview_flat_json_uses_ticker_action_and_quantity():
    parsed = intent('{"ticker":"ES1!","action":"sell","quantity":"3","id":"abc"}')
    assert (parsed.side, parsed.symbol, parsed.quantity, parsed.sender_id) == (
        "sell",
        "ES1!",
        Decimal(3),
        "abc",
    )


def test_malformed_json_names_line_and_column_and_the_trailing_comma():
    with pytest.raises(ParseError) as info:
        parse_body(b'{"action":"buy",\n "symbol":"ES",}')
    assert info.value.code == "malformed-json"
    assert "line 2" in info.value.message and "trailing comma" in info.value.message


def test_curly_quotes_are_named():
    with pytest.raises(ParseError) as info:
        parse_body("{\u201caction\u201d: \u201cbuy\u201d}".encode())
    assert "curly quotes" in info.value.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty-body"),
        (b"\xff\xfe", "malformed-body"),
        (b"[1,2]", "malformed-json"),
        ('{"action":"hold","symbol":"ES","qty":1}', "invalid-action"),
        ('{"symbol":"ES","qty":1}', "missing-action"),
        ('{"action":"buy","qty":1}', "missing-symbol"),
        ('{"action":"buy","symbol":"ES; DROP","qty":1}', "invalid-symbol"),
        ('{"action":"buy","symbol":"ES"}', "missing-quantity"),
        ('{"action":"buy","symbol":"ES","qty":0}', "invalid-quantity"),
        ('{"action":"buy","symbol":"ES","qty":"NaN"}', "invalid-quantity"),
        ('{"action":"buy","symbol":"ES","qty":true}', "invalid-quantity"),
        ('{"action":"buy","symbol":"ES","qty":1,"price":-4}', "invalid-price"),
        (
            '{"action":"buy","symbol":"ES","qty":1,"order_type":"limit"}',
            "price-required",
        ),
        (
            '{"action":"buy","symbol":"ES","qty":1,"order_type":"iceberg"}',
            "invalid-order-type",
        ),
        (
            '{"action":"{{strategy.order.action}}","symbol":"ES","qty":1}',
            "unsubstituted-placeholder",
        ),
        ('{"version":"unify.v9","intent":{}}', "unsupported-version"),
        ('{"version":"unify.v1"}', "missing-intent"),
        (
            '{"version":"unify.v1","intent":{"broker":"tradovate","side":"buy","symbol":"ES","qty":1}}',
            "broker-mismatch",
        ),
    ],
)
def test_bad_bodies_get_their_own_code(body, code):
    assert error_code(body) == code


@pytest.mark.parametrize("offset", ["20t", "5pts", "1%", "$100"])
def test_brackets_as_distances_without_a_price_are_refused_at_intake(offset):
    """The worker could not place them: the sender hears why at once (it was
    accepted, then failed in the worker as price-required)."""
    with pytest.raises(ParseError) as refused:
        intent_from_payload(parse_body(f"buy MNQ1! 2 sl={offset}".encode()))
    assert refused.value.code == "price-required"
    placed = intent_from_payload(
        parse_body(f"buy MNQ1! 2 price=21000 sl={offset}".encode())
    )
    assert placed.stop_loss is not None
