"""The fake Tradovate's world: what it keeps, as dataclasses, and its values.

Users, accounts, contracts and orders (`FakeUser`, `FakeAccount`, `FakeContract`,
`FakeOrder`, each with the row it is served as), what a position row carries
besides its net (`_Book`), the penalty tickets issued (`_Ticket`), an order
validated but not yet booked (`_Leg`) and the knobs a test turns (`Knobs`). And
the values: times and Decimals as Tradovate writes them, CME's trade date, a
request's numbers and enums read back, a refusal (`_RefusedError`) or a 404
(`_NotFoundError`). fake.py describes the fake as a whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.utils import timezone

from .mapping import Action, FailureReason, OrderType, OrdStatus, TimeInForce

ZERO = Decimal(0)
CHICAGO = ZoneInfo("America/Chicago")
ACCESS_DENIED = "Access is denied"


def _now() -> datetime:
    return timezone.now()


def _iso(at: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z, as Tradovate writes times."""
    text = at.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _num(value: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number (an int when whole). The float's shortest repr
    is the decimal itself for any price or amount under 15 significant digits."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _trade_date(at: datetime) -> date:
    """CME's trade date: a new one starts at 17:00 Chicago; weekends skipped."""
    local = at.astimezone(CHICAGO)
    day = local.date()
    if local.hour >= 17:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _trade_date_body(at: datetime) -> dict[str, int]:
    day = _trade_date(at)
    return {"year": day.year, "month": day.month, "day": day.day}


@dataclass
class Knobs:
    latency: float = 0.0
    fail: list[int] = field(default_factory=list)
    drop_after_place: int = 0
    hang: int = 0
    hang_seconds: float = 30.0
    rate_limit: int = 5000  # calls per token per minute (documented general limit)
    penalty: int = 0
    penalty_seconds: int = 1
    captcha: bool = False
    token_seconds: int = 80 * 60
    gather: int = 0
    gather_seconds: float = 5.0


@dataclass
class FakeUser:
    id: int
    name: str
    password: str
    cid: int = 0
    sec: str = ""


@dataclass
class FakeAccount:
    id: int
    name: str
    user: str
    balance: Decimal  # cash: the starting balance plus every realized P&L
    active: bool = True
    max_position: int = 50  # the account's risk limit: contracts held at once
    realized: Decimal = ZERO
    created: datetime = field(default_factory=_now)

    def body(self, user_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "userId": user_id,
            "accountType": "Customer",
            "clearingHouseId": 2,
            "riskCategoryId": 2,
            "autoLiqProfileId": 2,
            "marginAccountType": "Speculator",
            "legalStatus": "Individual",
            "timestamp": _iso(self.created),
            "restricted": False,
            "closed": not self.active,
        }


@dataclass
class FakeContract:
    id: int
    name: str  # Tradovate's: "MNQZ6"
    root: str
    tick: Decimal
    tick_value: Decimal
    code: str = ""  # ours: "MNQZ26"
    maturity_id: int = 0
    margin: Decimal = ZERO  # per contract, from our catalogue
    created: datetime = field(default_factory=_now)

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "contractMaturityId": self.maturity_id,
            "timestamp": _iso(self.created),
        }

    @property
    def point_value(self) -> Decimal:
        return self.tick_value / self.tick


@dataclass
class FakeOrder:
    id: int
    account_id: int
    contract_id: int
    action: Action
    order_type: OrderType
    qty: int
    price: Decimal | None
    stop_price: Decimal | None
    cl_ord_id: str | None
    status: OrdStatus = OrdStatus.WORKING
    parent_id: int | None = None
    linked_id: int | None = None  # the OCO partner
    filled_qty: int = 0
    avg_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    text: str | None = None
    is_automated: bool = True
    triggered: bool = False  # a StopLimit whose stop has been crossed
    created: datetime = field(default_factory=_now)
    updated: datetime | None = None

    @property
    def buy(self) -> bool:
        return self.action == Action.BUY

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "timestamp": _iso(self.created),
            "action": str(self.action),
            "ordStatus": str(self.status),
            "admin": False,
        }
        if self.parent_id is not None:
            answer["parentId"] = self.parent_id
        if self.linked_id is not None:
            answer["linkedId"] = self.linked_id
        return answer


@dataclass
class _Book:
    """What a position row carries besides netPos/netPrice."""

    id: int
    bought: int = 0
    bought_value: Decimal = ZERO
    sold: int = 0
    sold_value: Decimal = ZERO
    updated: datetime = field(default_factory=_now)


@dataclass
class _Ticket:
    signature: str
    issued: datetime
    issued_monotonic: float
    seconds: int
    captcha: bool

    def waited(self) -> bool:
        return (
            _now() - self.issued >= timedelta(seconds=self.seconds)
            or time.monotonic() - self.issued_monotonic >= self.seconds
        )


class _RefusedError(Exception):
    """An order action refused: HTTP 200 with failureReason/failureText."""

    def __init__(self, reason: FailureReason, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text

    def body(self) -> dict[str, Any]:
        return {"failureReason": str(self.reason), "failureText": self.text}


class _NotFoundError(Exception):
    """HTTP 404 with an empty body."""


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise _RefusedError(
            FailureReason.INVALID_PRICE, f"Bad price {value!r}"
        ) from exc


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


E = TypeVar("E", Action, OrderType, TimeInForce)


def _enum(kind: type[E], value: Any, default: E | None = None) -> E:
    if value is None and default is not None:
        return default
    try:
        return kind(str(value))
    except ValueError as exc:
        raise _RefusedError(
            FailureReason.UNKNOWN_REASON, f"Invalid {kind.__name__}: {value!r}"
        ) from exc


@dataclass
class _Leg:
    """A validated order (an entry or a bracket) before it is booked."""

    action: Action
    order_type: OrderType
    qty: int
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    cl_ord_id: str | None
    text: str | None
