"""Turning a webhook body into one internal intent, or a reason a trader can fix.

Accepted spellings (all become one `Intent`):
- unify.v1 (seed 002): `{"version": "unify.v1", "intent": {...}}`;
- TradingView flat JSON: `ticker`/`symbol`, `action`, `sentiment`, `quantity` with
  `quantity_type`, `order_type`, `price`, `stop_loss`/`take_profit`, `trailing_stop`,
  `time`/`timenow`, `id`, `comment`, `extras`;
- the seed-003 alert (`accountGroup`, `orderType`, `strategy`) and the seed-004 body
  (`botname`, `side`, `size`, `takeprofit`, `leverage`);
- plain text for traders who do not write JSON, e.g. `buy MNQ1! 2 sl=20t tp=40t`
  (see `docs/signals.md`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from common.numbers import plain
from webhooks.intake.intents import MAX_PRICE, MAX_QUANTITY, Intent, Offset, ParseError

SYMBOL_RE = re.compile(r"^[A-Za-z0-9_.:!/\-]{1,32}$")
ACTIONS = {
    "buy": "buy",
    "long": "buy",
    "sell": "sell",
    "short": "sell",
    "exit": "exit",
    "close": "exit",
    "flatten": "flatten",
    "close_all": "flatten",
    "closeall": "flatten",
    "flat": "flatten",
    "cancel": "cancel",
    "cancel_all": "cancel",
    "reverse": "reverse",
    "flip": "reverse",
    "add": "add",
}
SENTIMENTS = {
    "long": "long",
    "bullish": "long",
    "short": "short",
    "bearish": "short",
    "flat": "flat",
    "neutral": "flat",
}
# Which sentiments each action may carry (the position wanted after the signal).
ACTION_SENTIMENTS = {
    "buy": {"long", "flat"},
    "sell": {"short", "flat"},
    "exit": {"flat"},
    "flatten": {"flat"},
}
ORDER_TYPES = {
    "market": "market",
    "mkt": "market",
    "limit": "limit",
    "lmt": "limit",
    "stop": "stop",
    "stop_market": "stop",
    "stop_limit": "stop_limit",
    "stoplimit": "stop_limit",
    "trailing_stop": "trailing_stop",
    "trailing": "trailing_stop",
}
QUANTITY_TYPES = {
    "fixed",
    "percent_of_equity",
    "dollar_amount",
    "risk_dollars",
    "risk_percent",
    "percent_of_position",
}
TIME_IN_FORCE = {"day": "DAY", "gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
OFFSET_UNITS = {
    "": "price",
    "price": "price",
    "t": "ticks",
    "tick": "ticks",
    "ticks": "ticks",
    "pt": "points",
    "pts": "points",
    "point": "points",
    "points": "points",
    "%": "percent",
    "pct": "percent",
    "percent": "percent",
    "$": "dollars",
    "usd": "dollars",
    "dollar": "dollars",
    "dollars": "dollars",
}
OFFSET_RE = re.compile(r"^\s*(\$)?\s*([0-9]*\.?[0-9]+)\s*([a-z%$]*)\s*$", re.IGNORECASE)


# --- Fields --------------------------------------------------------------------------


def intent_from_payload(data: dict[str, Any], broker: str | None = None) -> Intent:
    """Read any accepted spelling into an Intent (raises ParseError)."""
    version = data.get("version")
    if version is not None:
        if version != "unify.v1":
            raise ParseError(
                "unsupported-version", f'Unknown version {version!r}; use "unify.v1".'
            )
        body = data.get("intent")
        if not isinstance(body, dict):
            raise ParseError(
                "missing-intent", 'A unify.v1 body needs an "intent" object.'
            )
        named = body.get("broker")
        if broker and named and str(named).lower() != broker:
            raise ParseError(
                "broker-mismatch",
                f"The intent names broker {str(named)[:20]!r} "
                f"but was posted to /webhook/{broker}.",
                400,
            )
        body = {**{k: v for k, v in data.items() if k != "intent"}, **body}
    else:
        body = data
    _reject_placeholders(body)
    action = _action(body)
    sentiment, target_size = _position_wanted(body, action)
    symbol = _symbol(body, required=action not in ("flatten", "cancel"))
    quantity_type = _quantity_type(body, action)
    quantity = _quantity(body, action, sentiment, target_size)
    order_type = _order_type(body)
    price = _positive(body, "price", "close")
    limit_price = _positive(body, "limit_price", "limitPrice", "limit")
    stop_price = _positive(body, "stop_price", "stopPrice", "stop")
    trailing = _offset(body, "trailing_stop", "trail", "trail_distance")
    if order_type in ("limit", "stop_limit") and limit_price is None:
        if order_type == "limit":
            limit_price = price
        if limit_price is None:
            raise ParseError(
                "price-required", f'A {order_type} order needs "limit_price".'
            )
    if order_type in ("stop", "stop_limit") and stop_price is None:
        stop_price = price if order_type == "stop" else None
        if stop_price is None:
            raise ParseError(
                "price-required", f'A {order_type} order needs "stop_price".'
            )
    if order_type == "trailing_stop" and trailing is None:
        raise ParseError(
            "price-required", 'A trailing_stop order needs "trailing_stop": "20t".'
        )
    stop_loss = _offset(body, "stop_loss", "stoploss", "stopLoss", "sl")
    take_profit = _offset(body, "take_profit", "takeprofit", "takeProfit", "tp")
    reference = limit_price or stop_price or price
    if quantity_type in ("risk_dollars", "risk_percent") and stop_loss is None:
        raise ParseError(
            "stop-loss-required",
            f"Sizing by {quantity_type} needs a stop_loss to measure the risk.",
        )
    # Brackets given as distances (ticks, points, percent, dollars) are placed
    # from the alert's price: without one the worker could not place them, so
    # the alert is refused here, where the sender still hears why.
    needs_price = quantity_type in ("percent_of_equity", "dollar_amount") or any(
        offset is not None and offset.unit != "price"
        for offset in (stop_loss, take_profit)
    )
    if needs_price and reference is None:
        raise ParseError(
            "price-required",
            'This alert sizes or places its brackets from the price: add "price": '
            "{{close}}.",
        )
    return Intent(
        action=action,
        symbol=symbol,
        quantity=quantity,
        quantity_type=quantity_type,
        sentiment=sentiment,
        target_size=target_size,
        order_type=order_type,
        price=price,
        limit_price=limit_price,
        stop_price=stop_price,
        trailing_stop=trailing,
        stop_loss=stop_loss,
        take_profit=take_profit,
        time_in_force=_time_in_force(body),
        cancel_orders=_flag(body, "cancel_orders", "cancel") or action == "cancel",
        sender_id=_sender_id(data, body),
        sent_at=_sent_at(body),
        comment=_text(body, "comment", 255),
        strategy=_name(body, "botname", "bot", "strategy", "strategy_name"),
        group=_name(body, "account_group", "accountGroup", "group"),
        extras=body["extras"] if isinstance(body.get("extras"), dict) else {},
    )


def _reject_placeholders(body: dict[str, Any]) -> None:
    for key, value in body.items():
        if isinstance(value, str) and "{{" in value and "}}" in value:
            raise ParseError(
                "unsubstituted-placeholder",
                f"Field {str(key)[:40]!r} still holds {value[:60]!r}: "
                "TradingView did not substitute it.",
            )


def _first(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if body.get(name) not in (None, ""):
            return body[name]
    return None


def _action(body: dict[str, Any]) -> str:
    raw = _first(body, "action", "side", "order_action")
    if raw is None:
        raise ParseError(
            "missing-action", 'Say what to do: "action": "buy", "sell", "exit"….'
        )
    action = ACTIONS.get(str(raw).strip().lower())
    if action is None:
        raise ParseError(
            "invalid-action",
            f"Unknown action {str(raw)[:40]!r}: use buy, sell, exit, flatten, cancel, "
            "reverse or add.",
        )
    return action


def _position_wanted(
    body: dict[str, Any], action: str
) -> tuple[str | None, Decimal | None]:
    """The sentiment and, when stated, the signed position wanted after the signal.

    With a size (`{{strategy.market_position_size}}`) the pair states a result, so
    `buy` + `short` 2 is a partial cover; without one, `buy` goes with long or flat
    and `sell` with short or flat.
    """
    nested: dict[str, Any] = (
        body["strategy"] if isinstance(body.get("strategy"), dict) else {}
    )
    raw = _first(body, "sentiment", "market_position", "marketPosition") or _first(
        nested, "market_position", "marketPosition"
    )
    size_raw = _first(body, "market_position_size", "marketPositionSize") or _first(
        nested, "market_position_size", "marketPositionSize"
    )
    sentiment = None
    if raw is not None:
        sentiment = SENTIMENTS.get(str(raw).strip().lower())
        if sentiment is None:
            raise ParseError(
                "invalid-sentiment",
                f"Unknown sentiment {str(raw)[:40]!r}: use long, short or flat.",
            )
        _check_pair(action, sentiment, sized=size_raw is not None)
    if size_raw is None:
        return sentiment, (Decimal(0) if sentiment == "flat" else None)
    size = _decimal(size_raw)
    if size is None or abs(size) > MAX_QUANTITY:
        raise ParseError(
            "invalid-quantity",
            f"The position size {str(size_raw)[:40]!r} must be a number.",
        )
    if sentiment is None:
        if size == 0:
            sentiment = "flat"
        elif action in ("buy", "sell"):
            sentiment = "long" if action == "buy" else "short"
        else:
            raise ParseError(
                "invalid-sentiment",
                "A market_position_size needs a market_position: long, short or flat.",
            )
    if (sentiment == "flat") != (size == 0):
        raise ParseError(
            "invalid-sentiment",
            f"Sentiment {sentiment} with a position size of {plain(size)} "
            "contradicts itself.",
        )
    return sentiment, abs(size) if sentiment == "long" else -abs(size)


def _check_pair(action: str, sentiment: str, *, sized: bool) -> None:
    allowed = ACTION_SENTIMENTS.get(action)
    if allowed is not None and (sized or sentiment in allowed):
        return
    raise ParseError(
        "invalid-sentiment",
        f"{action} with sentiment {sentiment} contradicts itself"
        + (
            f": {action} goes with {' or '.join(sorted(allowed))} "
            "(or give market_position_size)."
            if allowed
            else f": {action} takes no sentiment."
        ),
    )


def _symbol(body: dict[str, Any], *, required: bool) -> str | None:
    raw = _first(body, "symbol", "ticker", "instrument")
    if raw is None:
        if not required:
            return None
        raise ParseError("missing-symbol", 'Name the instrument: "symbol": "MNQ1!".')
    symbol = str(raw).strip()
    if not SYMBOL_RE.match(symbol):
        raise ParseError(
            "invalid-symbol", f"{symbol[:40]!r} is not a symbol TradeFlow can read."
        )
    return symbol.upper()


# Bounds on any number an alert carries: its magnitude (10^-18 to 10^18) and its
# digits. `Decimal("1E+2147483648")` parses, and dividing it raises
# `decimal.Overflow` (an ArithmeticError); 60,000 digits make every sum slow.
NUMBER_EXPONENTS = range(-18, 19)
NUMBER_DIGITS = 40


def _decimal(value: Any) -> Decimal | None:
    """A finite number of plausible size, or None (the caller says what is wrong)."""
    if isinstance(value, (bool, dict, list)):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if number and number.adjusted() not in NUMBER_EXPONENTS:
        return None
    return number if len(number.as_tuple().digits) <= NUMBER_DIGITS else None


def _quantity_type(body: dict[str, Any], action: str) -> str:
    raw = _first(body, "quantity_type", "quantityType", "qty_type")
    kind = "fixed" if raw is None else str(raw).strip().lower()
    if kind not in QUANTITY_TYPES:
        raise ParseError(
            "invalid-quantity-type",
            f"Unknown quantity_type {str(raw)[:40]!r}: use "
            + ", ".join(sorted(QUANTITY_TYPES))
            + ".",
        )
    if kind == "percent_of_position" and action not in ("exit", "reverse", "add"):
        raise ParseError(
            "invalid-quantity-type",
            "percent_of_position sizes exits (and adds): use it with exit.",
        )
    return kind


def _quantity(
    body: dict[str, Any],
    action: str,
    sentiment: str | None,
    target_size: Decimal | None,
) -> Decimal | None:
    raw = _first(body, "quantity", "qty", "size", "contracts")
    if raw is None:
        if action in ("buy", "sell", "add") and target_size is None:
            if sentiment == "flat":
                return None
            raise ParseError("missing-quantity", 'Give a quantity: "quantity": 1.')
        return None
    return _bounded(
        raw, "invalid-quantity", "The quantity", MAX_QUANTITY, inclusive=True
    )


def _order_type(body: dict[str, Any]) -> str:
    raw = _first(body, "order_type", "orderType", "type")
    kind = "market" if raw is None else str(raw).strip().lower().replace("-", "_")
    if kind in ORDER_TYPES:
        return ORDER_TYPES[kind]
    raise ParseError(
        "invalid-order-type",
        f"Unknown order type {str(raw)[:40]!r}: use market, limit, stop, stop_limit "
        "or trailing_stop.",
    )


def _positive(body: dict[str, Any], *names: str) -> Decimal | None:
    raw = _first(body, *names)
    if raw is None:
        return None
    return _bounded(raw, "invalid-price", names[0], MAX_PRICE)


def _bounded(
    raw: Any, code: str, name: str, maximum: Decimal, *, inclusive: bool = False
) -> Decimal:
    """Above zero and within `maximum`, or a sentence saying which it is not."""
    shown = repr(str(raw)[:40])
    number = _decimal(raw)
    if number is None:
        raise ParseError(code, f"{name} {shown} is not a number TradeFlow can read.")
    if number <= 0:
        raise ParseError(code, f"{name} {shown} must be above zero.")
    if number > maximum or (number == maximum and not inclusive):
        limit = plain(maximum)
        raise ParseError(code, f"{name} {shown} is too large: at most {limit}.")
    return number


def _offset(body: dict[str, Any], *names: str) -> Offset | None:
    raw = _first(body, *names)
    if raw is None:
        return None
    offset = _offset_value(raw)
    if offset is None or not 0 < offset.value < MAX_PRICE:
        raise ParseError(
            "invalid-offset",
            f"{names[0]} {str(raw)[:40]!r} is not a price or a distance: write 4750, "
            '"20t" (ticks), "5pts", "1%" or "$100".',
        )
    return offset


def _offset_value(raw: Any) -> Offset | None:
    if isinstance(raw, dict):
        if "type" in raw or "unit" in raw:
            name, value = str(raw.get("type") or raw.get("unit")), raw.get("value")
        elif len(raw) == 1:
            name, value = next(iter(raw.items()))
        else:
            return None
        kind = OFFSET_UNITS.get(str(name).lower(), "")
        number = _decimal(value)
        return Offset(number, kind) if kind and number is not None else None
    if isinstance(raw, (bool, list)):
        return None
    match = OFFSET_RE.match(str(raw))
    if match is None:
        return None
    dollar, digits, suffix = match.groups()
    unit = OFFSET_UNITS.get("$" if dollar else suffix.lower())
    if unit is None or (dollar and suffix):
        return None
    value = _decimal(digits)
    return None if value is None else Offset(value, unit)


def _time_in_force(body: dict[str, Any]) -> str:
    raw = _first(body, "time_in_force", "timeInForce", "tif")
    if raw is None:
        return ""
    tif = TIME_IN_FORCE.get(str(raw).strip().lower())
    if tif is None:
        raise ParseError(
            "invalid-time-in-force",
            f"Unknown time_in_force {str(raw)[:20]!r}: use day, gtc, ioc or fok.",
        )
    return tif


def _flag(body: dict[str, Any], *names: str) -> bool:
    raw = _first(body, *names)
    return raw is True or str(raw).strip().lower() in ("true", "1", "yes")


def _sent_at(body: dict[str, Any]) -> datetime | None:
    """When the alert fired: `timenow` ({{timenow}}), else `time` (bar time)."""
    raw = _first(body, "timenow", "time_now", "time", "timestamp")
    if raw is None:
        return None
    number = _decimal(raw)
    try:
        if number is not None:  # epoch seconds or milliseconds
            seconds = number / 1000 if number > 10**11 else number
            return datetime.fromtimestamp(float(seconds), tz=UTC)
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        moment = None
    if moment is None:
        raise ParseError(
            "invalid-time",
            f"time {str(raw)[:40]!r} is not a date: use {{{{timenow}}}} "
            "(2026-11-20T14:30:00Z).",
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    raw = body.get(name)
    return "" if raw is None else str(raw)[:limit]


def _name(body: dict[str, Any], *names: str) -> str | None:
    raw = _first(body, *names)
    return str(raw).strip()[:64] if isinstance(raw, (str, int)) else None


def _sender_id(data: dict[str, Any], body: dict[str, Any]) -> str | None:
    raw = _first(data, "id", "client_id", "signal_id") or _first(
        body, "id", "client_id", "signal_id"
    )
    return None if raw is None else str(raw)[:64]


def target_names(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The strategy (bot) and account group a body names, for routing."""
    body: dict[str, Any] = (
        data["intent"] if isinstance(data.get("intent"), dict) else data
    )
    return (
        _name(body, "botname", "bot", "strategy", "strategy_name"),
        _name(body, "account_group", "accountGroup", "group"),
    )
