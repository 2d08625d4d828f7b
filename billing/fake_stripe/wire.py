"""The fake Stripe's wire format and vocabulary: errors in Stripe's shape,
the answers it sends, form parsing and parameter checks, ids, clocks and the
shapes objects are written in."""

from __future__ import annotations

import calendar
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

Obj = dict[str, Any]
Deliver = Callable[[bytes, dict[str, str]], int]

_ALPHABET = string.ascii_letters + string.digits
_DAY = 86_400
_RETRY_SECONDS = 3 * _DAY  # when a failed invoice is tried again (Smart Retries)
_PRORATIONS = ("always_invoice", "create_prorations", "none")
_INTERVALS = ("day", "month", "week", "year")
_NOUNS = {  # object -> how "No such ...: 'id'" names it
    "checkout.session": "checkout.session",
    "billing_portal.session": "billing_portal.session",
    "subscription_item": "subscription item",
}
_UPDATED = {  # object -> the event its update makes
    "customer": "customer.updated",
    "price": "price.updated",
    "product": "product.updated",
    "subscription": "customer.subscription.updated",
}
# Stripe's line descriptions read "1 <multiplication sign> Pro (at $29.00 / month)".
_TIMES = " \u00d7 "
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


class StripeError(Exception):
    """An error answered in Stripe's shape: `{"error": {...}}` with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: Obj = {"message": message, "type": error_type}
        if code:
            self.error["code"] = code
            self.error["doc_url"] = (
                f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
            )
        if param:
            self.error["param"] = param


def _missing(name: str) -> StripeError:
    return StripeError(
        400,
        f"Missing required param: {name}.",
        code="parameter_missing",
        param=name,
    )


def _no_such(kind: str, id_: str, param: str = "id") -> StripeError:
    noun = _NOUNS.get(kind, kind)
    return StripeError(
        404, f"No such {noun}: '{id_}'", code="resource_missing", param=param
    )


@dataclass
class _Failure:
    """What `fail_next` queued: the next `times` API calls answer this."""

    error: StripeError
    times: int
    should_retry: bool | None


@dataclass(frozen=True)
class _Request:
    """The API call being served: its id and idempotency key name its events."""

    id: str
    idempotency_key: str | None


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer: JSON from the API, HTML or a redirect from a page."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _now() -> int:
    # Read at call time: tests freeze and move the clock with time-machine.
    return int(time.time())


def _new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _add_interval(ts: int, interval: str, count: int) -> int:
    """`ts` moved on by `count` intervals; months clamp to the month's end."""
    if interval in ("day", "week"):
        return ts + count * _DAY * (7 if interval == "week" else 1)
    at = datetime.fromtimestamp(ts, UTC)
    months = at.month - 1 + count * (12 if interval == "year" else 1)
    year, month = at.year + months // 12, months % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return int(at.replace(year=year, month=month, day=day).timestamp())


def parse_form(raw: str) -> Obj:
    """Stripe's form encoding to nested values: `a[b][0]=c` -> {"a": {"b":
    ["c"]}}, `expand[]=x&expand[]=y` -> {"expand": ["x", "y"]}."""
    root: Obj = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if match is None:
            raise StripeError(400, f"Invalid parameter name: {key}", param=key)
        parts = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        node = root
        for position, part in enumerate(parts):
            name = part or str(len(node))  # "[]" appends
            if position == len(parts) - 1:
                node[name] = value
                break
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise StripeError(400, f"Invalid array or hash: {key}", param=key)
            node = child
    listed = _listify(root)
    if not isinstance(listed, dict):
        raise StripeError(400, "Invalid parameter names: indexes at the top level")
    return listed


def _listify(value: Any) -> Any:
    """Hashes whose keys are all indexes become arrays, in index order."""
    if not isinstance(value, dict):
        return value
    items = {key: _listify(sub) for key, sub in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _allow(params: Obj, allowed: Iterable[str], prefix: str = "") -> None:
    known = set(allowed)
    for key in params:
        if key not in known and not (key == "expand" and not prefix):
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )


def _int(value: Any, name: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(
            400,
            f"Invalid integer: {value}",
            code="parameter_invalid_integer",
            param=name,
        ) from None
    if number < minimum:
        raise StripeError(
            400,
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=name,
        )
    return number


def _bool(value: Any, name: str) -> bool:
    if value in ("true", "false"):
        return bool(value == "true")
    raise StripeError(
        400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
    )


def _choice(value: Any, choices: Iterable[str], name: str) -> str:
    options = sorted(choices)
    if value not in options:
        listed = ", ".join(options[:-1]) + f", or {options[-1]}"
        raise StripeError(400, f"Invalid {name}: must be one of {listed}", param=name)
    return str(value)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {value!r}", param=name)
    return value


def _metadata(current: Obj, update: Any, name: str = "metadata") -> Obj:
    """Stripe's metadata update: keys merge, "" unsets a key or the whole."""
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise StripeError(400, "Invalid object", param=name)
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = _text(value, f"{name}[{key}]")
    return merged


def _expand_paths(params: Obj) -> list[str]:
    value = params.get("expand", [])
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise StripeError(400, "Invalid array", param="expand")
    return paths


def _nulls(names: str) -> Obj:
    """Fields that are null until something sets them."""
    return dict.fromkeys(names.split())


def _shape(id_: str, kind: str, **fields: Any) -> Obj:
    """An object as Stripe writes it: id, object, then its fields by name."""
    return {"id": id_, "object": kind, **dict(sorted(fields.items()))}


def _list_of(data: list[Obj], url: str, *, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _money(amount: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    value = f"{amount / 100:,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"
