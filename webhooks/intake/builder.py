"""The alert-message builder: options in, a TradingView alert message out.

TradingView substitutes `{{placeholders}}` before it sends an alert; the message
keeps them quoted, so it is valid JSON as written and after substitution. Every
message `alert_problems` accepts must parse (tests substitute `SAMPLES` and check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from common.numbers import plain
from webhooks.intake.body import parse_body
from webhooks.intake.intents import Intent
from webhooks.intake.parsing import SYMBOL_RE, intent_from_payload

FROM_STRATEGY = "strategy"
ACTIONS = (
    ("buy", "Buy"),
    ("sell", "Sell"),
    (FROM_STRATEGY, "The strategy's order"),
    ("exit", "Exit the position"),
    ("flatten", "Flatten everything"),
    ("reverse", "Reverse"),
    ("add", "Add to the position"),
)
SYMBOL_MODES = (("ticker", "The chart's"), ("fixed", "Fixed"))
QUANTITY_MODES = (
    ("fixed", "Fixed"),
    (FROM_STRATEGY, "The strategy's order"),
    ("none", "None (an exit closes all)"),
)
QUANTITY_TYPES = (
    ("fixed", "Contracts / units"),
    ("percent_of_equity", "% of equity"),
    ("dollar_amount", "Dollar amount"),
    ("risk_dollars", "Risk in dollars"),
    ("risk_percent", "Risk in % of equity"),
    ("percent_of_position", "% of the position"),
)
ORDER_TYPES = (("market", "Market"), ("limit", "Limit at {{close}}"))
UNITS = (
    ("ticks", "ticks"),
    ("points", "points"),
    ("percent", "% of price"),
    ("dollars", "dollars"),
    ("price", "price level"),
)
# How each unit is written in a message: 20 ticks is "20t", $100 is "$100".
UNIT_SUFFIX = {
    "ticks": "t",
    "points": "pts",
    "percent": "%",
    "dollars": "",
    "price": "",
}

TICKER = "{{ticker}}"
CLOSE = "{{close}}"
TIMENOW = "{{timenow}}"
ORDER_ACTION = "{{strategy.order.action}}"
CONTRACTS = "{{strategy.order.contracts}}"
POSITION = "{{strategy.market_position}}"
POSITION_SIZE = "{{strategy.market_position_size}}"
ORDER_ID = "{{strategy.order.id}}"

# What TradingView might put in each placeholder (see `samples_for`).
SAMPLES: tuple[dict[str, str], ...] = (
    {ORDER_ACTION: "buy", POSITION: "long", POSITION_SIZE: "2"},
    {ORDER_ACTION: "sell", POSITION: "short", POSITION_SIZE: "2"},
    {ORDER_ACTION: "buy", POSITION: "flat", POSITION_SIZE: "0"},
    {ORDER_ACTION: "sell", POSITION: "flat", POSITION_SIZE: "0"},
)
COMMON_SAMPLE = {
    TICKER: "BTCUSDT",
    CLOSE: "100",
    CONTRACTS: "1",
    ORDER_ID: "Long",
}


@dataclass(frozen=True)
class AlertOptions:
    action: str = "buy"
    symbol_mode: str = "ticker"
    symbol: str = ""
    quantity_mode: str = "fixed"
    quantity: Decimal = Decimal(1)
    quantity_type: str = "fixed"
    order_type: str = "market"
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    offset_unit: str = "ticks"
    sentiment: bool = False
    include_price: bool = True
    include_time: bool = True
    include_id: bool = False


def alert_problems(options: AlertOptions) -> list[str]:
    """Why these options cannot make an alert TradeFlow accepts (empty: they can)."""
    problems = []
    sized = _has_quantity(options)
    if options.symbol_mode == "fixed" and not SYMBOL_RE.match(options.symbol):
        problems.append("Enter the symbol to trade, e.g. MNQ1! or BTCUSDT.")
    if options.action in ("buy", "sell", "add", FROM_STRATEGY) and not (
        sized or options.sentiment
    ):
        problems.append("An entry needs a quantity (or the strategy's position).")
    if sized and options.quantity_type != "fixed":
        if options.quantity_mode == FROM_STRATEGY:
            problems.append("The strategy's contracts are a count: use Contracts.")
        if options.quantity_type.startswith("risk_") and options.stop_loss is None:
            problems.append("Sizing by risk needs a stop loss to measure it.")
        if options.quantity_type == "percent_of_position" and options.action not in (
            "exit",
            "reverse",
            "add",
        ):
            problems.append("% of the position sizes exits, reverses and adds.")
    if options.sentiment and options.action not in ("buy", "sell", FROM_STRATEGY):
        problems.append("The strategy's position goes with buy, sell or from-strategy.")
    return problems


def _has_quantity(options: AlertOptions) -> bool:
    return options.action != "flatten" and options.quantity_mode != "none"


def _needs_price(options: AlertOptions) -> bool:
    sized = _has_quantity(options)
    return (
        options.include_price
        or options.order_type == "limit"
        or (sized and options.quantity_type in ("percent_of_equity", "dollar_amount"))
        # Brackets as distances are placed from the alert's price.
        or (options.offset_unit != "price" and _has_brackets(options))
    )


def _has_brackets(options: AlertOptions) -> bool:
    return options.stop_loss is not None or options.take_profit is not None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _offset(value: Decimal, unit: str) -> str | int | float:
    if unit == "price":
        return _number(value)
    text = plain(value)
    return f"${text}" if unit == "dollars" else f"{text}{UNIT_SUFFIX[unit]}"


def alert_fields(options: AlertOptions) -> dict[str, Any]:
    """The message's fields, in the order a trader reads them."""
    fields: dict[str, Any] = {
        "action": ORDER_ACTION if options.action == FROM_STRATEGY else options.action,
        "symbol": TICKER if options.symbol_mode == "ticker" else options.symbol.upper(),
    }
    if _has_quantity(options):
        fields["quantity"] = (
            CONTRACTS
            if options.quantity_mode == FROM_STRATEGY
            else _number(options.quantity)
        )
        if options.quantity_type != "fixed":
            fields["quantity_type"] = options.quantity_type
    if options.order_type != "market":
        fields["order_type"] = options.order_type
    if _needs_price(options):
        fields["price"] = CLOSE
    if options.stop_loss is not None:
        fields["stop_loss"] = _offset(options.stop_loss, options.offset_unit)
    if options.take_profit is not None:
        fields["take_profit"] = _offset(options.take_profit, options.offset_unit)
    if options.sentiment:
        fields["sentiment"] = POSITION
        fields["market_position_size"] = POSITION_SIZE
    if options.include_time:
        fields["time"] = TIMENOW
    if options.include_id:
        # Unique per firing: a repeated id is dropped as a duplicate.
        sender = ORDER_ID if options.action == FROM_STRATEGY else TICKER
        fields["id"] = f"{sender}-{TIMENOW}"
    return fields


