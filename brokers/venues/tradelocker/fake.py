"""A faithful fake TradeLocker REST API: real HTTP on loopback, for tests and benches.

It serves the documented surface (`reference/brokers.md` §2 and its 2026-12
corrections §1.3) under `/backend-api`, the base URL a client is given (`url`).
`/auth/*` answers are bare JSON; `/trade/*` answers are `{"s": "ok", "d": ...}`
(only `{"s": "ok"}` for actions that return nothing: modify, cancel, close) and a
refusal is `{"s": "error", "errmsg": ...}` with HTTP 400. Every `/trade/*` call
needs `Authorization: Bearer <accessToken>` (missing, unknown or expired: HTTP
401) and the header `accNum` naming one of the user's accounts — the same one as
the `accountId` in the path, and the account that owns the order or position an
`/trade/orders/{id}` or `/trade/positions/{id}` call names (missing or not
matching: HTTP 400). Unknown query parameters (the vendor client's `ref`, `v`,
`locale`) are ignored; JSON numbers and numeric strings are both accepted.

Endpoints: POST /auth/jwt/token (201), POST /auth/jwt/refresh (201, both tokens
rotate, the old refresh token stops working), GET /auth/jwt/all-accounts, GET
/trade/config, GET /trade/accounts, GET /trade/accounts/{id}/instruments, GET
/trade/instruments/{tradableInstrumentId}?routeId=<INFO>, GET
/trade/quotes?tradableInstrumentId&routeId=<INFO>, GET /trade/history (always
`{"s": "no_data"}`: the fake keeps no bars), GET /trade/accounts/{id}/state,
/orders (GET working, POST place, DELETE cancel all [?tradableInstrumentId]),
/ordersHistory, /executions, /positions (GET, DELETE close all
[?tradableInstrumentId]), PATCH and DELETE /trade/orders/{id}, PATCH and DELETE
/trade/positions/{id} (DELETE body `{"qty": "0"}`: 0 closes it all, else the lots
to close). Not served (404): dailyBar, depth, sessions, sessionStatuses, streams.

Behind it a matching engine simple enough to trust: `price()` sets the bid and ask
of an instrument. Market orders fill at once, buys at the ask and sells at the
bid (none yet: refused "No quotes"); limit and stop orders rest (`Accepted`)
until the quote crosses them, then fill at that quote. Positions are
hedging-style: every filled order opens its own position, with an id of its own
(not the order's: the order row's `positionId` names it), and an order of the
opposite side opens an opposite position rather than closing one — netting is an
account option we do not model, so an adapter closes positions explicitly (DELETE
/trade/positions/{id}). A position's stop loss and take profit (absolute prices;
`offset` and `trailingOffset` are distances in price units, turned into prices
from the fill price; a trailing stop follows the best close price) close it when
the closing side of the quote (bid for a buy, ask for a sell) reaches them, at
that quote. A close books its P&L, `(exit - entry) * qty * lotSize` (negated for
a sell), into the balance in the account currency: as is when the instrument is
quoted in it, divided by the exit price when it is the base currency (USDJPY),
as is otherwise (no cross rates); rounded to the cent. No commission, no margin.

Ids: accounts from 712345; order, position, execution and protective-order ids
are 19-digit numbers from one counter, so an order id is never a position id.
Row values are strings (`null` where there is none; `stopLossId`/`takeProfitId`
"0" when there is none), timestamps epoch milliseconds from
`django.utils.timezone.now()` (a frozen test clock moves them).

Knobs a test turns (`FakeTradeLocker.knobs`): `latency` (seconds before each
answer), `fail` (HTTP statuses the next calls answer with, empty body),
`drop_after_place` (the next N placements are booked, then answered 500),
`drop_after_close` (the same for the next N closes of a position by id),
`hang` + `hang_seconds` (the next N calls answer late), `token_seconds` (access
token life, 3600) and `refresh_seconds` (7 days), `rate_limits_enforced`,
`shuffle_columns` (serve the /trade/config columns, and the rows with them, in
reverse: only a client that reads by name keeps working) and `gather` /
`gather_seconds` (each placement waits until this many are in flight at once, or
`gather_seconds` pass; `placements.peak` says how many were). `calls` records every
request as "METHOD /path" without `/backend-api` and without the query string.

Rate limits are per access token and route type, as `/trade/config` advertises
them (`RATE_LIMITS`: PLACE_ORDER 2 a second, GET_* and QUOTES 10 a second,
MODIFY_ORDER / MODIFY_POSITION 5 a second, ...); a call past one is HTTP 429
`{"s": "error", "errmsg": "Rate limit exceeded"}` and does not count against the
window. Windows run on `time.monotonic()`, so a frozen clock does not hold them.
Tests that place more than two orders a second turn `rate_limits_enforced` off.

    with FakeTradeLocker.running() as fake:
        fake.user("trader@example.com", "secret", "OSP-DEMO")
        account = fake.account("trader@example.com", "OSP#712345")
        eurusd = fake.instrument("EURUSD")
        fake.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
        ...  # a TradeLocker client on fake.url (".../backend-api")

Confirmed (docs corpus, read 2026-12):
- Base URLs `https://demo.tradelocker.com/backend-api` and live; the JWT is sent
  as `Authorization: Bearer`; /auth/jwt/token takes email, password, server:
  https://public-api.tradelocker.com/
- POST /auth/jwt/token answers 201 Created with `JWTTokensResponse`
  (accessToken, refreshToken), 400 Bad Request otherwise (OpenAPI "Trading API"
  2.11.0): https://public-api.tradelocker.com/reference/getjwttokens.md
- A filled order leaves /orders for /ordersHistory and a new position gets "its
  own positionId (different than the original orderId)", found through the
  `positionId` of the ordersHistory row:
  https://public-api.tradelocker.com/docs/difference-between-orderid-and-positionid
- From the vendor's Python client (TradeLocker/tradelocker-python,
  `src/tradelocker/tradelocker_api.py`, `types.py`; read as reference): the
  column sets and config keys (executions are read with `filledOrdersConfig`),
  the rate-limit shape {rateLimitType, measure SECONDS|MINUTES, intervalNum,
  limit} and route names, `limits` [{limitType: QUOTES_HISTORY_BARS, limit}],
  the INFO route for quotes and instrument details and the TRADE route for
  orders, `{"qty": str}` as the body of DELETE /trade/positions/{id}, the order
  body (qty, routeId and tradableInstrumentId sent as strings), `d.orderId` a
  string, /trade/accounts answering a list, the final statuses.

Assumed (not in any source we have):
- `expireDate` (ISO-8601 UTC, milliseconds, Z) as the expiry field of the token
  answers; JWT-shaped tokens whose payload carries `exp` (the vendor client
  reads it unverified); the fake checks tokens by lookup, not by signature.
- Wrong credentials: HTTP 400 `{"s": "error", "errmsg": "Invalid credentials"}`;
  emails compared case-insensitively; the server name must match exactly. An
  unknown or spent refresh token: HTTP 401. A bad token on /trade/*: 401
  `{"s": "error", "errmsg": "Unauthorized"}`.
- The accNum refusals' wording; every business refusal is HTTP 400 and its
  `errmsg` wording is ours ("No quotes", "Invalid routeId", ...).
- ids and balances as strings in all-accounts (as brokers.md §2.2 infers).
- Working statuses `Accepted` (resting); `executionsConfig` is served as an
  alias of `filledOrdersConfig` (no source shows it: read `filledOrdersConfig`).
- Which route type each action counts against: cancels count as MODIFY_ORDER,
  closes as MODIFY_POSITION; /trade/config and /auth/* are not limited.
- Validation: qty at least minLot (0.01), at most maxLot (100) and a multiple of
  lotStep (0.01); prices, stop prices and absolute SL/TP on the tick grid; an
  absolute stop loss on the losing side and take profit on the winning side of
  the order's price (for a market order, the closing side of the quote: the
  bid for a buy); a 0 SL/TP means none; a stop order already crossed fills at once;
  strategyId at most 31 characters; refused placements book nothing.
- SL/TP are kept on the position (`stop_loss`, `take_profit`), not listed as
  orders; their ids (`stopLossId`/`takeProfitId`) are real enough that DELETE
  /trade/orders/{that id} removes the protection and PATCH it with `stopPrice`
  (SL) or `price` (TP) moves it; the closing order an SL/TP fill leaves in
  ordersHistory has that id. A manual close leaves a filled market order there.
- PATCH /trade/positions/{id}: `stopLoss`/`takeProfit` with an optional type
  (absolute by default; an offset from the position's price, a trailingOffset
  from the current close price); null removes; a key left out is unchanged.
- Quote sizes (`as`, `bs`) are a constant 100; instrument types FOREX/CFD.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from django.utils import timezone

from brokers.venues.fakes import Placements, answer_http, serve_on_loopback

from .mapping import (
    ACCOUNT_DETAIL_COLUMNS,
    EXECUTION_COLUMNS,
    FINAL_STATUSES,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
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
PREFIX = "/backend-api"
FIRST_ACCOUNT_ID = 712_345
FIRST_TRADE_ID = 7_205_759_403_792_832_101
MAX_STRATEGY_ID = 31
QUOTE_SIZE = Decimal(100)
HISTORY_BARS = 20_000

INVALID_CREDENTIALS = "Invalid credentials"
UNAUTHORIZED = "Unauthorized"
ACC_NUM_REQUIRED = "accNum header is required"
ACC_NUM_MISMATCH = "accNum header does not match the account"
RATE_LIMITED = "Rate limit exceeded"
NO_QUOTES = "No quotes"

# rateLimitType -> (measure, intervalNum, limit), as /trade/config serves them.
RATE_LIMITS: dict[str, tuple[str, int, int]] = {
    "GET_ACCOUNTS": ("SECONDS", 1, 10),
    "GET_EXECUTIONS": ("SECONDS", 1, 10),
    "GET_INSTRUMENTS": ("SECONDS", 1, 10),
    "GET_ORDERS": ("SECONDS", 1, 10),
    "GET_ORDERS_HISTORY": ("SECONDS", 1, 10),
    "GET_POSITIONS": ("SECONDS", 1, 10),
    "GET_ACCOUNTS_STATE": ("SECONDS", 1, 10),
    "GET_INSTRUMENT_DETAILS": ("SECONDS", 1, 10),
    "GET_TRADE_SESSIONS": ("SECONDS", 1, 10),
    "GET_SESSION_STATUSES": ("SECONDS", 1, 10),
    "PLACE_ORDER": ("SECONDS", 1, 2),
    "MODIFY_ORDER": ("SECONDS", 1, 5),
    "MODIFY_POSITION": ("SECONDS", 1, 5),
    "DAILY_BAR": ("SECONDS", 1, 10),
    "QUOTES": ("SECONDS", 1, 10),
    "DEPTH": ("SECONDS", 1, 10),
    "TRADES": ("SECONDS", 1, 10),
    "QUOTES_HISTORY": ("MINUTES", 1, 60),
}

COLUMN_DESCRIPTIONS = {"id": "Id", "qty": "Quantity", "avgPrice": "Average price"}


def _now() -> datetime:
    return timezone.now()


def _iso(at: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


def _text(value: Decimal) -> str:
    """A Decimal as TradeLocker's strings write it: plain, no trailing zeros."""
    return format((value + 0).normalize(), "f")


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def _num(value: Decimal) -> int | float:
    """A Decimal as a JSON number (an int when whole; the float's shortest repr is
    the decimal itself for any price or size under 15 significant digits)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(email: str, expires: datetime, kind: str) -> str:
    """A JWT-shaped token: a client may read `exp` from it, unverified."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "sub": email,
        "type": kind,
        "iat": int(_now().timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return ".".join(
        (
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(payload).encode()),
            _b64(secrets.token_bytes(32)),
        )
    )


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


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: str
    limit: str | None  # the rate-limit type it counts against


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


