"""A webhook body as fields: JSON or the plain-text syntax, whatever the content
type says, with the reasons a trader can fix when it cannot be read."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from typing import Any

from webhooks.intake.intents import ParseError

# Where a key may travel in the body (TradingView cannot send headers).
KEY_FIELDS = ("key", "api_key", "apikey", "token", "secret", "passphrase")
# Plain-text `name=value` spellings and the JSON field each one means.
TEXT_ALIASES = {
    "qty": "quantity",
    "size": "quantity",
    "type": "order_type",
    "sl": "stop_loss",
    "tp": "take_profit",
    "trail": "trailing_stop",
    "tif": "time_in_force",
    "bot": "botname",
    "group": "account_group",
    "qty_type": "quantity_type",
}


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body as fields, whatever the content type said: JSON or plain text."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("malformed-body", "The body is not UTF-8 text.", 400) from None
    if "\x00" in text:
        raise ParseError("malformed-body", "The body contains a NUL character.", 400)
    stripped = text.strip()
    if not stripped:
        raise ParseError(
            "empty-body", "The body is empty: send the alert as JSON or text.", 400
        )
    if stripped[0] in '{["“”':
        return parse_json(text)
    return parse_text(stripped)


def parse_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ParseError(
            "malformed-json",
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.{_json_hint(text)}",
            400,
        ) from None
    except RecursionError:
        raise ParseError(
            "malformed-json", "The JSON is nested too deeply.", 400
        ) from None
    except ValueError:  # a number past Python's 4,300-digit conversion limit
        raise ParseError(
            "malformed-json", "A number in the JSON is too long.", 400
        ) from None
    if not isinstance(data, dict):
        raise ParseError(
            "malformed-json", "The body must be a JSON object: {...}.", 400
        )
    _check_strings(data)
    return data


def _check_strings(value: Any, depth: int = 0) -> None:
    """Refuse text no database can store: NUL (\\u0000) and unpaired surrogates."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth)
            _check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad = True
        else:
            bad = "\x00" in value
        if bad:
            raise ParseError(
                "malformed-json",
                "The JSON holds a NUL or an unpaired surrogate escape "
                "(\\u0000, \\ud800): remove it.",
                400,
            )


def _json_hint(text: str) -> str:
    if re.search(r"[\u201c\u201d\u2018\u2019]", text):
        return ' It contains curly quotes (“ ”): use straight quotes (").'
    if re.search(r",\s*[}\]]", text):
        return " It has a trailing comma before a closing bracket."
    if "{{" in text:
        return " It contains an unsubstituted {{placeholder}}."
    return ""


def parse_text(text: str) -> dict[str, Any]:
    """The plain-text syntax: `<action> [<quantity>] <symbol> [name=value ...]`.

    Bare numbers are the quantity, other bare words the symbol; `name=value` pairs
    set any JSON field (`sl=20t tp=40t type=limit price=4750 id=abc`), quoted
    values may hold spaces (`comment="breakout long"`).
    """
    try:
        words = shlex.split(text.replace("\n", " "))
    except ValueError as exc:
        raise ParseError(
            "malformed-text", f"The text alert could not be read: {exc}.", 400
        ) from None
    action, *rest = words
    data: dict[str, Any] = {"action": action}
    for word in rest:
        name, equals, value = word.partition("=")
        if equals:
            name = name.strip().lower()
            data[TEXT_ALIASES.get(name, name)] = value
        elif _is_number(word) and "quantity" not in data:
            data["quantity"] = word
        elif "symbol" not in data:
            data["symbol"] = word
        else:
            raise ParseError(
                "malformed-text",
                f"Unexpected word {word[:40]!r}: write `buy MNQ1! 2 sl=20t`, "
                "extra settings as name=value.",
                400,
            )
    return data


def body_key(data: dict[str, Any]) -> str | None:
    """A key sent in the body, if any (TradingView cannot send headers)."""
    for name in KEY_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value.strip()
    return None


def _is_number(word: str) -> bool:
    try:
        return Decimal(word).is_finite()
    except ArithmeticError:
        return False
