"""The fake TradeLocker's world: what it keeps, as dataclasses, and its values.

Users, accounts, instruments, orders and positions (`FakeUser`, `FakeAccount`,
`FakeInstrument`, `FakeOrder`, `FakePosition`, each with the row or list it is
served as), the tokens it issued and who is calling `/trade/*`; the instruments
every fake lists from the start (`CATALOGUE`); the knobs a test turns (`Knobs`).
And the values: Decimals as TradeLocker's strings write them, a request's numbers,
ids and enums read back, a bad one refused (`_RefusedError`). fake.py describes
the fake as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils import timezone

from .mapping import (
    FINAL_STATUSES,
    OrderKind,
    OrderStatus,
    Side,
    StopLossType,
    TakeProfitType,
    Validity,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_QUOTES = "No quotes"


def _now() -> datetime:
    return timezone.now()


def _ms(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


def _text(value: Decimal) -> str:
    """A Decimal as TradeLocker's strings write it: plain, no trailing zeros."""
    return format((value + 0).normalize(), "f")


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


class _RefusedError(Exception):
    """A refusal: HTTP `status` with `{"s": "error", "errmsg": text}`."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def _dec(value: Any, name: str) -> Decimal | None:
    """A JSON number or a numeric string as a Decimal; None/"" as None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RefusedError(f"Invalid {name}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _RefusedError(f"Invalid {name}") from exc
    if not number.is_finite():
        raise _RefusedError(f"Invalid {name}")
    return number


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


E = TypeVar("E", Side, OrderKind, Validity, StopLossType, TakeProfitType)


def _enum(kind: type[E], value: Any, name: str) -> E:
    try:
        return kind(str(value))
    except ValueError as exc:
        raise _RefusedError(f"Invalid {name}: {value!r}") from exc


@dataclass
class Knobs:
    latency: float = 0.0
    fail: list[int] = field(default_factory=list)
    drop_after_place: int = 0
    drop_after_close: int = 0
    hang: int = 0
    hang_seconds: float = 30.0
    token_seconds: int = 3600
    refresh_seconds: int = 7 * 24 * 3600
    rate_limits_enforced: bool = True
    shuffle_columns: bool = False
    gather: int = 0
    gather_seconds: float = 5.0


@dataclass
class FakeUser:
    email: str
    password: str
    server: str


@dataclass
class FakeAccount:
    id: int
    acc_num: int
    name: str
    email: str
    balance: Decimal  # the starting balance plus every realized P&L
    currency: str = "USD"
    status: str = "ACTIVE"

    def listed(self) -> dict[str, Any]:
        """As /auth/jwt/all-accounts lists it: ids and balance as strings."""
        return {
            "id": str(self.id),
            "name": self.name,
            "currency": self.currency,
            "accNum": str(self.acc_num),
            "accountBalance": _money(self.balance),
            "status": self.status,
        }


@dataclass
class FakeInstrument:
    tradable_instrument_id: int
    id: int
    name: str
    trade_route: int
    info_route: int
    lot_size: Decimal
    tick_size: Decimal
    base_currency: str = ""
    quoting_currency: str = "USD"
    description: str = ""
    kind: str = "FOREX"
    min_lot: Decimal = Decimal("0.01")
    max_lot: Decimal = Decimal(100)
    lot_step: Decimal = Decimal("0.01")

    def listed(self) -> dict[str, Any]:
        return {
            "tradableInstrumentId": self.tradable_instrument_id,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": self.kind,
            "tradingExchange": "TRADELOCKER",
            "marketDataExchange": "TRADELOCKER",
            "country": None,
            "logoUrl": None,
            "localizedName": self.name,
            "routes": [
                {"id": self.trade_route, "type": "TRADE"},
                {"id": self.info_route, "type": "INFO"},
            ],
            "barSource": "BID",
            "hasIntraday": True,
            "hasDaily": True,
        }

    def details(self) -> dict[str, Any]:
        return {
            "tradableInstrumentId": self.tradable_instrument_id,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": self.kind,
            "lotSize": self.lot_size,
            "tickSize": [{"leftRangeLimit": 0, "tickSize": self.tick_size}],
            "minLot": self.min_lot,
            "maxLot": self.max_lot,
            "lotStep": self.lot_step,
            "baseCurrency": self.base_currency,
            "quotingCurrency": self.quoting_currency,
            "marketDataExchange": "TRADELOCKER",
            "tradingExchange": "TRADELOCKER",
            "country": None,
            "localizedName": self.name,
        }


@dataclass
class FakeOrder:
    id: int
    account_id: int
    tradable_instrument_id: int
    route_id: int
    side: Side
    type: OrderKind
    qty: Decimal  # lots
    price: Decimal | None
    stop_price: Decimal | None
    validity: Validity
    status: OrderStatus = OrderStatus.ACCEPTED
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    position_id: int | None = None
    strategy_id: str | None = None
    # As placed: a price for "absolute", a distance for the offsets.
    stop_loss: Decimal | None = None
    stop_loss_type: StopLossType | None = None
    take_profit: Decimal | None = None
    take_profit_type: TakeProfitType | None = None
    closing: bool = False  # closes `position_id` rather than opening a position
    created: datetime = field(default_factory=_now)
    modified: datetime = field(default_factory=_now)

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES

    @property
    def buy(self) -> bool:
        return self.side == Side.BUY

    def row(self) -> dict[str, str | None]:
        def opt(value: Decimal | None) -> str | None:
            return None if value is None else _text(value)

        return {
            "id": str(self.id),
            "tradableInstrumentId": str(self.tradable_instrument_id),
            "routeId": str(self.route_id),
            "qty": _text(self.qty),
            "side": str(self.side),
            "type": str(self.type),
            "status": str(self.status),
            "filledQty": _text(self.filled_qty),
            "avgPrice": opt(self.avg_price),
            "price": opt(self.price),
            "stopPrice": opt(self.stop_price),
            "validity": str(self.validity),
            "expireDate": None,
            "createdDate": str(_ms(self.created)),
            "lastModified": str(_ms(self.modified)),
            "isOpen": "true" if self.is_open else "false",
            "positionId": None if self.position_id is None else str(self.position_id),
            "stopLoss": opt(self.stop_loss),
            "stopLossType": None
            if self.stop_loss_type is None
            else str(self.stop_loss_type),
            "takeProfit": opt(self.take_profit),
            "takeProfitType": None
            if self.take_profit_type is None
            else str(self.take_profit_type),
            "strategyId": self.strategy_id,
        }


@dataclass
class FakePosition:
    id: int
    account_id: int
    tradable_instrument_id: int
    route_id: int
    side: Side
    qty: Decimal  # lots still open
    avg_price: Decimal
    order_id: int  # the order whose fill opened it
    stop_loss: Decimal | None = None  # absolute prices
    take_profit: Decimal | None = None
    strategy_id: str | None = None
    stop_loss_id: int = 0
    take_profit_id: int = 0
    trailing_offset: Decimal | None = None
    opened: datetime = field(default_factory=_now)

    @property
    def buy(self) -> bool:
        return self.side == Side.BUY


@dataclass
class _Token:
    email: str
    expires: datetime


@dataclass
class _Context:
    """Who is calling /trade/*: the token's user and the accNum's account."""

    token: str
    user: FakeUser
    account: FakeAccount


# name -> (lot size, tick size, base, quote, description, type)
CATALOGUE: dict[str, tuple[Decimal, Decimal, str, str, str, str]] = {
    "EURUSD": (
        Decimal(100_000),
        Decimal("0.00001"),
        "EUR",
        "USD",
        "Euro vs US Dollar",
        "FOREX",
    ),
    "GBPUSD": (
        Decimal(100_000),
        Decimal("0.00001"),
        "GBP",
        "USD",
        "Great Britain Pound vs US Dollar",
        "FOREX",
    ),
    "USDJPY": (
        Decimal(100_000),
        Decimal("0.001"),
        "USD",
        "JPY",
        "US Dollar vs Japanese Yen",
        "FOREX",
    ),
    "XAUUSD": (
        Decimal(100),
        Decimal("0.01"),
        "XAU",
        "USD",
        "Gold vs US Dollar - Spot",
        "FOREX",
    ),
    "US30": (Decimal(1), Decimal("0.1"), "US30", "USD", "Dow Jones 30", "CFD"),
    "NAS100": (Decimal(1), Decimal("0.1"), "NAS100", "USD", "Nasdaq 100", "CFD"),
}
