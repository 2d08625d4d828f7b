"""Turning a webhook body into one internal intent, or a reason a trader can fix."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SYMBOL_RE = re.compile(r"^[A-Za-z0-9_.:!/\-]{1,32}$")
MAX_QUANTITY = Decimal(1_000_000)
SIDES = {"buy": "buy", "sell": "sell", "long": "buy", "short": "sell"}
# Actions TradingView users send that this version does not execute yet.
LATER_ACTIONS = {"exit", "flatten", "close_all", "cancel", "reverse", "add"}
ORDER_TYPES = {"market"}
LATER_ORDER_TYPES = {"limit", "stop", "stop_limit", "stoplimit", "trailing_stop"}


class ParseError(Exception):
    def __init__(self, code: str, message: str, http_status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class Intent:
    side: str
    symbol: str
    quantity: Decimal
    order_type: str
    price: Decimal | None
    sender_id: str | None

    def as_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["quantity"] = str(self.quantity)
        data["price"] = None if self.price is None else str(self.price)
        return data


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, whatever the content type said."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("malformed-body", "The body is not UTF-8 text.", 400) from None
    if not text.strip():
        raise ParseError(
            "empty-body", "The body is empty: send the alert as JSON.", 400
        )
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ParseError(
            "malformed-json",
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.{_json_hint(text)}",
            400,
        ) from None
    if not isinstance(data, dict):
        raise ParseError(
            "malformed-json", "The body must be a JSON object: {...}.", 400
        )
    return data


def _json_hint(text: str) -> str:
    if re.search(r"[\u201c\u201d\u2018\u2019]", text):
        return ' It contains curly quotes (“ ”): use straight quotes (").'
    if re.search(r",\s*[}\]]", text):
        return " It has a trailing comma before a closing bracket."
    if "{{" in text:
        return " It contains an unsubstituted {{placeholder}}."
    return ""


def intent_from_payload(data: dict[str, Any], broker: str) -> Intent:
    """Read the unify.v1 envelope or TradingView's flat JSON into an Intent."""
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
        if named and str(named).lower() != broker:
            raise ParseError(
                "broker-mismatch",
                f"The intent names broker {named!r} "
                f"but was posted to /webhook/{broker}.",
                400,
            )
    else:
        body = data
    _reject_placeholders(body)
    return Intent(
        side=_side(body),
        symbol=_symbol(body),
        quantity=_quantity(body),
        order_type=_order_type(body),
        price=_price(body),
        sender_id=_sender_id(data, body),
    )


def _reject_placeholders(body: dict[str, Any]) -> None:
    for key, value in body.items():
        if isinstance(value, str) and "{{" in value and "}}" in value:
            raise ParseError(
                "unsubstituted-placeholder",
                f"Field {key!r} still holds {value!r}: "
                "TradingView did not substitute it.",
            )


def _first(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if body.get(name) not in (None, ""):
            return body[name]
    return None


def _side(body: dict[str, Any]) -> str:
    raw = _first(body, "side", "action")
    if raw is None:
        raise ParseError("missing-action", 'Say what to do: "action": "buy" or "sell".')
    action = str(raw).strip().lower()
    if action in SIDES:
        return SIDES[action]
    if action in LATER_ACTIONS:
        raise ParseError(
            "unsupported-action",
            f"The action {action!r} is not supported yet: use buy or sell.",
        )
    raise ParseError("invalid-action", f"Unknown action {raw!r}: use buy or sell.")


def _symbol(body: dict[str, Any]) -> str:
    raw = _first(body, "symbol", "ticker")
    if raw is None:
        raise ParseError("missing-symbol", 'Name the instrument: "symbol": "MNQ1!".')
    symbol = str(raw).strip()
    if not SYMBOL_RE.match(symbol):
        raise ParseError(
            "invalid-symbol", f"{symbol[:40]!r} is not a symbol TradeFlow can read."
        )
    return symbol.upper()


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _quantity(body: dict[str, Any]) -> Decimal:
    raw = _first(body, "qty", "quantity", "size", "contracts")
    if raw is None:
        raise ParseError("missing-quantity", 'Give a quantity: "qty": 1.')
    quantity = _decimal(raw)
    if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ParseError(
            "invalid-quantity",
            f"The quantity {str(raw)[:40]!r} must be a number above zero.",
        )
    return quantity


def _order_type(body: dict[str, Any]) -> str:
    raw = _first(body, "type", "order_type", "orderType")
    kind = "market" if raw is None else str(raw).strip().lower()
    if kind in ORDER_TYPES:
        return kind
    if kind in LATER_ORDER_TYPES:
        raise ParseError(
            "unsupported-order-type",
            f"{kind} orders are not supported yet: use market.",
        )
    raise ParseError("invalid-order-type", f"Unknown order type {str(raw)[:40]!r}.")


def _price(body: dict[str, Any]) -> Decimal | None:
    raw = _first(body, "price", "close")
    if raw is None:
        return None
    price = _decimal(raw)
    if price is None or price <= 0:
        raise ParseError(
            "invalid-price", f"The price {str(raw)[:40]!r} must be a number above zero."
        )
    return price


def _sender_id(data: dict[str, Any], body: dict[str, Any]) -> str | None:
    raw = _first(data, "id", "client_id") or _first(body, "id", "client_id")
    return None if raw is None else str(raw)[:64]