class FakeTradeLocker:
    """The fake's state and its ASGI app. Thread-safe: the server runs in a thread."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.lock = threading.RLock()
        self._account_ids = itertools.count(FIRST_ACCOUNT_ID)
        self._trade_ids = itertools.count(FIRST_TRADE_ID)
        self._instrument_seq = itertools.count(1)
        self.users: dict[str, FakeUser] = {}  # lower-cased email -> user
        self.accounts: dict[int, FakeAccount] = {}
        self.instruments: dict[int, FakeInstrument] = {}  # by tradableInstrumentId
        self.quotes: dict[int, tuple[Decimal, Decimal]] = {}  # id -> (bid, ask)
        self.orders: dict[int, FakeOrder] = {}
        self.positions: dict[int, FakePosition] = {}  # open ones
        self.closed: list[FakePosition] = []  # closed ones, qty as last open
        self.executions: list[dict[str, Any]] = []
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Token] = {}
        self.calls: list[str] = []
        self.hits: dict[tuple[str, str], list[float]] = {}  # (token, type) -> times
        self.placements = Placements()  # placements in flight
        self.url = ""
        for name in CATALOGUE:
            self.instrument(name)

    @property
    def tokens(self) -> dict[str, _Token]:
        """The access tokens issued and not expired by `expire_tokens` (token ->
        its user and expiry); `refresh_tokens` holds the refresh ones."""
        with self.lock:
            return dict(self.access_tokens)

    # --- Setting the world up ---------------------------------------------------------

    def user(self, email: str, password: str, server: str) -> None:
        with self.lock:
            self.users[email.strip().lower()] = FakeUser(email, password, server)

    def account(
        self,
        email: str,
        name: str,
        *,
        balance: Decimal = Decimal(100_000),
        currency: str = "USD",
    ) -> FakeAccount:
        with self.lock:
            key = email.strip().lower()
            if key not in self.users:
                raise KeyError(f"no user {email!r}: call fake.user() first")
            acc_num = 1 + sum(1 for a in self.accounts.values() if a.email == key)
            account = FakeAccount(
                next(self._account_ids), acc_num, name, key, balance, currency
            )
            self.accounts[account.id] = account
            return account

    def instrument(
        self,
        name: str,
        *,
        lot_size: Decimal | None = None,
        tick_size: Decimal | None = None,
        base_currency: str | None = None,
        quoting_currency: str | None = None,
        description: str | None = None,
    ) -> FakeInstrument:
        """The instrument of that name, listing it first if it is not yet."""
        with self.lock:
            for known in self.instruments.values():
                if known.name == name:
                    return known
            forex = len(name) == 6 and name.isalpha()
            lot, tick, base, quote, text, kind = CATALOGUE.get(
                name,
                (
                    Decimal(100_000) if forex else Decimal(1),
                    Decimal("0.001" if name.endswith("JPY") else "0.00001")
                    if forex
                    else Decimal("0.01"),
                    name[:3] if forex else name,
                    name[3:] if forex else "USD",
                    name,
                    "FOREX" if forex else "CFD",
                ),
            )
            n = next(self._instrument_seq)
            instrument = FakeInstrument(
                tradable_instrument_id=200 + n * 7,
                id=5000 + n * 11,
                name=name,
                trade_route=9000 + n,
                info_route=8000 + n,
                lot_size=lot if lot_size is None else lot_size,
                tick_size=tick if tick_size is None else tick_size,
                base_currency=base if base_currency is None else base_currency,
                quoting_currency=quote
                if quoting_currency is None
                else quoting_currency,
                description=text if description is None else description,
                kind=kind,
            )
            self.instruments[instrument.tradable_instrument_id] = instrument
            return instrument

    def price(
        self, name_or_tradable_id: str | int, bid: Decimal, ask: Decimal | None = None
    ) -> None:
        """Move an instrument's quote (ask defaults to the bid): the resting orders
        and the stops and targets it reaches fill."""
        with self.lock:
            instrument = self._instrument(name_or_tradable_id)
            if instrument is None:
                raise KeyError(name_or_tradable_id)
            self.quotes[instrument.tradable_instrument_id] = (
                bid,
                bid if ask is None else ask,
            )
            self._match(instrument.tradable_instrument_id)

    def expire_tokens(self, *, refresh: bool = False) -> None:
        """Every access token stops working (and the refresh tokens, with
        `refresh=True`): the next call is a 401."""
        with self.lock:
            self.access_tokens.clear()
            if refresh:
                self.refresh_tokens.clear()

    def _instrument(self, key: str | int | None) -> FakeInstrument | None:
        if key is None:
            return None
        if isinstance(key, int) or str(key).isdigit():
            return self.instruments.get(int(key))
        for instrument in self.instruments.values():
            if instrument.name == key:
                return instrument
        return None

    # --- Matching -----------------------------------------------------------------

    def _match(self, instrument_id: int) -> None:
        for order in sorted(self.orders.values(), key=lambda o: o.id):
            if order.tradable_instrument_id == instrument_id and order.is_open:
                self._try_fill(order)
        for position in sorted(self.positions.values(), key=lambda p: p.id):
            if position.tradable_instrument_id == instrument_id:
                self._protect(position)

    def _try_fill(self, order: FakeOrder) -> bool:
        """Fill `order` if the quote reaches it; whether it did."""
        quote = self.quotes.get(order.tradable_instrument_id)
        if quote is None or not order.is_open:
            return False
        bid, ask = quote
        at = ask if order.buy else bid
        if order.type == OrderKind.LIMIT:
            assert order.price is not None
            if (at > order.price) if order.buy else (at < order.price):
                return False
        elif order.type == OrderKind.STOP:
            assert order.stop_price is not None
            if (at < order.stop_price) if order.buy else (at > order.stop_price):
                return False
        self._fill(order, at)
        return True

    def _execution(self, order: FakeOrder, price: Decimal, position_id: int) -> None:
        self.executions.append(
            {
                "id": next(self._trade_ids),
                "accountId": order.account_id,
                "price": price,
                "side": str(order.side),
                "createdDate": _ms(_now()),
                "qty": order.qty,
                "orderId": order.id,
                "positionId": position_id,
                "tradableInstrumentId": order.tradable_instrument_id,
            }
        )

    def _fill(self, order: FakeOrder, price: Decimal) -> None:
        order.status, order.filled_qty, order.avg_price, order.modified = (
            OrderStatus.FILLED,
            order.qty,
            price,
            _now(),
        )
        if order.closing:
            return  # `_close` books the rest
        position = FakePosition(
            id=next(self._trade_ids),
            account_id=order.account_id,
            tradable_instrument_id=order.tradable_instrument_id,
            route_id=order.route_id,
            side=order.side,
            qty=order.qty,
            avg_price=price,
            order_id=order.id,
            strategy_id=order.strategy_id,
        )
        sign = 1 if order.buy else -1
        if order.stop_loss is not None and order.stop_loss_type is not None:
            if order.stop_loss_type == StopLossType.ABSOLUTE:
                position.stop_loss = order.stop_loss
            else:
                position.stop_loss = price - sign * order.stop_loss
                if order.stop_loss_type == StopLossType.TRAILING_OFFSET:
                    position.trailing_offset = order.stop_loss
            position.stop_loss_id = next(self._trade_ids)
        if order.take_profit is not None and order.take_profit_type is not None:
            if order.take_profit_type == TakeProfitType.ABSOLUTE:
                position.take_profit = order.take_profit
            else:
                position.take_profit = price + sign * order.take_profit
            position.take_profit_id = next(self._trade_ids)
        order.position_id = position.id
        self.positions[position.id] = position
        self._execution(order, price, position.id)
        self._protect(position)

    def _closing_price(self, position: FakePosition) -> Decimal | None:
        quote = self.quotes.get(position.tradable_instrument_id)
        if quote is None:
            return None
        return quote[0] if position.buy else quote[1]

    def _protect(self, position: FakePosition) -> None:
        """Trail the stop, then close the position if its stop or target is hit."""
        if position.id not in self.positions:
            return
        at = self._closing_price(position)
        if at is None:
            return
        if position.trailing_offset is not None and position.stop_loss is not None:
            trailed = (
                at - position.trailing_offset
                if position.buy
                else (at + position.trailing_offset)
            )
            better = (
                trailed > position.stop_loss
                if position.buy
                else (trailed < position.stop_loss)
            )
            if better:
                position.stop_loss = trailed
        stop, target = position.stop_loss, position.take_profit
        if stop is not None and ((at <= stop) if position.buy else (at >= stop)):
            self._close(position, position.qty, at, kind=OrderKind.STOP)
        elif target is not None and (
            (at >= target) if position.buy else (at <= target)
        ):
            self._close(position, position.qty, at, kind=OrderKind.LIMIT)

    def _pnl(
        self, position: FakePosition, qty: Decimal, exit_price: Decimal
    ) -> Decimal:
        instrument = self.instruments[position.tradable_instrument_id]
        account = self.accounts[position.account_id]
        move = exit_price - position.avg_price
        if not position.buy:
            move = -move
        pnl = move * qty * instrument.lot_size
        if (
            instrument.quoting_currency != account.currency
            and instrument.base_currency == account.currency
            and exit_price
        ):
            pnl /= exit_price
        return pnl

    def _close(
        self,
        position: FakePosition,
        qty: Decimal,
        price: Decimal,
        *,
        kind: OrderKind = OrderKind.MARKET,
    ) -> FakeOrder:
        """Close `qty` lots of `position` at `price` with a filled closing order
        (a market order, or the stop / limit of its stop loss / take profit)."""
        order_id = next(self._trade_ids)
        if kind == OrderKind.STOP and position.stop_loss_id:
            order_id = position.stop_loss_id
        elif kind == OrderKind.LIMIT and position.take_profit_id:
            order_id = position.take_profit_id
        order = FakeOrder(
            id=order_id,
            account_id=position.account_id,
            tradable_instrument_id=position.tradable_instrument_id,
            route_id=position.route_id,
            side=Side.SELL if position.buy else Side.BUY,
            type=kind,
            qty=qty,
            price=position.take_profit if kind == OrderKind.LIMIT else None,
            stop_price=position.stop_loss if kind == OrderKind.STOP else None,
            validity=Validity.IOC if kind == OrderKind.MARKET else Validity.GTC,
            position_id=position.id,
            strategy_id=position.strategy_id,
            closing=True,
        )
        self.orders[order.id] = order
        self._fill(order, price)
        self._execution(order, price, position.id)
        account = self.accounts[position.account_id]
        account.balance += self._pnl(position, qty, price).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        position.qty -= qty
        if position.qty <= 0:
            del self.positions[position.id]
            position.qty = qty
            self.closed.append(position)
        return order

    def _open_pnl(self, account: FakeAccount) -> Decimal:
        total = ZERO
        for position in self.positions.values():
            at = self._closing_price(position)
            if position.account_id == account.id and at is not None:
                total += self._pnl(position, position.qty, at)
        return total.quantize(CENT, rounding=ROUND_HALF_UP)

    # --- Validation ---------------------------------------------------------------

    @staticmethod
    def _on_tick(value: Decimal, instrument: FakeInstrument, name: str) -> None:
        if value <= 0 or value % instrument.tick_size != 0:
            raise _RefusedError(
                f"Invalid {name}: {_text(value)} is not a positive multiple of the "
                f"tick size {_text(instrument.tick_size)}"
            )

    @staticmethod
    def _lots(value: Any, instrument: FakeInstrument) -> Decimal:
        qty = _dec(value, "qty")
        if qty is None or qty <= 0:
            raise _RefusedError("Invalid qty")
        if qty < instrument.min_lot:
            raise _RefusedError(f"qty is below minLot {_text(instrument.min_lot)}")
        if qty > instrument.max_lot:
            raise _RefusedError(f"qty is above maxLot {_text(instrument.max_lot)}")
        if qty % instrument.lot_step != 0:
            raise _RefusedError(
                f"qty is not a multiple of lotStep {_text(instrument.lot_step)}"
            )
        return qty

    def _protection(
        self,
        body: dict[str, Any],
        instrument: FakeInstrument,
        side: Side,
        reference: Decimal | None,
    ) -> tuple[
        Decimal | None, StopLossType | None, Decimal | None, TakeProfitType | None
    ]:
        """The stop loss and take profit of an order body, checked against the
        price the position would open at (`reference`, when known)."""
        stop = _dec(body.get("stopLoss"), "stopLoss")
        target = _dec(body.get("takeProfit"), "takeProfit")
        stop = None if stop == 0 else stop
        target = None if target == 0 else target
        stop_type: StopLossType | None = None
        target_type: TakeProfitType | None = None
        buy = side == Side.BUY
        if stop is not None:
            if body.get("stopLossType") in (None, ""):
                raise _RefusedError("stopLossType is required with stopLoss")
            stop_type = _enum(StopLossType, body["stopLossType"], "stopLossType")
            if stop_type == StopLossType.ABSOLUTE:
                self._on_tick(stop, instrument, "stopLoss")
                if reference is not None and (
                    (stop >= reference) if buy else (stop <= reference)
                ):
                    raise _RefusedError("Invalid stopLoss: on the wrong side")
            elif stop <= 0:
                raise _RefusedError("Invalid stopLoss")
        if target is not None:
            if body.get("takeProfitType") in (None, ""):
                raise _RefusedError("takeProfitType is required with takeProfit")
            target_type = _enum(
                TakeProfitType, body["takeProfitType"], "takeProfitType"
            )
            if target_type == TakeProfitType.ABSOLUTE:
                self._on_tick(target, instrument, "takeProfit")
                if reference is not None and (
                    (target <= reference) if buy else (target >= reference)
                ):
                    raise _RefusedError("Invalid takeProfit: on the wrong side")
            elif target <= 0:
                raise _RefusedError("Invalid takeProfit")
        return stop, stop_type, target, target_type

    def _order_of(self, ctx: _Context, value: str) -> FakeOrder:
        order = self.orders.get(_int(value) or 0)
        if order is None or order.account_id != ctx.account.id:
            raise _RefusedError("Order not found")
        return order

    def _position_of(self, ctx: _Context, value: str) -> FakePosition:
        position = self.positions.get(_int(value) or 0)
        if position is None or position.account_id != ctx.account.id:
            raise _RefusedError("Position not found")
        return position

    def _protected_by(
        self, ctx: _Context, order_id: int
    ) -> tuple[FakePosition, bool] | None:
        """The open position whose stop loss (True) or take profit (False) has
        this id, if any."""
        for position in self.positions.values():
            if position.account_id != ctx.account.id:
                continue
            if position.stop_loss_id == order_id:
                return position, True
            if position.take_profit_id == order_id:
                return position, False
        return None

    @staticmethod
    def _filtered(query: dict[str, str], instrument_id: int, created: int) -> bool:
        wanted = _int(query.get("tradableInstrumentId"))
        if wanted is not None and wanted != instrument_id:
            return False
        start, end = _int(query.get("from")), _int(query.get("to"))
        if start is not None and created < start:
            return False
        return not (end is not None and created > end)

    # --- Rows -----------------------------------------------------------------------

    def _columns(self, names: tuple[str, ...]) -> list[str]:
        return list(reversed(names)) if self.knobs.shuffle_columns else list(names)

    def _row(self, names: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self._columns(names)]

    def _position_row(self, position: FakePosition) -> list[Any]:
        at = self._closing_price(position)
        unrealized = ZERO if at is None else self._pnl(position, position.qty, at)
        return self._row(
            POSITION_COLUMNS,
            {
                "id": str(position.id),
                "tradableInstrumentId": str(position.tradable_instrument_id),
                "routeId": str(position.route_id),
                "side": str(position.side),
                "qty": _text(position.qty),
                "avgPrice": _text(position.avg_price),
                "stopLossId": str(position.stop_loss_id),
                "takeProfitId": str(position.take_profit_id),
                "openDate": str(_ms(position.opened)),
                "unrealizedPl": _money(unrealized),
                "strategyId": position.strategy_id,
            },
        )

    def _execution_row(self, execution: dict[str, Any]) -> list[Any]:
        return self._row(
            EXECUTION_COLUMNS,
            {
                "id": str(execution["id"]),
                "price": _text(execution["price"]),
                "side": execution["side"],
                "createdDate": str(execution["createdDate"]),
                "qty": _text(execution["qty"]),
                "orderId": str(execution["orderId"]),
                "positionId": str(execution["positionId"]),
                "tradableInstrumentId": str(execution["tradableInstrumentId"]),
            },
        )

    # --- Endpoints: auth ----------------------------------------------------------

    def _issue(self, user: FakeUser) -> dict[str, Any]:
        now = _now()
        expires = now + timedelta(seconds=self.knobs.token_seconds)
        refresh_expires = now + timedelta(seconds=self.knobs.refresh_seconds)
        key = user.email.strip().lower()
        access = _jwt(key, expires, "access")
        refresh = _jwt(key, refresh_expires, "refresh")
        self.access_tokens[access] = _Token(key, expires)
        self.refresh_tokens[refresh] = _Token(key, refresh_expires)
        return {
            "accessToken": access,
            "refreshToken": refresh,
            "expireDate": _iso(expires),
        }

    def login(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            user = self.users.get(str(body.get("email") or "").strip().lower())
            if (
                user is None
                or str(body.get("password") or "") != user.password
                or str(body.get("server") or "") != user.server
            ):
                return 400, {"s": "error", "errmsg": INVALID_CREDENTIALS}
            return 201, self._issue(user)

    def refresh(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            held = self.refresh_tokens.pop(str(body.get("refreshToken") or ""), None)
            user = self.users.get(held.email) if held else None
            if held is None or held.expires <= _now() or user is None:
                return 401, {"s": "error", "errmsg": "Invalid refresh token"}
            return 201, self._issue(user)

    def _token_user(self, headers: dict[str, str]) -> tuple[str, FakeUser] | None:
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        token = value[len("bearer ") :].strip()
        with self.lock:
            held = self.access_tokens.get(token)
            if held is None or held.expires <= _now():
                return None
            user = self.users.get(held.email)
            return (token, user) if user is not None else None

    def _mine(self, user: FakeUser) -> list[FakeAccount]:
        key = user.email.strip().lower()
        return [a for a in self.accounts.values() if a.email == key]

    def all_accounts(self, user: FakeUser) -> dict[str, Any]:
        with self.lock:
            return {"accounts": [a.listed() for a in self._mine(user)]}

    # --- Endpoints: /trade, reading -----------------------------------------------

    def ep_config(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        def config(names: tuple[str, ...]) -> dict[str, Any]:
            return {
                "columns": [
                    {"id": name, "description": COLUMN_DESCRIPTIONS.get(name, name)}
                    for name in self._columns(names)
                ]
            }

        return {
            "customerAccess": {
                "orders": True,
                "ordersHistory": True,
                "filledOrders": True,
                "positions": True,
                "symbolInfo": True,
                "marketDepth": False,
            },
            "positionsConfig": config(POSITION_COLUMNS),
            "ordersConfig": config(ORDER_COLUMNS),
            "ordersHistoryConfig": config(ORDER_COLUMNS),
            "filledOrdersConfig": config(EXECUTION_COLUMNS),
            "executionsConfig": config(EXECUTION_COLUMNS),
            "accountDetailsConfig": config(ACCOUNT_DETAIL_COLUMNS),
            "limits": [{"limitType": "QUOTES_HISTORY_BARS", "limit": HISTORY_BARS}],
            "rateLimits": [
                {
                    "rateLimitType": kind,
                    "measure": measure,
                    "intervalNum": interval,
                    "limit": limit,
                }
                for kind, (measure, interval, limit) in RATE_LIMITS.items()
            ],
        }

    def ep_trade_accounts(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        return [
            {
                **ctx.account.listed(),
                "tradingRules": {"hedging": True, "maxOrders": 200},
                "riskRules": {"stopOutLevel": None},
            }
        ]

    def ep_instruments(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        return {"instruments": [i.listed() for i in self.instruments.values()]}

    def _info_instrument(self, value: Any, route: Any) -> FakeInstrument:
        instrument = self.instruments.get(_int(value) or 0)
        if instrument is None:
            raise _RefusedError("Instrument not found")
        if route in (None, ""):
            raise _RefusedError("routeId is required")
        if _int(route) != instrument.info_route:
            raise _RefusedError("Invalid routeId")
        return instrument

    def ep_instrument(
        self, ctx: _Context, body: Any, query: dict[str, str], path: dict[str, str]
    ) -> Any:
        return self._info_instrument(path["instrument"], query.get("routeId")).details()

    def ep_quotes(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        instrument = self._info_instrument(
            query.get("tradableInstrumentId"), query.get("routeId")
        )
        quote = self.quotes.get(instrument.tradable_instrument_id)
        if quote is None:
            raise _RefusedError(NO_QUOTES)
        return {"ap": quote[1], "bp": quote[0], "as": QUOTE_SIZE, "bs": QUOTE_SIZE}

    def ep_history(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        return _NoData()

    def ep_state(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        account = ctx.account
        open_pnl = self._open_pnl(account)
        projected = account.balance + open_pnl
        values = dict.fromkeys(ACCOUNT_DETAIL_COLUMNS, "0")
        values.update(
            {
                "balance": _money(account.balance),
                "projectedBalance": _money(projected),
                "availableFunds": _money(projected),
                "cashBalance": _money(account.balance),
                "openGrossPnL": _money(open_pnl),
                "openNetPnL": _money(open_pnl),
                "positionsCount": str(
                    sum(
                        1 for p in self.positions.values() if p.account_id == account.id
                    )
                ),
                "ordersCount": str(
                    sum(
                        1
                        for o in self.orders.values()
                        if o.account_id == account.id and o.is_open
                    )
                ),
            }
        )
        return {"accountDetailsData": self._row(ACCOUNT_DETAIL_COLUMNS, values)}

    def _order_rows(
        self, ctx: _Context, query: dict[str, str], *, working: bool
    ) -> list[list[Any]]:
        return [
            self._row(ORDER_COLUMNS, order.row())
            for order in sorted(self.orders.values(), key=lambda o: o.id)
            if order.account_id == ctx.account.id
            and order.is_open == working
            and self._filtered(query, order.tradable_instrument_id, _ms(order.created))
        ]

    def ep_orders(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        return {"orders": self._order_rows(ctx, query, working=True)}

    def ep_orders_history(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        return {"ordersHistory": self._order_rows(ctx, query, working=False)}

    def ep_executions(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        return {
            "executions": [
                self._execution_row(e)
                for e in self.executions
                if e["accountId"] == ctx.account.id
                and self._filtered(query, e["tradableInstrumentId"], e["createdDate"])
            ]
        }

    def ep_positions(self, ctx: _Context, body: Any, query: Any, path: Any) -> Any:
        return {
            "positions": [
                self._position_row(p)
                for p in sorted(self.positions.values(), key=lambda p: p.id)
                if p.account_id == ctx.account.id
            ]
        }

    # --- Endpoints: /trade, orders ------------------------------------------------

    def ep_place(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: Any
    ) -> Any:
        for name in (
            "qty",
            "routeId",
            "side",
            "validity",
            "type",
            "tradableInstrumentId",
        ):
            if body.get(name) in (None, ""):
                raise _RefusedError(f"{name} is required")
        account = ctx.account
        if account.status != "ACTIVE":
            raise _RefusedError("Account is not active")
        instrument = self.instruments.get(_int(body["tradableInstrumentId"]) or 0)
        if instrument is None:
            raise _RefusedError("Instrument not found")
        if _int(body["routeId"]) != instrument.trade_route:
            raise _RefusedError("Invalid routeId")
        side = _enum(Side, body["side"], "side")
        kind = _enum(OrderKind, body["type"], "type")
        validity = _enum(Validity, body["validity"], "validity")
        wanted = Validity.IOC if kind == OrderKind.MARKET else Validity.GTC
        if validity != wanted:
            raise _RefusedError(f"Invalid validity: {kind} orders must be {wanted}")
        qty = self._lots(body["qty"], instrument)
        price = _dec(body.get("price"), "price")
        stop_price = _dec(body.get("stopPrice"), "stopPrice")
        quote = self.quotes.get(instrument.tradable_instrument_id)
        reference: Decimal | None
        if kind == OrderKind.MARKET:
            if quote is None:
                raise _RefusedError(NO_QUOTES)
            price = stop_price = None
            # The side the position would close at: a stop or target past it
            # would close it at once.
            reference = quote[0] if side == Side.BUY else quote[1]
        elif kind == OrderKind.LIMIT:
            if price is None:
                raise _RefusedError("price is required for limit orders")
            self._on_tick(price, instrument, "price")
            stop_price, reference = None, price
        else:
            if stop_price is None:
                raise _RefusedError("stopPrice is required for stop orders")
            self._on_tick(stop_price, instrument, "stopPrice")
            price, reference = None, stop_price
        stop, stop_type, target, target_type = self._protection(
            body, instrument, side, reference
        )
        strategy = body.get("strategyId")
        strategy_id = None if strategy in (None, "") else str(strategy)
        if strategy_id is not None and len(strategy_id) > MAX_STRATEGY_ID:
            raise _RefusedError(
                f"strategyId is too long (at most {MAX_STRATEGY_ID} characters)"
            )
        order = FakeOrder(
            id=next(self._trade_ids),
            account_id=account.id,
            tradable_instrument_id=instrument.tradable_instrument_id,
            route_id=instrument.trade_route,
            side=side,
            type=kind,
            qty=qty,
            price=price,
            stop_price=stop_price,
            validity=validity,
            strategy_id=strategy_id,
            stop_loss=stop,
            stop_loss_type=stop_type,
            take_profit=target,
            take_profit_type=target_type,
        )
        self.orders[order.id] = order
        self._try_fill(order)
        return {"orderId": str(order.id)}

    def ep_modify_order(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        order_id = _int(path["order"]) or 0
        protected = self._protected_by(ctx, order_id)
        if protected is not None:
            position, is_stop = protected
            instrument = self.instruments[position.tradable_instrument_id]
            level = _dec(
                body.get("stopPrice" if is_stop else "price")
                or body.get("price" if is_stop else "stopPrice"),
                "price",
            )
            if level is None:
                raise _RefusedError("price is required")
            self._on_tick(level, instrument, "price")
            if is_stop:
                position.stop_loss, position.trailing_offset = level, None
            else:
                position.take_profit = level
            self._protect(position)
            return None
        order = self._order_of(ctx, path["order"])
        if not order.is_open:
            raise _RefusedError("Order is not active")
        instrument = self.instruments[order.tradable_instrument_id]
        if "qty" in body:
            order.qty = self._lots(body["qty"], instrument)
        if "validity" in body and body["validity"] is not None:
            wanted = _enum(Validity, body["validity"], "validity")
            if wanted != Validity.GTC:
                raise _RefusedError(
                    f"Invalid validity: {order.type} orders must be GTC"
                )
        if order.type == OrderKind.LIMIT and body.get("price") is not None:
            price = _dec(body["price"], "price")
            assert price is not None
            self._on_tick(price, instrument, "price")
            order.price = price
        if order.type == OrderKind.STOP and body.get("stopPrice") is not None:
            stop_price = _dec(body["stopPrice"], "stopPrice")
            assert stop_price is not None
            self._on_tick(stop_price, instrument, "stopPrice")
            order.stop_price = stop_price
        changes = {
            "stopLoss": order.stop_loss,
            "stopLossType": order.stop_loss_type,
            "takeProfit": order.take_profit,
            "takeProfitType": order.take_profit_type,
        }
        changes.update({k: body[k] for k in changes if k in body})
        reference = order.price if order.type == OrderKind.LIMIT else order.stop_price
        (
            order.stop_loss,
            order.stop_loss_type,
            order.take_profit,
            order.take_profit_type,
        ) = self._protection(changes, instrument, order.side, reference)
        order.modified = _now()
        self._try_fill(order)
        return None

    def ep_cancel_order(
        self, ctx: _Context, body: Any, query: Any, path: dict[str, str]
    ) -> Any:
        protected = self._protected_by(ctx, _int(path["order"]) or 0)
        if protected is not None:
            position, is_stop = protected
            if is_stop:
                position.stop_loss, position.stop_loss_id = None, 0
                position.trailing_offset = None
            else:
                position.take_profit, position.take_profit_id = None, 0
            return None
        order = self._order_of(ctx, path["order"])
        if not order.is_open:
            raise _RefusedError("Order is not active")
        order.status, order.modified = OrderStatus.CANCELLED, _now()
        return None

    def ep_cancel_all(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        wanted = _int(query.get("tradableInstrumentId"))
        for order in self.orders.values():
            if (
                order.account_id == ctx.account.id
                and order.is_open
                and (wanted is None or order.tradable_instrument_id == wanted)
            ):
                order.status, order.modified = OrderStatus.CANCELLED, _now()
        return None

    # --- Endpoints: /trade, positions ---------------------------------------------

    def ep_modify_position(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        position = self._position_of(ctx, path["position"])
        instrument = self.instruments[position.tradable_instrument_id]
        at = self._closing_price(position)
        sign = 1 if position.buy else -1
        stop, trailing = position.stop_loss, position.trailing_offset
        target = position.take_profit
        if "stopLoss" in body:
            value = _dec(body["stopLoss"], "stopLoss")
            kind = _enum(
                StopLossType, body.get("stopLossType") or "absolute", "stopLossType"
            )
            trailing = None
            if value is None or value == 0:
                stop = None
            elif kind == StopLossType.ABSOLUTE:
                self._on_tick(value, instrument, "stopLoss")
                stop = value
            elif kind == StopLossType.OFFSET:
                stop = position.avg_price - sign * value
            else:
                if at is None:
                    raise _RefusedError(NO_QUOTES)
                stop, trailing = at - sign * value, value
            if (
                stop is not None
                and at is not None
                and ((stop >= at) if position.buy else (stop <= at))
            ):
                raise _RefusedError("Invalid stopLoss: on the wrong side")
        if "takeProfit" in body:
            value = _dec(body["takeProfit"], "takeProfit")
            target_kind = _enum(
                TakeProfitType,
                body.get("takeProfitType") or "absolute",
                "takeProfitType",
            )
            if value is None or value == 0:
                target = None
            elif target_kind == TakeProfitType.ABSOLUTE:
                self._on_tick(value, instrument, "takeProfit")
                target = value
            else:
                target = position.avg_price + sign * value
            if (
                target is not None
                and at is not None
                and ((target <= at) if position.buy else (target >= at))
            ):
                raise _RefusedError("Invalid takeProfit: on the wrong side")
        position.stop_loss, position.trailing_offset = stop, trailing
        position.take_profit = target
        if stop is None:
            position.stop_loss_id = 0
        elif not position.stop_loss_id:
            position.stop_loss_id = next(self._trade_ids)
        if target is None:
            position.take_profit_id = 0
        elif not position.take_profit_id:
            position.take_profit_id = next(self._trade_ids)
        return None

    def ep_close_position(
        self, ctx: _Context, body: dict[str, Any], query: Any, path: dict[str, str]
    ) -> Any:
        position = self._position_of(ctx, path["position"])
        instrument = self.instruments[position.tradable_instrument_id]
        qty = _dec(body.get("qty", "0"), "qty")
        if qty is None or qty < 0:
            raise _RefusedError("Invalid qty")
        if qty == 0:
            qty = position.qty
        elif qty > position.qty:
            raise _RefusedError("qty is above the position's")
        elif qty < position.qty:
            self._lots(qty, instrument)
        at = self._closing_price(position)
        if at is None:
            raise _RefusedError(NO_QUOTES)
        self._close(position, qty, at)
        return None

    def ep_close_all(
        self, ctx: _Context, body: Any, query: dict[str, str], path: Any
    ) -> Any:
        wanted = _int(query.get("tradableInstrumentId"))
        closing = [
            p
            for p in sorted(self.positions.values(), key=lambda p: p.id)
            if p.account_id == ctx.account.id
            and (wanted is None or p.tradable_instrument_id == wanted)
        ]
        prices = [self._closing_price(p) for p in closing]
        if any(at is None for at in prices):
            raise _RefusedError(NO_QUOTES)
        for position, at in zip(closing, prices, strict=True):
            assert at is not None
            self._close(position, position.qty, at)
        return None

    # --- HTTP -----------------------------------------------------------------------

    def _context(
        self, headers: dict[str, str], path: dict[str, str]
    ) -> tuple[_Context | None, tuple[int, Any] | None]:
        found = self._token_user(headers)
        if found is None:
            return None, (401, {"s": "error", "errmsg": UNAUTHORIZED})
        token, user = found
        raw = headers.get("accnum", "").strip()
        if not raw:
            return None, (400, {"s": "error", "errmsg": ACC_NUM_REQUIRED})
        with self.lock:
            acc_num = _int(raw)
            account = next((a for a in self._mine(user) if a.acc_num == acc_num), None)
            if account is None or (
                "account" in path and _int(path["account"]) != account.id
            ):
                return None, (400, {"s": "error", "errmsg": ACC_NUM_MISMATCH})
            return _Context(token, user, account), None

    def _limited(self, token: str, kind: str | None) -> bool:
        if kind is None or not self.knobs.rate_limits_enforced:
            return False
        measure, interval, limit = RATE_LIMITS[kind]
        window = interval * (60 if measure == "MINUTES" else 1)
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.hits.get((token, kind), []) if now - t < window]
            if len(recent) >= limit:
                self.hits[(token, kind)] = recent
                return True
            recent.append(now)
            self.hits[(token, kind)] = recent
            return False

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await answer_http(
            receive,
            send,
            lambda raw: self._respond(scope, raw),
            default=_json_default,
        )

    async def _respond(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        full: str = scope["path"]
        method: str = scope["method"].upper()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        path = full[len(PREFIX) :] if full.startswith(PREFIX + "/") else None
        with self.lock:
            self.calls.append(f"{method} {path if path is not None else full}")
            hang = self.knobs.hang > 0
            if hang:
                self.knobs.hang -= 1
            failing = self.knobs.fail.pop(0) if self.knobs.fail else None
        if hang:
            await asyncio.sleep(self.knobs.hang_seconds)
        if failing is not None:
            return failing, b""
        if path is None:
            return 404, {"s": "error", "errmsg": "Not found"}
        path = path.rstrip("/") or "/"
        matched = [(r, m) for r in ROUTES if (m := r.pattern.fullmatch(path))]
        if not matched:
            return 404, {"s": "error", "errmsg": "Not found"}
        chosen = next(((r, m) for r, m in matched if r.method == method), None)
        if chosen is None:
            return 405, {"s": "error", "errmsg": "Method not allowed"}
        route, match = chosen
        params = match.groupdict()
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        body: dict[str, Any] = {}
        if raw.strip():
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                return 400, {"s": "error", "errmsg": "Malformed JSON"}
            if not isinstance(parsed, dict):
                return 400, {"s": "error", "errmsg": "Malformed JSON"}
            body = parsed
        if route.handler == "login":
            return self.login(body)
        if route.handler == "refresh":
            return self.refresh(body)
        if route.handler == "all_accounts":
            found = self._token_user(headers)
            if found is None:
                return 401, {"s": "error", "errmsg": UNAUTHORIZED}
            return 200, self.all_accounts(found[1])
        ctx, refusal = self._context(headers, params)
        if refusal is not None:
            return refusal
        assert ctx is not None
        if self._limited(ctx.token, route.limit):
            return 429, {"s": "error", "errmsg": RATE_LIMITED}
        placing = route.handler == "ep_place"
        if placing:
            await self.placements.placing(self.knobs.gather, self.knobs.gather_seconds)
        handler: Callable[
            [_Context, dict[str, Any], dict[str, str], dict[str, str]], Any
        ]
        handler = getattr(self, route.handler)
        try:
            with self.lock:
                answer = handler(ctx, body, query, params)
        except _RefusedError as refused:
            return refused.status, {"s": "error", "errmsg": refused.text}
        if placing or route.handler == "ep_close_position":
            knob = "drop_after_place" if placing else "drop_after_close"
            with self.lock:
                if getattr(self.knobs, knob):
                    setattr(self.knobs, knob, getattr(self.knobs, knob) - 1)
                    return 500, b"Internal Server Error"
        if isinstance(answer, _NoData):
            return 200, {"s": "no_data"}
        if answer is None:
            return 200, {"s": "ok"}
        return 200, {"s": "ok", "d": answer}

    # --- Running --------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeTradeLocker]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls()
        with serve_on_loopback(fake.app, "the fake TradeLocker") as base:
            fake.url = f"{base}{PREFIX}"
            yield fake


class _NoData:
    """A handler's answer for `{"s": "no_data"}`."""