def alert_message(options: AlertOptions) -> str:
    """The JSON alert message to paste into TradingView's "Message" box."""
    return json.dumps(alert_fields(options), indent=2)


# Plain-text names for fields that are not the action, symbol or quantity.
TEXT_NAMES = {"order_type": "type", "stop_loss": "sl", "take_profit": "tp"}


def alert_text(options: AlertOptions) -> str:
    """The same alert in the plain-text syntax: `buy MNQ1! 2 sl=20t tp=40t`."""
    fields = alert_fields(options)
    words = [str(fields.pop("action")), str(fields.pop("symbol"))]
    if "quantity" in fields:
        words.append(str(fields.pop("quantity")))
    words += [f"{TEXT_NAMES.get(name, name)}={value}" for name, value in fields.items()]
    return " ".join(words)


def samples_for(options: AlertOptions) -> list[dict[str, str]]:
    """The placeholder values a strategy can send with these options: a fixed buy
    fires on the strategy's buy orders only."""
    if options.action in ("buy", "sell"):
        return [s for s in SAMPLES if s[ORDER_ACTION] == options.action]
    return list(SAMPLES)


def intent_summary(intent: Intent) -> str:
    """One line saying what TradeFlow will do with the alert."""

    words = [intent.action]
    if intent.quantity is not None:
        kind = "" if intent.quantity_type == "fixed" else f" ({intent.quantity_type})"
        words.append(plain(intent.quantity) + kind)
    words.append(intent.symbol or "every symbol")
    if intent.side is not None or intent.action in ("reverse", "add"):
        limit = intent.limit_price
        words.append(f"limit at {plain(limit)}" if limit else f"at {intent.order_type}")
    parts = [" ".join(words)]
    for name, offset in (
        ("stop loss", intent.stop_loss),
        ("take profit", intent.take_profit),
    ):
        if offset is not None:
            unit = "" if offset.unit == "price" else f" {offset.unit}"
            parts.append(f"{name} {plain(offset.value)}{unit}")
    if intent.target_size is not None:
        parts.append(
            f"position wanted {intent.sentiment} {plain(abs(intent.target_size))}"
        )
    return ", ".join(parts)


def substitute(message: str, sample: dict[str, str]) -> str:
    """The message as TradingView would send it, with sample values."""
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {**COMMON_SAMPLE, TIMENOW: now, **sample}
    for placeholder, value in values.items():
        message = message.replace(placeholder, value)
    return message


def alert_intent(message: str, sample: dict[str, str]) -> Intent:
    """What TradeFlow reads from the message once substituted (raises ParseError)."""
    return intent_from_payload(parse_body(substitute(message, sample).encode()))
