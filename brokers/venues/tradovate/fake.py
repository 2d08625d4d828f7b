"""A faithful fake Tradovate REST API: real HTTP on loopback, for tests and benches.

It serves the documented REST surface (`reference/brokers.md` §3 and its 2026-12
corrections §1.2) under `/v1`: GET for queries (`entity/list`, `item?id=`,
`find?name=`, `suggest?t=&l=`, `deps?masterid=`), POST with a JSON body for
actions, paths matched case-insensitively (the docs write both `placeOSO` and
`placeoso`). Every call but `auth/accesstokenrequest` needs `Authorization:
Bearer <accessToken>`; a missing, unknown or expired token is an HTTP 401 with an
empty body. Business errors are HTTP 200: `{"errorText": ...}` (auth, cash
snapshot, SimpleResponse with `"ok": false`) or `{"failureReason", "failureText"}`
(order actions). Malformed JSON is a 400, an unknown path a 404, a query for an id
that does not exist a 404 with an empty body.

Behind it a matching engine simple enough to trust: Market orders fill at the
last price (`price()` sets it; none yet: `NoQuote`), Limit, Stop and StopLimit
orders rest until `price()` crosses them (a marketable one fills at once, at the
last price), IOC/FOK orders that cannot fill at once are cancelled. `placeoso`
brackets wait `Suspended` until their entry fills, then work, linked as an OCO
pair (one filling cancels the other); cancelling the entry cancels them.
Positions net per (account, contract) with the average price of the open
position, and a flat position stays listed with `netPos` 0, as Tradovate's do. A
closed trade books its P&L (tick value / tick size of our catalogue) into the
account's cash; no commissions are charged.

Knobs a test turns (`FakeTradovate.knobs`): `latency` (seconds before each
answer), `fail` (HTTP statuses the next calls answer with, e.g. [500, 503]),
`drop_after_place` (the next N placements are booked, then answered 500 — a
disconnect mid-order), `hang` + `hang_seconds` (the next N calls answer late),
`rate_limit` (calls per token per minute; past it HTTP 429 with an empty body and
`Content-Length: 0`, as documented), `penalty` (the next N calls answer HTTP 200
`{"p-ticket", "p-time", "p-captcha"}`; see below), `penalty_seconds`, `captcha`,
`token_seconds` (80 minutes by default, as the API reference says; the partner
quick-setup page says 90) and `gather`/`gather_seconds` (each placement waits
until this many are in flight at once, or `gather_seconds` pass; `placements.peak`
says how many were). `calls` records every request under /v1 (lower-cased,
without the prefix), those answered by an injected failure included.

Penalty tickets: a resend of the identical call (same path, same body or query)
that adds `"p-ticket": "<token>"` is served once `p-time` seconds have passed —
by the (frozen or not) wall clock *or* by real elapsed time, so both a test that
advances its clock and a client that really sleeps get through. A resend sooner
gets another ticket; a captcha ticket (`captcha=True`) is never redeemed, as a
server integration cannot solve a captcha. For GETs the ticket rides in the query.

    with FakeTradovate.running() as fake:
        fake.user("trader", "secret", cid=8, sec="api-secret")
        account = fake.account("trader", "DEMO123", balance=Decimal(50_000))
        contract = fake.contract_for("MNQZ26")  # our code -> Tradovate's MNQZ6
        fake.price(contract.id, Decimal("21000"))
        ...  # a TradovateClient on fake.url (".../v1")

What the docs confirm (partner.tradovate.com, read 2026-12). Every request body
and answer below is also checked field for field, in tests/test_openapi.py,
against the published OpenAPI document https://partner.tradovate.com/openapi.json
(tests/openapi_subset.json: its schemas for these endpoints, and where they came
from); fields it does not name are not sent (an Account has no `active`):
- AccessTokenResponse {errorText, accessToken, mdAccessToken, expirationTime,
  passwordExpirationTime, userStatus, userId, name, hasLive}: conformance stage 1,
  https://partner.tradovate.com/overview/conformance-testing/stage-1-authentication
  (the openapi.json schema omits mdAccessToken; its accessTokenRequest text returns
  it). `auth/renewaccesstoken` is a GET there, answering the same schema.
- OAuthMeResponse {userId, name, fullName, email, emailVerified, isTrial, ...}:
  https://partner.tradovate.com/api/rest-api-endpoints/authentication/me.md
- Account {id, name, userId, accountType, clearingHouseId, riskCategoryId,
  autoLiqProfileId, marginAccountType, legalStatus, timestamp, restricted?,
  closed?, ...}: https://partner.tradovate.com/api/rest-api-endpoints/accounting/account-list.md
- CashBalanceSnapshot {errorText, totalCashValue, totalPnL, initialMargin,
  maintenanceMargin, netLiq, openPnL, realizedPnL, weekRealizedPnL}:
  https://partner.tradovate.com/api/rest-api-endpoints/accounting/get-cash-balance-snapshot
- Contract {id, name, contractMaturityId, timestamp} (no tick size: that lives on
  the Product): https://partner.tradovate.com/api/rest-api-endpoints/contract-library/contract-items.md
- Position {id, accountId, contractId, timestamp, tradeDate{year,month,day},
  netPos, netPrice?, bought, boughtValue, sold, soldValue, prevPos, prevPrice?}:
  https://partner.tradovate.com/api/rest-api-endpoints/positions/position-items.md
- Order {id, accountId, contractId, timestamp, action, ordStatus, admin, ocoId?,
  parentId?, linkedId?, ...} — no quantity or price: those live on OrderVersion
  {id, orderId, orderQty, orderType, price?, stopPrice?, timeInForce?, ...},
  served at `orderVersion/deps?masterid=<orderId>`:
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-list.md ,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-version-dependents.md
- Fill {id, orderId, contractId, timestamp, tradeDate, action, qty, price,
  active, finallyPaired}: https://partner.tradovate.com/api/rest-api-endpoints/orders/fill-list.md
- Command {id, orderId, timestamp, clOrdId?, commandType New|Modify|Cancel,
  commandStatus AtExecution|RiskRejected|..., isAutomated?, customTag50?}:
  https://partner.tradovate.com/api/rest-api-endpoints/orders/command-item.md
  (`command/list` is how a client finds the order its clOrdId made)
- placeorder / placeoso bodies, `isAutomated` "must be true if this isn't an
  order made directly by a human", `{orderId}` answers, "If you specify both
  bracket1 and bracket2 the two orders will be linked as an OCO":
  https://partner.tradovate.com/api/rest-api-endpoints/orders/place-order.md ,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/place-oso.md
- Answers: placeoso's PlaceOsoResult {failureReason?, failureText?, orderId,
  oso1Id, oso2Id}; placeorder's and liquidateposition's PlaceOrderResult
  {failureReason?, failureText?, orderId}; modifyorder's and cancelorder's
  CommandResult {failureReason?, failureText?, commandId}; liquidatepositions'
  SimpleResponse {ok, errorText?}; every failureReason is one of the document's
  enum: https://partner.tradovate.com/openapi.json (components.schemas)
- p-ticket / 429 shapes: brokers.md §3.6 and its §1.2 sources.

What is our assumption, not documented:
- The wording of every `errorText`/`failureText` (but the wrong-password one,
  which brokers.md also marks [I]); wrong `cid`/`sec` answers the same errorText.
- A `clOrdId` already used on the account is refused with failureReason
  `UnknownReason`, failureText "Duplicate clOrdId"; `isAutomated` not true is
  refused with `UnknownReason`. Refused placements book nothing.
- Bracket legs are `Suspended` until the entry fills; their Order rows carry
  `parentId` and each other's id as `linkedId`.
- modifyorder without `orderQty`/`orderType` (the document requires both) keeps
  the order's own.
- `accountSpec` may be the account's name or the user's name (the docs' examples
  use both); anything else is `Unauthorized`.
- Prices off the tick grid are refused `InvalidPrice`; order types other than
  Market, Limit, Stop and StopLimit are refused `Unsupported`.
- Command statuses: an accepted command is `AtExecution`.
- modify/cancel of an order no longer open: `TooLate`; of an unknown order or
  another user's: `UnknownReason` "Unknown order".
- liquidateposition on a flat position cancels the working orders and answers
  failureReason `UnknownReason`, "No position to liquidate"; with no last price
  it answers `NoQuote`. liquidatepositions answers `{"ok": true}` or
  `{"ok": false, "errorText": ...}` having done nothing.
- An unknown id on `item?id=` / `find?name=` is a 404 with an empty body.
- `tradeDate` is the CME trade date (a new one from 17:00 Chicago, weekends
  skipped); `realizedPnL`/`weekRealizedPnL` are everything booked since start.
- Timestamps are ISO-8601 UTC with milliseconds and a `Z`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from django.utils import timezone

from brokers.instruments.catalogue import catalogue
from brokers.instruments.contracts import Contract, front_contract, month_of
from brokers.instruments.specs import FutureSpec
from brokers.venues.fakes import Placements, answer_http, serve_on_loopback
from brokers.venues.names import contract_name

from .fake_oauth import FakeOAuth
from .mapping import (
    OPEN_STATUSES,
    Action,
    CommandStatus,
    CommandType,
    FailureReason,
    OrderType,
    OrdStatus,
    TimeInForce,
)

ZERO = Decimal(0)
CHICAGO = ZoneInfo("America/Chicago")
WRONG_LOGIN = "Incorrect username or password. Please try again."
ACCESS_DENIED = "Access is denied"
DUPLICATE_CL_ORD_ID = "Duplicate clOrdId"
NOT_AUTOMATED = "isAutomated must be true for orders not placed by a human"
PLACEMENTS = frozenset({"order/placeorder", "order/placeoso"})
SUPPORTED_TYPES = frozenset(
    {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
)
MONTHS_LISTED = 3  # contract months listed per root, from the front one
PASSWORD_DAYS = 90


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


@dataclass(frozen=True)
class _Route:
    method: str  # "GET", "POST" or "ANY"
    handler: str


class FakeTradovate:
    """The fake's state and its ASGI app. Thread-safe: the server runs in a thread."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.lock = threading.RLock()
        self._ids = itertools.count(100_001)
        self.users: dict[str, FakeUser] = {}
        self.tokens: dict[str, tuple[str, datetime]] = {}  # token -> (user, expires)
        self.md_tokens: set[str] = set()
        self.accounts: dict[int, FakeAccount] = {}
        self.contracts: dict[int, FakeContract] = {}
        self.prices: dict[int, Decimal] = {}  # contract id -> last
        self.orders: dict[int, FakeOrder] = {}
        self.order_versions: dict[int, dict[str, Any]] = {}
        self.commands: dict[int, dict[str, Any]] = {}
        # (account id, contract id) -> (netPos signed, netPrice); flat stays (0, 0)
        self.positions: dict[tuple[int, int], tuple[int, Decimal]] = {}
        self._books: dict[tuple[int, int], _Book] = {}
        self.fills: list[dict[str, Any]] = []
        self.calls: list[str] = []  # lower-cased paths without /v1, in order
        self.hits: dict[str, list[float]] = {}  # token -> call times (rate limit)
        self.tickets: dict[str, _Ticket] = {}
        self.placements = Placements()  # Order placements in flight
        self.oauth = FakeOAuth(self)  # /oauth and /auth/oauthtoken (fake_oauth.py)
        self.listeners: list[Callable[[], None]] = []  # told of every change
        from .fake_socket import FakeSocket  # here: it builds on this module

        self.socket = FakeSocket(self)  # /v1/websocket (fake_socket.py)
        self.url = ""
        self._list_contracts()

    # --- Setting the world up ---------------------------------------------------------

    def user(self, name: str, password: str, *, cid: int = 0, sec: str = "") -> None:
        """A login. With a `sec`, logging in must also give this `cid` and `sec`."""
        with self.lock:
            known = self.users.get(name)
            user_id = known.id if known else next(self._ids)
            self.users[name] = FakeUser(user_id, name, password, cid, sec)

    def account(
        self,
        user: str,
        name: str,
        *,
        balance: Decimal = Decimal(50_000),
        active: bool = True,
    ) -> FakeAccount:
        with self.lock:
            if user not in self.users:
                raise KeyError(f"no user {user!r}: call fake.user() first")
            account = FakeAccount(next(self._ids), name, user, balance, active)
            self.accounts[account.id] = account
            return account

    def contract_for(self, code: str) -> FakeContract:
        """Our catalogue code ("MNQZ26") -> the fake's contract (listing it if it is
        a month further out than the fake lists by itself)."""
        with self.lock:
            for contract in self.contracts.values():
                if contract.code == code:
                    return contract
            root, month, year = code[:-3], code[-3], code[-2:]
            spec = catalogue().get(root)
            if not isinstance(spec, FutureSpec) or not year.isdigit():
                raise KeyError(code)
            try:
                listed = Contract(root, 2000 + int(year), month_of(month))
            except ValueError as exc:
                raise KeyError(code) from exc
            return self._list(listed, spec)

    def price(self, name_or_contract_id: str | int, last: Decimal) -> None:
        """Move the market of a contract (its id, Tradovate name or our code):
        the resting orders it crosses fill."""
        with self.lock:
            contract = self._contract(name_or_contract_id)
            if contract is None:
                raise KeyError(name_or_contract_id)
            self.prices[contract.id] = last
            self._match(contract.id)
            self.notify()

    def notify(self) -> None:
        """Tell the listeners (the WebSocket's user syncs) the state may have moved."""
        with self.lock:
            for listener in list(self.listeners):
                listener()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.md_tokens.clear()

    def _list_contracts(self) -> None:
        today = _now().date()
        for root, spec in catalogue().items():
            if not isinstance(spec, FutureSpec):
                continue
            for index in range(1, MONTHS_LISTED + 1):
                self._list(front_contract(root, today, index), spec)

    def _list(self, month: Contract, spec: FutureSpec) -> FakeContract:
        contract = FakeContract(
            id=next(self._ids),
            name=contract_name(month.code)[1],
            root=month.root,
            tick=spec.tick_size,
            tick_value=spec.tick_value,
            code=month.code,
            maturity_id=next(self._ids),
            margin=spec.margin.intraday,
        )
        self.contracts[contract.id] = contract
        return contract

    def _contract(self, key: str | int | None) -> FakeContract | None:
        if key is None:
            return None
        if isinstance(key, int) or str(key).isdigit():
            return self.contracts.get(int(key))
        wanted = str(key).strip().upper()
        for contract in self.contracts.values():
            if wanted in (contract.name, contract.code):
                return contract
        return None

    # --- Matching -----------------------------------------------------------------

    def _match(self, contract_id: int) -> None:
        last = self.prices.get(contract_id)
        if last is None:
            return
        for order in sorted(self.orders.values(), key=lambda o: o.id):
            if order.contract_id == contract_id and order.status == OrdStatus.WORKING:
                self._try_fill(order, last)

    @staticmethod
    def _stop_crossed(order: FakeOrder, last: Decimal) -> bool:
        assert order.stop_price is not None
        return last >= order.stop_price if order.buy else last <= order.stop_price

    @staticmethod
    def _limit_crossed(order: FakeOrder, last: Decimal) -> bool:
        assert order.price is not None
        return last <= order.price if order.buy else last >= order.price

    def _try_fill(self, order: FakeOrder, last: Decimal) -> bool:
        """Fill `order` if `last` reaches it; whether it did."""
        if order.status != OrdStatus.WORKING:
            return False
        kind = order.order_type
        if kind == OrderType.MARKET:
            self._fill(order, last)
        elif kind == OrderType.STOP:
            if not self._stop_crossed(order, last):
                return False
            self._fill(order, last)
        elif kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if kind == OrderType.STOP_LIMIT and not order.triggered:
                if not self._stop_crossed(order, last):
                    return False
                order.triggered = True
            if not self._limit_crossed(order, last):
                return False
            assert order.price is not None
            better = min(last, order.price) if order.buy else max(last, order.price)
            self._fill(order, better)
        else:
            return False
        return True

    def _fill(self, order: FakeOrder, price: Decimal) -> None:
        now = _now()
        contract = self.contracts[order.contract_id]
        account = self.accounts[order.account_id]
        order.status, order.filled_qty, order.avg_price, order.updated = (
            OrdStatus.FILLED,
            order.qty,
            price,
            now,
        )
        key = (account.id, contract.id)
        signed = order.qty if order.buy else -order.qty
        held, avg = self.positions.get(key, (0, ZERO))
        if held and (held > 0) != (signed > 0):  # closing, maybe reversing
            closed = min(abs(held), abs(signed))
            direction = 1 if held > 0 else -1
            pnl = (price - avg) * closed * direction * contract.point_value
            account.balance += pnl
            account.realized += pnl
        after = held + signed
        if after == 0:
            self.positions[key] = (0, ZERO)
        elif held == 0 or (held > 0) != (after > 0):
            self.positions[key] = (after, price)
        elif (held > 0) == (signed > 0):
            weighted = (avg * abs(held) + price * abs(signed)) / abs(after)
            self.positions[key] = (after, weighted)
        else:
            self.positions[key] = (after, avg)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = _Book(next(self._ids))
        if order.buy:
            book.bought += order.qty
            book.bought_value += price * order.qty
        else:
            book.sold += order.qty
            book.sold_value += price * order.qty
        book.updated = now
        self.fills.append(
            {
                "id": next(self._ids),
                "orderId": order.id,
                "contractId": contract.id,
                "timestamp": _iso(now),
                "tradeDate": _trade_date_body(now),
                "action": str(order.action),
                "qty": order.qty,
                "price": _num(price),
                "active": True,
                "finallyPaired": 0,
            }
        )
        if order.linked_id is not None:  # one leg of an OCO filled: the other goes
            other = self.orders.get(order.linked_id)
            if other is not None and other.status in OPEN_STATUSES:
                other.status, other.updated = OrdStatus.CANCELED, now
        legs = [
            leg
            for leg in self.orders.values()
            if leg.parent_id == order.id and leg.status == OrdStatus.SUSPENDED
        ]
        for leg in legs:  # the entry filled: its brackets start working
            leg.status, leg.updated = OrdStatus.WORKING, now
        last = self.prices.get(contract.id)
        if last is not None:
            for leg in legs:
                self._try_fill(leg, last)

    def _cancel(self, order: FakeOrder) -> None:
        now = _now()
        order.status, order.updated = OrdStatus.CANCELED, now
        for leg in self.orders.values():
            if leg.parent_id == order.id and leg.status == OrdStatus.SUSPENDED:
                leg.status, leg.updated = OrdStatus.CANCELED, now

    # --- Booking ------------------------------------------------------------------

    def _command(
        self,
        order: FakeOrder,
        kind: CommandType,
        cl_ord_id: str | None,
        body: dict[str, Any],
    ) -> int:
        command_id = next(self._ids)
        command: dict[str, Any] = {
            "id": command_id,
            "orderId": order.id,
            "timestamp": _iso(_now()),
            "commandType": str(kind),
            "commandStatus": str(CommandStatus.AT_EXECUTION),
            "isAutomated": bool(body.get("isAutomated", order.is_automated)),
        }
        if cl_ord_id:
            command["clOrdId"] = cl_ord_id
        if body.get("customTag50"):
            command["customTag50"] = str(body["customTag50"])
        self.commands[command_id] = command
        return command_id

    def _version(self, order: FakeOrder) -> None:
        version_id = next(self._ids)
        version: dict[str, Any] = {
            "id": version_id,
            "orderId": order.id,
            "orderQty": order.qty,
            "orderType": str(order.order_type),
            "timeInForce": str(order.time_in_force),
        }
        if order.price is not None:
            version["price"] = _num(order.price)
        if order.stop_price is not None:
            version["stopPrice"] = _num(order.stop_price)
        if order.text:
            version["text"] = order.text
        self.order_versions[version_id] = version

    def _book(
        self,
        account: FakeAccount,
        contract: FakeContract,
        leg: _Leg,
        body: dict[str, Any],
        *,
        status: OrdStatus = OrdStatus.WORKING,
        parent_id: int | None = None,
    ) -> FakeOrder:
        order = FakeOrder(
            id=next(self._ids),
            account_id=account.id,
            contract_id=contract.id,
            action=leg.action,
            order_type=leg.order_type,
            qty=leg.qty,
            price=leg.price,
            stop_price=leg.stop_price,
            cl_ord_id=leg.cl_ord_id,
            status=status,
            parent_id=parent_id,
            time_in_force=leg.time_in_force,
            text=leg.text,
            is_automated=bool(body.get("isAutomated", True)),
        )
        self.orders[order.id] = order
        self._version(order)
        self._command(order, CommandType.NEW, leg.cl_ord_id, body)
        return order

    def _execute(self, order: FakeOrder) -> None:
        """A newly working order meets the market; IOC/FOK that did not fill go."""
        last = self.prices.get(order.contract_id)
        filled = last is not None and self._try_fill(order, last)
        immediate = order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
        if not filled and immediate and order.status == OrdStatus.WORKING:
            self._cancel(order)

    # --- Validation ---------------------------------------------------------------

    def _own_account(self, user: FakeUser, value: Any) -> FakeAccount:
        account = self.accounts.get(_int(value) or 0)
        if account is None or account.user != user.name:
            raise _RefusedError(FailureReason.UNAUTHORIZED, ACCESS_DENIED)
        return account

    def _own_order(self, user: FakeUser, value: Any) -> FakeOrder:
        order = self.orders.get(_int(value) or 0)
        if order is None or self.accounts[order.account_id].user != user.name:
            raise _RefusedError(FailureReason.UNKNOWN_REASON, "Unknown order")
        return order

    def _placing_account(self, user: FakeUser, body: dict[str, Any]) -> FakeAccount:
        account = self._own_account(user, body.get("accountId"))
        spec = body.get("accountSpec")
        if spec is not None and str(spec) not in (account.name, user.name):
            raise _RefusedError(FailureReason.UNAUTHORIZED, ACCESS_DENIED)
        if not account.active:
            raise _RefusedError(FailureReason.ACCOUNT_CLOSED, "The account is closed")
        if body.get("isAutomated") is not True:
            raise _RefusedError(FailureReason.UNKNOWN_REASON, NOT_AUTOMATED)
        return account

    @staticmethod
    def _on_tick(value: Decimal | None, contract: FakeContract) -> None:
        if value is not None and (value <= 0 or value % contract.tick != 0):
            raise _RefusedError(
                FailureReason.INVALID_PRICE,
                f"Price {value} is not a multiple of the tick size {contract.tick}",
            )

    def _leg(
        self,
        body: dict[str, Any],
        contract: FakeContract,
        *,
        qty: int | None = None,
        default_tif: TimeInForce = TimeInForce.DAY,
    ) -> _Leg:
        if not isinstance(body, dict):
            raise _RefusedError(FailureReason.UNKNOWN_REASON, "Malformed order")
        action = _enum(Action, body.get("action"))
        order_type = _enum(OrderType, body.get("orderType"))
        if order_type not in SUPPORTED_TYPES:
            raise _RefusedError(
                FailureReason.UNSUPPORTED, f"Order type {order_type} is not supported"
            )
        given = body.get("orderQty")
        size = _int(given) if given is not None or qty is None else qty
        if size is None or size <= 0:
            raise _RefusedError(
                FailureReason.UNKNOWN_REASON, "orderQty must be positive"
            )
        price = _dec(body.get("price"))
        stop = _dec(body.get("stopPrice"))
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
            raise _RefusedError(
                FailureReason.INVALID_PRICE, f"{order_type} needs a price"
            )
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
            raise _RefusedError(
                FailureReason.INVALID_PRICE, f"{order_type} needs a stopPrice"
            )
        if order_type in (OrderType.MARKET, OrderType.STOP):
            price = None
        if order_type in (OrderType.MARKET, OrderType.LIMIT):
            stop = None
        self._on_tick(price, contract)
        self._on_tick(stop, contract)
        tif = _enum(TimeInForce, body.get("timeInForce"), default_tif)
        cl_ord_id = body.get("clOrdId")
        text = body.get("text")
        return _Leg(
            action,
            order_type,
            size,
            price,
            stop,
            tif,
            str(cl_ord_id) if cl_ord_id else None,
            str(text) if text else None,
        )

    def _fresh_ids(self, account: FakeAccount, legs: list[_Leg]) -> None:
        seen = {
            o.cl_ord_id
            for o in self.orders.values()
            if o.account_id == account.id and o.cl_ord_id
        }
        for leg in legs:
            if leg.cl_ord_id is None:
                continue
            if leg.cl_ord_id in seen:
                raise _RefusedError(FailureReason.UNKNOWN_REASON, DUPLICATE_CL_ORD_ID)
            seen.add(leg.cl_ord_id)

    def _entry(
        self, user: FakeUser, body: dict[str, Any]
    ) -> tuple[FakeAccount, FakeContract, _Leg]:
        account = self._placing_account(user, body)
        contract = self._contract(body.get("symbol"))
        if contract is None:
            raise _RefusedError(
                FailureReason.INVALID_CONTRACT,
                f"Unknown contract {body.get('symbol')!r}",
            )
        leg = self._leg(body, contract)
        if leg.order_type == OrderType.MARKET and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote for a market order")
        held, _ = self.positions.get((account.id, contract.id), (0, ZERO))
        signed = leg.qty if leg.action == Action.BUY else -leg.qty
        if abs(held + signed) > account.max_position:
            raise _RefusedError(
                FailureReason.MAX_POS_LIMIT_REACHED,
                f"Max position limit of {account.max_position} reached",
            )
        return account, contract, leg

    # --- Endpoints: auth ----------------------------------------------------------

    def _issue(self, user: FakeUser) -> dict[str, Any]:
        now = _now()
        expires = now + timedelta(seconds=self.knobs.token_seconds)
        token = secrets.token_urlsafe(48)
        md_token = secrets.token_urlsafe(48)
        self.tokens[token] = (user.name, expires)
        self.md_tokens.add(md_token)
        return {
            "accessToken": token,
            "mdAccessToken": md_token,
            "expirationTime": _iso(expires),
            "passwordExpirationTime": _iso(now + timedelta(days=PASSWORD_DAYS)),
            "userStatus": "Active",
            "userId": user.id,
            "name": user.name,
            "hasLive": False,
        }

    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self.users.get(str(body.get("name") or ""))
            if user is None or body.get("password") != user.password:
                return {"errorText": WRONG_LOGIN}
            if user.sec and (
                str(body.get("sec") or "") != user.sec
                or _int(body.get("cid")) != user.cid
            ):
                return {"errorText": WRONG_LOGIN}
            return self._issue(user)

    def ep_renew(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        return self._issue(user)

    def ep_me(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        return {
            "userId": user.id,
            "name": user.name,
            "fullName": user.name,
            "email": f"{user.name}@example.com",
            "emailVerified": True,
            "isTrial": False,
        }

    # --- Endpoints: accounts and cash ---------------------------------------------

    def _mine(self, user: FakeUser) -> list[FakeAccount]:
        return [a for a in self.accounts.values() if a.user == user.name]

    def ep_account_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        return [a.body(user.id) for a in self._mine(user)]

    def ep_account_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        account = self.accounts.get(_int(query.get("id")) or 0)
        if account is None or account.user != user.name:
            raise _NotFoundError
        return account.body(user.id)

    def ep_cash_snapshot(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account = self.accounts.get(_int(body.get("accountId")) or 0)
        if account is None or account.user != user.name:
            return {"errorText": ACCESS_DENIED}
        open_pnl, margin = ZERO, ZERO
        for (account_id, contract_id), (net, avg) in self.positions.items():
            if account_id != account.id or not net:
                continue
            contract = self.contracts[contract_id]
            margin += abs(net) * contract.margin
            last = self.prices.get(contract_id)
            if last is not None:
                open_pnl += (last - avg) * net * contract.point_value
        return {
            "totalCashValue": _num(account.balance),
            "totalPnL": _num(account.realized + open_pnl),
            "initialMargin": _num(margin),
            "maintenanceMargin": _num(margin),
            "netLiq": _num(account.balance + open_pnl),
            "openPnL": _num(open_pnl),
            "realizedPnL": _num(account.realized),
            "weekRealizedPnL": _num(account.realized),
        }

    # --- Endpoints: contracts -----------------------------------------------------

    def ep_contract_find(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = str(query.get("name") or "").strip().upper()
        for contract in self.contracts.values():
            if contract.name == wanted:
                return contract.body()
        raise _NotFoundError

    def ep_contract_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        contract = self.contracts.get(_int(query.get("id")) or 0)
        if contract is None:
            raise _NotFoundError
        return contract.body()

    def ep_contract_items(
        self, user: FakeUser, body: Any, query: dict[str, str]
    ) -> Any:
        ids = [_int(part) for part in str(query.get("ids") or "").split(",")]
        return [self.contracts[i].body() for i in ids if i in self.contracts]

    def ep_contract_suggest(
        self, user: FakeUser, body: Any, query: dict[str, str]
    ) -> Any:
        text = str(query.get("t") or "").strip().upper()
        limit = _int(query.get("l")) or 10
        found = sorted(
            (c for c in self.contracts.values() if text and c.name.startswith(text)),
            key=lambda c: (c.root, c.id),  # listed front month first
        )
        return [c.body() for c in found[:limit]]

    # --- Endpoints: positions, orders, fills, commands ----------------------------

    def _position_body(self, key: tuple[int, int]) -> dict[str, Any]:
        net, avg = self.positions[key]
        book = self._books[key]
        answer: dict[str, Any] = {
            "id": book.id,
            "accountId": key[0],
            "contractId": key[1],
            "timestamp": _iso(book.updated),
            "tradeDate": _trade_date_body(book.updated),
            "netPos": net,
            "bought": book.bought,
            "boughtValue": _num(book.bought_value),
            "sold": book.sold,
            "soldValue": _num(book.sold_value),
            "prevPos": 0,
        }
        if net:
            answer["netPrice"] = _num(avg)
        return answer

    def _my_account_ids(self, user: FakeUser) -> set[int]:
        return {a.id for a in self._mine(user)}

    def ep_position_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_account_ids(user)
        return [self._position_body(k) for k in self.positions if k[0] in mine]

    def ep_position_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted, mine = _int(query.get("id")), self._my_account_ids(user)
        for key, book in self._books.items():
            if book.id == wanted and key[0] in mine:
                return self._position_body(key)
        raise _NotFoundError

    def _my_orders(self, user: FakeUser) -> list[FakeOrder]:
        mine = self._my_account_ids(user)
        return [o for o in self.orders.values() if o.account_id in mine]

    def ep_order_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        return [o.body() for o in self._my_orders(user)]

    def ep_order_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        try:
            return self._own_order(user, query.get("id")).body()
        except _RefusedError as exc:
            raise _NotFoundError from exc

    def _my_order_ids(self, user: FakeUser) -> set[int]:
        return {o.id for o in self._my_orders(user)}

    def ep_version_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [v for v in self.order_versions.values() if v["orderId"] in mine]

    def ep_version_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [v for v in self.order_versions.values() if v["orderId"] == wanted]

    def ep_fill_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [f for f in self.fills if f["orderId"] in mine]

    def ep_fill_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [f for f in self.fills if f["orderId"] == wanted]

    def ep_command_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [c for c in self.commands.values() if c["orderId"] in mine]

    def ep_command_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        command = self.commands.get(_int(query.get("id")) or 0)
        if command is None or command["orderId"] not in self._my_order_ids(user):
            raise _NotFoundError
        return command

    def ep_command_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [c for c in self.commands.values() if c["orderId"] == wanted]

    # --- Endpoints: order actions -------------------------------------------------

    def ep_place_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account, contract, leg = self._entry(user, body)
        self._fresh_ids(account, [leg])
        order = self._book(account, contract, leg, body)
        self._execute(order)
        return {"orderId": order.id}

    def ep_place_oso(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account, contract, leg = self._entry(user, body)
        brackets = [
            self._leg(body[name], contract, qty=leg.qty, default_tif=TimeInForce.GTC)
            for name in ("bracket1", "bracket2")
            if body.get(name) is not None
        ]
        if not brackets:
            raise _RefusedError(FailureReason.UNKNOWN_REASON, "bracket1 is required")
        self._fresh_ids(account, [leg, *brackets])
        entry = self._book(account, contract, leg, body)
        legs = [
            self._book(
                account,
                contract,
                bracket,
                body,
                status=OrdStatus.SUSPENDED,
                parent_id=entry.id,
            )
            for bracket in brackets
        ]
        if len(legs) == 2:
            legs[0].linked_id, legs[1].linked_id = legs[1].id, legs[0].id
        self._execute(entry)
        answer = {"orderId": entry.id, "oso1Id": legs[0].id}
        if len(legs) == 2:
            answer["oso2Id"] = legs[1].id
        return answer

    def ep_modify_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        order = self._own_order(user, body.get("orderId"))
        if order.status not in (OrdStatus.WORKING, OrdStatus.SUSPENDED):
            raise _RefusedError(
                FailureReason.TOO_LATE, "The order is no longer working"
            )
        contract = self.contracts[order.contract_id]
        changes = {
            "action": str(order.action),
            "orderQty": body.get("orderQty", order.qty),
            "orderType": body.get("orderType", str(order.order_type)),
            "price": body.get("price", order.price),
            "stopPrice": body.get("stopPrice", order.stop_price),
            "timeInForce": body.get("timeInForce", str(order.time_in_force)),
        }
        leg = self._leg(changes, contract)
        if leg.order_type == OrderType.MARKET and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote for a market order")
        order.order_type, order.qty, order.price, order.stop_price = (
            leg.order_type,
            leg.qty,
            leg.price,
            leg.stop_price,
        )
        order.time_in_force, order.triggered, order.updated = (
            leg.time_in_force,
            False,
            _now(),
        )
        self._version(order)
        cl_ord_id = body.get("clOrdId")
        command_id = self._command(
            order, CommandType.MODIFY, str(cl_ord_id) if cl_ord_id else None, body
        )
        last = self.prices.get(order.contract_id)
        if last is not None:
            self._try_fill(order, last)
        return {"commandId": command_id}

    def ep_cancel_order(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        order = self._own_order(user, body.get("orderId"))
        if order.status not in OPEN_STATUSES:
            raise _RefusedError(
                FailureReason.TOO_LATE, "The order is no longer working"
            )
        cl_ord_id = body.get("clOrdId")
        command_id = self._command(
            order, CommandType.CANCEL, str(cl_ord_id) if cl_ord_id else None, body
        )
        self._cancel(order)
        return {"commandId": command_id}

    def _liquidate(
        self, account: FakeAccount, contract: FakeContract, body: dict[str, Any]
    ) -> FakeOrder | None:
        """Cancel the contract's open orders on the account, then close the position
        at the last price; the closing order (None when flat)."""
        net, _ = self.positions.get((account.id, contract.id), (0, ZERO))
        if net and contract.id not in self.prices:
            raise _RefusedError(FailureReason.NO_QUOTE, "No quote to liquidate at")
        for order in list(self.orders.values()):
            if (
                order.account_id == account.id
                and order.contract_id == contract.id
                and order.status in OPEN_STATUSES
            ):
                self._cancel(order)
        if not net:
            return None
        leg = _Leg(
            Action.SELL if net > 0 else Action.BUY,
            OrderType.MARKET,
            abs(net),
            None,
            None,
            TimeInForce.DAY,
            None,
            "Liquidation",
        )
        order = self._book(account, contract, leg, {"isAutomated": True, **body})
        self._execute(order)
        return order

    def ep_liquidate_position(
        self, user: FakeUser, body: dict[str, Any], query: Any
    ) -> Any:
        account = self._own_account(user, body.get("accountId"))
        contract = self.contracts.get(_int(body.get("contractId")) or 0)
        if contract is None:
            raise _RefusedError(FailureReason.INVALID_CONTRACT, "Unknown contract")
        order = self._liquidate(account, contract, body)
        if order is None:
            raise _RefusedError(
                FailureReason.UNKNOWN_REASON, "No position to liquidate"
            )
        return {"orderId": order.id}

    def ep_liquidate_positions(
        self, user: FakeUser, body: dict[str, Any], query: Any
    ) -> Any:
        wanted = body.get("positions")
        if not isinstance(wanted, list) or not wanted:
            return {"ok": False, "errorText": "positions is required"}
        by_id = {book.id: key for key, book in self._books.items()}
        mine = self._my_account_ids(user)
        keys = [by_id.get(_int(value) or 0) for value in wanted]
        if any(key is None or key[0] not in mine for key in keys):
            return {"ok": False, "errorText": ACCESS_DENIED}
        closing = [key for key in keys if key is not None and self.positions[key][0]]
        if any(key[1] not in self.prices for key in closing):
            return {"ok": False, "errorText": "No quote to liquidate at"}
        for key in keys:
            assert key is not None
            self._liquidate(self.accounts[key[0]], self.contracts[key[1]], body)
        return {"ok": True}

    # --- HTTP -----------------------------------------------------------------------

    def _token_user(self, headers: dict[str, str]) -> tuple[str, FakeUser] | None:
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        token = value[len("bearer ") :].strip()
        with self.lock:
            found = self.tokens.get(token)
            if found is None or found[1] <= _now():
                return None
            user = self.users.get(found[0])
            return (token, user) if user is not None else None

    def _limited(self, token: str) -> bool:
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.hits.get(token, []) if now - t < 60]
            recent.append(now)
            self.hits[token] = recent
            return len(recent) > self.knobs.rate_limit

    def _penalized(
        self, endpoint: str, body: dict[str, Any], query: dict[str, str]
    ) -> dict[str, Any] | None:
        """A p-ticket to answer with instead of serving the call, or None."""
        ticket = body.pop("p-ticket", None) or query.pop("p-ticket", None)
        signature = json.dumps([endpoint, body, query], sort_keys=True, default=str)
        with self.lock:
            held = self.tickets.get(str(ticket)) if ticket else None
            if held is not None and held.signature == signature:
                del self.tickets[str(ticket)]
                if held.captcha or not held.waited():
                    return self._ticket(signature, captcha=held.captcha)
                return None
            if self.knobs.penalty > 0:
                self.knobs.penalty -= 1
                return self._ticket(signature, captcha=self.knobs.captcha)
            return None

    def _ticket(self, signature: str, *, captcha: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        seconds = self.knobs.penalty_seconds
        self.tickets[token] = _Ticket(
            signature, _now(), time.monotonic(), seconds, captcha
        )
        return {"p-ticket": token, "p-time": seconds, "p-captcha": captcha}

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in ("/oauth", "/auth/oauthtoken"):
            await self.oauth.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.socket.serve(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        await answer_http(
            receive,
            send,
            lambda raw: self._respond(scope, raw),
            default=_json_default,
        )

    async def _respond(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        path: str = scope["path"]
        method: str = scope["method"].upper()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        if not path.lower().startswith("/v1/"):
            return 404, b""
        endpoint = path[len("/v1/") :].strip("/").lower()
        with self.lock:
            self.calls.append(endpoint)
            hang = self.knobs.hang > 0
            if hang:
                self.knobs.hang -= 1
            failing = self.knobs.fail.pop(0) if self.knobs.fail else None
        if hang:
            await asyncio.sleep(self.knobs.hang_seconds)
        if failing is not None:
            return failing, b""
        route = ROUTES.get(endpoint)
        if route is None:
            return 404, b""
        if route.method != "ANY" and method != route.method:
            return 405, b""
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        body: dict[str, Any] = {}
        if method == "POST" and raw.strip():
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                return 400, b"Malformed JSON"
            if not isinstance(parsed, dict):
                return 400, b"Malformed JSON"
            body = parsed
        ticket = self._penalized(endpoint, body, query)
        if ticket is not None:
            return 200, ticket
        if endpoint == "auth/accesstokenrequest":
            return 200, self.login(body)
        found = self._token_user(headers)
        if found is None:
            return 401, b""
        token, user = found
        if self._limited(token):
            return 429, b""
        placing = endpoint in PLACEMENTS
        if placing:
            await self.placements.placing(self.knobs.gather, self.knobs.gather_seconds)
        handler: Callable[[FakeUser, dict[str, Any], dict[str, str]], Any] = getattr(
            self, route.handler
        )
        try:
            with self.lock:
                answer = handler(user, body, query)
        except _RefusedError as refused:
            answer = refused.body()
        except _NotFoundError:
            return 404, b""
        if method == "POST":
            self.notify()
        if placing and isinstance(answer, dict) and "orderId" in answer:
            with self.lock:
                if self.knobs.drop_after_place:
                    self.knobs.drop_after_place -= 1
                    return 500, b""
        return 200, answer

    # --- Running --------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeTradovate]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls()
        with serve_on_loopback(fake.app, "the fake Tradovate") as base:
            fake.url = f"{base}/v1"
            yield fake


# Lower-cased path (without /v1) -> method and handler. accesstokenrequest is
# served before the token check; renewaccesstoken is a GET in the docs, and a
# POST is accepted too.
ROUTES: dict[str, _Route] = {
    "auth/accesstokenrequest": _Route("POST", "login"),
    "auth/renewaccesstoken": _Route("ANY", "ep_renew"),
    "auth/me": _Route("GET", "ep_me"),
    "account/list": _Route("GET", "ep_account_list"),
    "account/item": _Route("GET", "ep_account_item"),
    "cashbalance/getcashbalancesnapshot": _Route("POST", "ep_cash_snapshot"),
    "contract/find": _Route("GET", "ep_contract_find"),
    "contract/item": _Route("GET", "ep_contract_item"),
    "contract/items": _Route("GET", "ep_contract_items"),
    "contract/suggest": _Route("GET", "ep_contract_suggest"),
    "position/list": _Route("GET", "ep_position_list"),
    "position/item": _Route("GET", "ep_position_item"),
    "order/list": _Route("GET", "ep_order_list"),
    "order/item": _Route("GET", "ep_order_item"),
    "orderversion/list": _Route("GET", "ep_version_list"),
    "orderversion/deps": _Route("GET", "ep_version_deps"),
    "fill/list": _Route("GET", "ep_fill_list"),
    "fill/deps": _Route("GET", "ep_fill_deps"),
    "command/list": _Route("GET", "ep_command_list"),
    "command/item": _Route("GET", "ep_command_item"),
    "command/deps": _Route("GET", "ep_command_deps"),
    "order/placeorder": _Route("POST", "ep_place_order"),
    "order/placeoso": _Route("POST", "ep_place_oso"),
    "order/modifyorder": _Route("POST", "ep_modify_order"),
    "order/cancelorder": _Route("POST", "ep_cancel_order"),
    "order/liquidateposition": _Route("POST", "ep_liquidate_position"),
    "order/liquidatepositions": _Route("POST", "ep_liquidate_positions"),
}