def _route(method: str, path: str, handler: str, limit: str | None = None) -> _Route:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>\\d+)", path)
    return _Route(method, re.compile(pattern), handler, limit)


ACCOUNT = "/trade/accounts/{account}"
ROUTES: list[_Route] = [
    _route("POST", "/auth/jwt/token", "login"),
    _route("POST", "/auth/jwt/refresh", "refresh"),
    _route("GET", "/auth/jwt/all-accounts", "all_accounts"),
    _route("GET", "/trade/config", "ep_config"),
    _route("GET", "/trade/accounts", "ep_trade_accounts", "GET_ACCOUNTS"),
    _route("GET", ACCOUNT + "/instruments", "ep_instruments", "GET_INSTRUMENTS"),
    _route(
        "GET",
        "/trade/instruments/{instrument}",
        "ep_instrument",
        "GET_INSTRUMENT_DETAILS",
    ),
    _route("GET", "/trade/quotes", "ep_quotes", "QUOTES"),
    _route("GET", "/trade/history", "ep_history", "QUOTES_HISTORY"),
    _route("GET", ACCOUNT + "/state", "ep_state", "GET_ACCOUNTS_STATE"),
    _route("GET", ACCOUNT + "/orders", "ep_orders", "GET_ORDERS"),
    _route("POST", ACCOUNT + "/orders", "ep_place", "PLACE_ORDER"),
    _route("DELETE", ACCOUNT + "/orders", "ep_cancel_all", "MODIFY_ORDER"),
    _route(
        "GET", ACCOUNT + "/ordersHistory", "ep_orders_history", "GET_ORDERS_HISTORY"
    ),
    _route("GET", ACCOUNT + "/executions", "ep_executions", "GET_EXECUTIONS"),
    _route("GET", ACCOUNT + "/positions", "ep_positions", "GET_POSITIONS"),
    _route("DELETE", ACCOUNT + "/positions", "ep_close_all", "MODIFY_POSITION"),
    _route("PATCH", "/trade/orders/{order}", "ep_modify_order", "MODIFY_ORDER"),
    _route("DELETE", "/trade/orders/{order}", "ep_cancel_order", "MODIFY_ORDER"),
    _route(
        "PATCH", "/trade/positions/{position}", "ep_modify_position", "MODIFY_POSITION"
    ),
    _route(
        "DELETE", "/trade/positions/{position}", "ep_close_position", "MODIFY_POSITION"
    ),
]
