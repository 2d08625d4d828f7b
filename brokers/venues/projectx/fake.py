"""A faithful fake ProjectX Gateway: real HTTP on loopback, for tests and benches.

It serves the documented REST surface (`reference/brokers.md` §1): every call a
`POST /api/<Endpoint>` with a bearer token (except `Auth/loginKey` and
`GET /api/Status/ping`), every answer the `{success, errorCode, errorMessage}`
envelope with the per-endpoint error codes, HTTP 401 for a missing or expired
token, 429 past the rate limit (200 calls a minute per token by default). Behind
it a matching engine simple enough to trust: market orders fill at the last
price, limits and stops rest until `price()` crosses them, brackets (in ticks,
only in Auto OCO mode, as the real one) become an OCO pair once the entry fills,
positions net per contract, and a closed trade books its P&L into the balance.
`customTag` is unique per account, as documented.

Knobs a test turns (`FakeProjectX.knobs`): `latency` (seconds before each
answer), `fail` (HTTP statuses the next calls answer with, e.g. [500, 503]),
`drop_after_place` (the next N placements are taken and booked, then the answer
is a 500 — a disconnect in the middle of an order), `hang` (the next N calls
answer after `hang_seconds`, past a client's timeout), `rate_limit`,
`token_seconds` (how long a new token lives) and `gather` (each placement waits
until this many are in flight at once, or `gather_seconds` pass: calls made one
after another never gather; `placements.peak` says how many did). Accounts take
`follower` (copy-trading: orders refused), `auto_oco` and `can_trade`.

    with FakeProjectX.running() as fake:
        fake.user("trader", "key-1")
        account = fake.account("trader", "50KTC-V2-1", balance=Decimal(50_000))
        fake.price("CON.F.US.MNQ.Z26", Decimal("21000"))
        ...  # a ProjectXClient on fake.url
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from brokers.instruments.catalogue import catalogue
from brokers.instruments.contracts import Contract, front_contract
from brokers.instruments.specs import FutureSpec
from brokers.venues.fakes import Placements, answer_http, serve_on_loopback

from .fake_hubs import FakeHubs
from .mapping import OPEN_STATUSES, PositionType, Side, Status, Type

ZERO = Decimal(0)
# ProjectX's own symbols where they differ from the exchange root (ids only; the
# names use the exchange root): the client must find ids by search, never guess.
SYMBOL_IDS = {
    "ES": "EP",
    "NQ": "ENQ",
    "CL": "CLE",
    "GC": "GCE",
    "SI": "SIE",
    "6E": "EU6",
}
FEE_PER_SIDE = Decimal("0.37")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class Knobs:
    latency: float = 0.0
    fail: list[int] = field(default_factory=list)
    drop_after_place: int = 0
    hang: int = 0
    hang_seconds: float = 30.0
    rate_limit: int = 200  # calls per token per minute
    token_seconds: int = 24 * 3600
    gather: int = 0
    gather_seconds: float = 5.0


@dataclass
class FakeAccount:
    id: int
    user: str
    name: str
    balance: Decimal
    can_trade: bool = True
    simulated: bool = True
    follower: bool = False
    auto_oco: bool = True
    active: bool = True

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "balance": _num(self.balance),
            "canTrade": self.can_trade,
            "isVisible": True,
            "simulated": self.simulated,
        }


@dataclass
class FakeContract:
    id: str
    name: str
    description: str
    tick_size: Decimal
    tick_value: Decimal
    symbol_id: str

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tickSize": _num(self.tick_size),
            "tickValue": _num(self.tick_value),
            "activeContract": True,
            "symbolId": self.symbol_id,
        }


@dataclass
class FakeOrder:
    id: int
    account_id: int
    contract_id: str
    type: int
    side: int
    size: int
    limit_price: Decimal | None
    stop_price: Decimal | None
    custom_tag: str | None
    created: datetime
    status: int = Status.OPEN
    fill_volume: int = 0
    filled_price: Decimal | None = None
    updated: datetime | None = None
    stop_loss_ticks: int | None = None
    take_profit_ticks: int | None = None
    parent_id: int | None = None
    linked_id: int | None = None

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "symbolId": ".".join(self.contract_id.split(".")[1:4]),
            "creationTimestamp": _iso(self.created),
            "updateTimestamp": _iso(self.updated or self.created),
            "status": int(self.status),
            "type": self.type,
            "side": self.side,
            "size": self.size,
            "limitPrice": _num(self.limit_price),
            "stopPrice": _num(self.stop_price),
            "fillVolume": self.fill_volume,
            "filledPrice": _num(self.filled_price),
            "customTag": self.custom_tag,
            "parentOrderId": self.parent_id,
            "linkedOrderId": self.linked_id,
        }


def _month(contract: Contract) -> str:
    return f"{datetime(contract.year, contract.month, 1):%B %Y}"


def _contracts(on: datetime) -> dict[str, FakeContract]:
    """The next few months of every futures root in our catalogue."""
    made: dict[str, FakeContract] = {}
    for root, spec in catalogue().items():
        if not isinstance(spec, FutureSpec):
            continue
        for index in range(1, 4):
            contract = front_contract(root, on.date(), index)
            code = contract.code  # "MNQZ26"
            month_year = f"{code[len(root)]}{code[-2:]}"
            symbol = SYMBOL_IDS.get(root, root)
            contract_id = f"CON.F.US.{symbol}.{month_year}"
            made[contract_id] = FakeContract(
                id=contract_id,
                name=f"{root}{code[len(root)]}{code[-1]}",
                description=f"{spec.name}: {_month(contract)}",
                tick_size=spec.tick_size,
                tick_value=spec.tick_value,
                symbol_id=f"F.US.{symbol}",
            )
    return made


class FakeProjectX:
    """The fake's state and its ASGI app. Thread-safe: the server runs in a thread."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.lock = threading.RLock()
        self.users: dict[str, str] = {}  # user name -> api key
        self.tokens: dict[str, tuple[str, datetime]] = {}  # token -> (user, expires)
        self.accounts: dict[int, FakeAccount] = {}
        self.contracts = _contracts(_now())
        self.prices: dict[str, Decimal] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.positions: dict[tuple[int, str], tuple[int, Decimal]] = {}  # signed size
        self.trades: list[dict[str, Any]] = []
        self.calls: list[str] = []  # endpoints in the order called
        self.hits: dict[str, list[float]] = {}  # token -> call times (rate limit)
        self.placements = Placements()  # Order placements in flight
        self._ids = itertools.count(1000)
        self.url = ""
        self.hubs = FakeHubs(self._token_user)

    # --- Setting the world up ---------------------------------------------------------

    def user(self, name: str, api_key: str) -> None:
        with self.lock:
            self.users[name] = api_key

    def account(
        self, user: str, name: str, balance: Decimal, **flags: Any
    ) -> FakeAccount:
        with self.lock:
            account = FakeAccount(next(self._ids), user, name, balance, **flags)
            self.accounts[account.id] = account
            return account

    def contract_for(self, code: str) -> FakeContract:
        """Our "MNQZ26" -> the fake's contract (for tests to set prices on)."""
        root, month, digit = code[:-3], code[-3], code[-1]
        for contract in self.contracts.values():
            if contract.name == f"{root}{month}{digit}":
                return contract
        raise KeyError(code)

    def price(self, contract_id: str, last: Decimal) -> None:
        """Move the market: resting orders it crosses fill."""
        with self.lock:
            self.prices[contract_id] = last
            contract = self.contracts.get(contract_id)
            if contract is not None:
                self.hubs.quote(contract_id, _quote(contract, last))
            for order in list(self.orders.values()):
                if (
                    order.contract_id == contract_id
                    and order.status == Status.OPEN
                    and self._crossed(order, last)
                ):
                    self._fill(order, self._fill_price(order, last))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # --- Matching -----------------------------------------------------------------

    @staticmethod
    def _crossed(order: FakeOrder, last: Decimal) -> bool:
        buy = order.side == Side.BID
        if order.type == Type.LIMIT and order.limit_price is not None:
            return last <= order.limit_price if buy else last >= order.limit_price
        if order.type == Type.STOP and order.stop_price is not None:
            return last >= order.stop_price if buy else last <= order.stop_price
        return order.type == Type.MARKET

    @staticmethod
    def _fill_price(order: FakeOrder, last: Decimal) -> Decimal:
        if order.type == Type.LIMIT and order.limit_price is not None:
            buy = order.side == Side.BID
            return min(last, order.limit_price) if buy else max(last, order.limit_price)
        return last

    def _fill(self, order: FakeOrder, price: Decimal) -> None:
        contract = self.contracts[order.contract_id]
        account = self.accounts[order.account_id]
        now = _now()
        order.status, order.fill_volume, order.filled_price, order.updated = (
            Status.FILLED,
            order.size,
            price,
            now,
        )
        signed = order.size if order.side == Side.BID else -order.size
        held, avg = self.positions.get((account.id, order.contract_id), (0, ZERO))
        pnl: Decimal | None = None
        if held and (held > 0) != (signed > 0):  # closing, maybe reversing
            closed = min(abs(held), abs(signed))
            per_point = contract.tick_value / contract.tick_size
            direction = 1 if held > 0 else -1
            pnl = (price - avg) * closed * direction * per_point
            account.balance += pnl
        fees = FEE_PER_SIDE * order.size
        account.balance -= fees
        after = held + signed
        if after == 0:
            self.positions.pop((account.id, order.contract_id), None)
        elif held == 0 or (held > 0) != (after > 0):
            self.positions[(account.id, order.contract_id)] = (after, price)
        elif (held > 0) == (signed > 0):
            weighted = (avg * abs(held) + price * abs(signed)) / abs(after)
            self.positions[(account.id, order.contract_id)] = (after, weighted)
        else:
            self.positions[(account.id, order.contract_id)] = (after, avg)
        self.trades.append(
            {
                "id": next(self._ids),
                "accountId": account.id,
                "contractId": order.contract_id,
                "creationTimestamp": _iso(now),
                "price": _num(price),
                "profitAndLoss": _num(pnl),
                "fees": _num(fees),
                "side": order.side,
                "size": order.size,
                "voided": False,
                "orderId": order.id,
            }
        )
        self._brackets(order, price, contract)
        self._order_event(order)
        self.hubs.user_event(
            "GatewayUserTrade", account.user, account.id, self.trades[-1]
        )
        size, average = self.positions.get((account.id, order.contract_id), (0, price))
        self.hubs.user_event(
            "GatewayUserPosition",
            account.user,
            account.id,
            {
                "id": abs(hash((account.id, order.contract_id))) % 10**6,
                "accountId": account.id,
                "contractId": order.contract_id,
                "creationTimestamp": _iso(now),
                "type": PositionType.SHORT if size < 0 else PositionType.LONG,
                "size": abs(size),  # 0: closed (the type stays)
                "averagePrice": _num(average),
            },
        )
        self.hubs.user_event(
            "GatewayUserAccount", account.user, account.id, account.body()
        )
        if order.linked_id is not None:  # one leg of an OCO filled: the other goes
            other = self.orders.get(order.linked_id)
            if other is not None and other.status in OPEN_STATUSES:
                other.status, other.updated = Status.CANCELLED, now
                self._order_event(other)

    def _order_event(self, order: FakeOrder) -> None:
        user = self.accounts[order.account_id].user
        self.hubs.user_event("GatewayUserOrder", user, order.account_id, order.body())

    def _brackets(
        self, entry: FakeOrder, price: Decimal, contract: FakeContract
    ) -> None:
        if entry.stop_loss_ticks is None and entry.take_profit_ticks is None:
            return
        exit_side = Side.ASK if entry.side == Side.BID else Side.BID
        sign = 1 if entry.side == Side.BID else -1
        legs: list[FakeOrder] = []
        if entry.stop_loss_ticks is not None:
            stop = price - sign * entry.stop_loss_ticks * contract.tick_size
            legs.append(self._new(entry, Type.STOP, exit_side, None, stop))
        if entry.take_profit_ticks is not None:
            limit = price + sign * entry.take_profit_ticks * contract.tick_size
            legs.append(self._new(entry, Type.LIMIT, exit_side, limit, None))
        if len(legs) == 2:
            legs[0].linked_id, legs[1].linked_id = legs[1].id, legs[0].id

    def _new(
        self,
        entry: FakeOrder,
        kind: int,
        side: int,
        limit: Decimal | None,
        stop: Decimal | None,
    ) -> FakeOrder:
        leg = FakeOrder(
            id=next(self._ids),
            account_id=entry.account_id,
            contract_id=entry.contract_id,
            type=kind,
            side=side,
            size=entry.size,
            limit_price=limit,
            stop_price=stop,
            custom_tag=None,
            created=_now(),
            parent_id=entry.id,
        )
        self.orders[leg.id] = leg
        return leg

    # --- Endpoints ----------------------------------------------------------------

    def _ok(self, **payload: Any) -> dict[str, Any]:
        return {**payload, "success": True, "errorCode": 0, "errorMessage": None}

    def _no(
        self, code: int, message: str | None = None, **payload: Any
    ) -> dict[str, Any]:
        return {**payload, "success": False, "errorCode": code, "errorMessage": message}

    def _account(self, user: str, body: dict[str, Any]) -> FakeAccount | None:
        account = self.accounts.get(int(body.get("accountId") or 0))
        return account if account is not None and account.user == user else None

    def handle(self, endpoint: str, user: str, body: dict[str, Any]) -> dict[str, Any]:
        name = ENDPOINTS.get(endpoint)
        handler: Callable[[str, dict[str, Any]], dict[str, Any]] | None = (
            getattr(self, name) if name else None
        )
        if handler is None:
            raise LookupError(endpoint)
        with self.lock:
            return handler(user, body)

    def ep_auth_validate(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ok(newToken=self._issue(user))

    def ep_auth_logout(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ok()

    def ep_account_search(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        only_active = bool(body.get("onlyActiveAccounts"))
        found = [
            a.body()
            for a in self.accounts.values()
            if a.user == user and (a.active or not only_active)
        ]
        return self._ok(accounts=found)

    def ep_contract_search(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body.get("searchText") or "").upper()
        found = [
            c.body()
            for c in self.contracts.values()
            if text and (c.name.startswith(text) or text in c.description.upper())
        ]
        return self._ok(contracts=found[:20])

    def ep_contract_search_by_id(
        self, user: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        contract = self.contracts.get(str(body.get("contractId")))
        if contract is None:
            return self._no(1, contract=None)
        return self._ok(contract=contract.body())

    def ep_order_place(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1, orderId=None)
        if account.follower:
            return self._no(10, "Follower accounts cannot place orders", orderId=None)
        if not account.can_trade:
            return self._no(4, "Account is not allowed to trade", orderId=None)
        contract = self.contracts.get(str(body.get("contractId")))
        if contract is None:
            return self._no(8, orderId=None)
        tag = body.get("customTag")
        if tag and any(
            o.custom_tag == tag and o.account_id == account.id
            for o in self.orders.values()
        ):
            return self._no(
                2, "Custom tag already in use for this account.", orderId=None
            )
        size = int(body.get("size") or 0)
        kind = int(body.get("type") or 0)
        limit = _dec(body.get("limitPrice"))
        stop = _dec(body.get("stopPrice"))
        order = FakeOrder(
            id=next(self._ids),
            account_id=account.id,
            contract_id=contract.id,
            type=kind,
            side=int(body.get("side") or 0),
            size=size,
            limit_price=limit,
            stop_price=stop,
            custom_tag=tag,
            created=_now(),
        )
        brackets = body.get("stopLossBracket"), body.get("takeProfitBracket")
        self.orders[order.id] = order
        if any(brackets) and not account.auto_oco:
            order.status = Status.REJECTED
            return self._no(
                2,
                "Brackets cannot be used with Position Brackets. You must enable "
                "Auto OCO Brackets.",
                orderId=order.id,
            )
        if brackets[0]:
            order.stop_loss_ticks = int(brackets[0]["ticks"])
        if brackets[1]:
            order.take_profit_ticks = int(brackets[1]["ticks"])
        last = self.prices.get(contract.id)
        margin_per_contract = Decimal(1000)
        if size <= 0 or size * margin_per_contract > account.balance:
            order.status = Status.REJECTED
            return self._no(3, "Insufficient funds", orderId=order.id)
        if kind not in (Type.MARKET, Type.LIMIT, Type.STOP):
            order.status = Status.REJECTED
            return self._no(2, "Order type not supported", orderId=order.id)
        if kind == Type.MARKET and last is None:
            order.status = Status.REJECTED
            return self._no(2, "Cannot fill without a last price", orderId=order.id)
        if last is not None and self._crossed(order, last):
            self._fill(order, self._fill_price(order, last))
        else:
            self._order_event(order)
        return self._ok(orderId=order.id)

    def ep_order_modify(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1)
        order = self.orders.get(int(body.get("orderId") or 0))
        if (
            order is None
            or order.account_id != account.id
            or order.status != Status.OPEN
        ):
            return self._no(2)
        if body.get("size"):
            order.size = int(body["size"])
        for name, attr in (("limitPrice", "limit_price"), ("stopPrice", "stop_price")):
            if body.get(name) is not None:
                setattr(order, attr, _dec(body[name]))
        order.updated = _now()
        self._order_event(order)
        return self._ok()

    def ep_order_cancel(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1)
        if account.follower:
            return self._no(6, "Follower accounts cannot cancel orders")
        if not account.simulated:
            return self._no(6, "Live accounts not supported")
        order = self.orders.get(int(body.get("orderId") or 0))
        if (
            order is None
            or order.account_id != account.id
            or order.status not in OPEN_STATUSES
        ):
            return self._no(2)
        order.status, order.updated = Status.CANCELLED, _now()
        self._order_event(order)
        return self._ok()

    def ep_order_search(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1, orders=[])
        start = _when(body.get("startTimestamp")) or datetime.min.replace(tzinfo=UTC)
        end = _when(body.get("endTimestamp")) or datetime.max.replace(tzinfo=UTC)
        found = [
            o.body()
            for o in self.orders.values()
            if o.account_id == account.id and start <= o.created <= end
        ]
        return self._ok(orders=found)

    def ep_order_search_open(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1, orders=[])
        found = [
            o.body()
            for o in self.orders.values()
            if o.account_id == account.id and o.status == Status.OPEN
        ]
        return self._ok(orders=found)

    def ep_position_search_open(
        self, user: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1, positions=[])
        found = [
            {
                "id": abs(hash((account_id, contract_id))) % 10**6,
                "accountId": account_id,
                "contractId": contract_id,
                "creationTimestamp": _iso(_now()),
                "type": PositionType.LONG if size > 0 else PositionType.SHORT,
                "size": abs(size),
                "averagePrice": _num(avg),
            }
            for (account_id, contract_id), (size, avg) in self.positions.items()
            if account_id == account.id
        ]
        return self._ok(positions=found)

    def _close(
        self, account: FakeAccount, contract_id: str, size: int | None
    ) -> dict[str, Any] | None:
        held, _ = self.positions.get((account.id, contract_id), (0, ZERO))
        if not held:
            return self._no(2)
        if size is not None and (size <= 0 or size > abs(held)):
            return self._no(5)
        last = self.prices.get(contract_id)
        if last is None:
            return self._no(7 if size is None else 8, "No price to close at")
        order = FakeOrder(
            id=next(self._ids),
            account_id=account.id,
            contract_id=contract_id,
            type=Type.MARKET,
            side=Side.ASK if held > 0 else Side.BID,
            size=size or abs(held),
            limit_price=None,
            stop_price=None,
            custom_tag=None,
            created=_now(),
        )
        self.orders[order.id] = order
        self._fill(order, last)
        return None

    def ep_position_close_contract(
        self, user: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1)
        if account.follower:
            return self._no(8, "Follower accounts cannot close positions")
        refused = self._close(account, str(body.get("contractId")), None)
        return refused or self._ok()

    def ep_position_partial_close_contract(
        self, user: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1)
        refused = self._close(
            account, str(body.get("contractId")), int(body.get("size") or 0)
        )
        return refused or self._ok()

    def ep_history_retrieve_bars(
        self, user: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """The last price as one bar (all four prices the last, as a quiet minute)."""
        contract_id = str(body.get("contractId"))
        if contract_id not in self.contracts:
            return self._no(1, bars=[])
        last = self.prices.get(contract_id)
        if last is None:
            return self._ok(bars=[])
        price = _num(last)
        now = _now().replace(second=0, microsecond=0)
        bar = {"t": _iso(now), "o": price, "h": price, "l": price, "c": price, "v": 0}
        return self._ok(bars=[bar])

    def ep_trade_search(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(user, body)
        if account is None:
            return self._no(1, trades=[])
        start = _when(body.get("startTimestamp")) or datetime.min.replace(tzinfo=UTC)
        found = [
            t
            for t in self.trades
            if t["accountId"] == account.id and _when(t["creationTimestamp"]) >= start  # type: ignore[operator]
        ]
        return self._ok(trades=found)

    # --- HTTP -----------------------------------------------------------------------

    def _issue(self, user: str) -> str:
        """A JWT as ProjectX gives (its `exp` says when it ends), signed by nobody."""
        expires = _now() + timedelta(seconds=self.knobs.token_seconds)
        claims = {
            "sub": user,
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        parts = [
            base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
            for part in ({"alg": "HS256", "typ": "JWT"}, claims)
        ]
        token = ".".join([*parts, secrets.token_urlsafe(16)])
        self.tokens[token] = (user, expires)
        return token

    def _token_user(self, token: str) -> str | None:
        with self.lock:
            found = self.tokens.get(token)
            if found is None or found[1] <= _now():
                return None
            return found[0]

    def _authenticated(self, headers: dict[str, str]) -> str | None:
        value = headers.get("authorization", "")
        token = value.removeprefix("Bearer ").strip()
        with self.lock:
            found = self.tokens.get(token)
            if found is None or found[1] <= _now():
                return None
            return found[0]

    def _limited(self, token: str) -> bool:
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.hits.get(token, []) if now - t < 60]
            recent.append(now)
            self.hits[token] = recent
            return len(recent) > self.knobs.rate_limit

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        if scope["type"] == "websocket":
            await self.hubs.serve(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        await answer_http(receive, send, lambda raw: self._respond(scope, raw))

    async def _respond(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        path: str = scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        with self.lock:
            if self.knobs.hang:
                self.knobs.hang -= 1
                hang = True
            else:
                hang = False
            failing = self.knobs.fail.pop(0) if self.knobs.fail else None
        if hang:
            await asyncio.sleep(self.knobs.hang_seconds)
        if failing is not None:
            return failing, {"error": "injected"}
        if path.startswith("/hubs/") and path.endswith("/negotiate"):
            query = scope.get("query_string", b"").decode()
            return self.hubs.negotiate(headers, query)
        if path == "/api/Status/ping" and scope["method"] == "GET":
            return 200, b'"pong"'
        if scope["method"] != "POST" or not path.startswith("/api/"):
            return 404, {"error": "not found"}
        endpoint = path.removeprefix("/api/")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {
                "title": "One or more validation errors occurred.",
                "status": 400,
            }
        self.calls.append(endpoint)
        if endpoint == "Auth/loginKey":
            if not body.get("userName") or not body.get("apiKey"):
                return 400, {
                    "title": "One or more validation errors occurred.",
                    "status": 400,
                }
            with self.lock:
                if self.users.get(body["userName"]) != body["apiKey"]:
                    return 200, self._no(3, token=None)
                return 200, self._ok(token=self._issue(body["userName"]))
        user = self._authenticated(headers)
        if user is None:
            return 401, b""
        token = headers["authorization"].removeprefix("Bearer ").strip()
        if self._limited(token):
            return 429, b""
        if endpoint == "Order/place":
            await self.placements.placing(self.knobs.gather, self.knobs.gather_seconds)
        try:
            answer = self.handle(endpoint, user, body)
        except LookupError:
            return 404, {"error": "not found"}
        if endpoint == "Order/place":
            with self.lock:
                if self.knobs.drop_after_place:
                    self.knobs.drop_after_place -= 1
                    return 500, b""
        return 200, answer

    # --- Running --------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeProjectX]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls()
        with serve_on_loopback(fake.app, "the fake ProjectX") as base:
            fake.url = f"{base}"
            yield fake


ENDPOINTS = {
    "Auth/validate": "ep_auth_validate",
    "Auth/logout": "ep_auth_logout",
    "Account/search": "ep_account_search",
    "Contract/search": "ep_contract_search",
    "Contract/searchById": "ep_contract_search_by_id",
    "Order/place": "ep_order_place",
    "Order/modify": "ep_order_modify",
    "Order/cancel": "ep_order_cancel",
    "Order/search": "ep_order_search",
    "Order/searchOpen": "ep_order_search_open",
    "Position/searchOpen": "ep_position_search_open",
    "Position/closeContract": "ep_position_close_contract",
    "Position/partialCloseContract": "ep_position_partial_close_contract",
    "Trade/search": "ep_trade_search",
    "History/retrieveBars": "ep_history_retrieve_bars",
}


def _quote(contract: FakeContract, last: Decimal) -> dict[str, Any]:
    price = _num(last)
    spread = _num(last + contract.tick_size)
    return {
        "symbol": contract.symbol_id,
        "symbolName": contract.name,
        "lastPrice": price,
        "bestBid": price,
        "bestAsk": spread,
        "lastUpdated": _iso(_now()),
        "timestamp": _iso(_now()),
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
