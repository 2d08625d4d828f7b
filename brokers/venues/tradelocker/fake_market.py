"""The fake TradeLocker's state, how a test sets it up, and its matching engine.

`FakeMarket` holds the users and their tokens, the accounts, the instruments and
their quotes, the orders, positions and executions, behind one lock. A test adds
users, accounts and instruments and moves quotes (`price()`); the engine fills
what a quote reaches, opens a position for each fill (hedging-style), trails
stops, closes a position at its stop or target and books the P&L, as fake.py
describes. The endpoints (fake_auth.py, fake_reading.py, fake_trading.py) are
built on it.
"""

from __future__ import annotations

import itertools
import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .fake_world import (
    CATALOGUE,
    CENT,
    ZERO,
    FakeAccount,
    FakeInstrument,
    FakeOrder,
    FakePosition,
    FakeUser,
    Knobs,
    _ms,
    _now,
    _Token,
)
from .mapping import (
    OrderKind,
    OrderStatus,
    Side,
    StopLossType,
    TakeProfitType,
    Validity,
)

FIRST_ACCOUNT_ID = 712_345
FIRST_TRADE_ID = 7_205_759_403_792_832_101


class FakeMarket:
    """The fake's state, behind `lock`, and the matching engine over it."""

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
