"""The fake Tradovate's state, how a test sets it up, and its matching engine.

`FakeMarket` holds the users and their tokens, the accounts, the contracts and
their last prices, the orders with their versions and commands, the positions and
fills, behind one lock, and the listeners told of every change. A test adds users
and accounts, lists contracts and moves prices (`price()`); the engine fills what
a price reaches, nets positions, books the P&L into cash, works and cancels
brackets, as fake.py describes. The endpoints (fake_auth.py, fake_reading.py,
fake_trading.py) and the WebSocket (fake_socket.py) are built on it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from brokers.instruments.catalogue import catalogue
from brokers.instruments.contracts import Contract, front_contract, month_of
from brokers.instruments.specs import FutureSpec
from brokers.venues.names import contract_name

from .fake_world import (
    ACCESS_DENIED,
    ZERO,
    FakeAccount,
    FakeContract,
    FakeOrder,
    FakeUser,
    Knobs,
    _Book,
    _int,
    _iso,
    _Leg,
    _now,
    _num,
    _RefusedError,
    _trade_date_body,
)
from .mapping import (
    OPEN_STATUSES,
    CommandStatus,
    CommandType,
    FailureReason,
    OrderType,
    OrdStatus,
    TimeInForce,
)

MONTHS_LISTED = 3  # contract months listed per root, from the front one


class FakeMarket:
    """The fake's state, behind `lock`, and the matching engine over it."""

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
        self.listeners: list[Callable[[], None]] = []  # told of every change
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

    # --- Whose it is, and a position as its row ------------------------------------

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

    def _mine(self, user: FakeUser) -> list[FakeAccount]:
        return [a for a in self.accounts.values() if a.user == user.name]

    def _my_account_ids(self, user: FakeUser) -> set[int]:
        return {a.id for a in self._mine(user)}

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
