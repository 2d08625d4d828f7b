"""A simulated MetaTrader terminal: the account, its symbols and prices, its
positions and pending orders, and the trade requests an Expert Advisor sends
(no HTTP: the fake EA in `fake_ea.py` drives it, and tests drive it directly).

    terminal = FakeTerminal(symbols=standard_symbols(".r"))
    result = terminal.open("EURUSD.r", "buy", Decimal("0.10"))
    terminal.set_price("EURUSD.r", Decimal("1.08900"), Decimal("1.08912"))

What it models, in the terminal's own terms:

- Results carry MetaTrader's return code and its name: `MqlTradeResult.retcode`
  (10009 `TRADE_RETCODE_DONE`, 10008 `TRADE_RETCODE_PLACED`, ...) for "MT5", the
  `GetLastError()` number (0 `ERR_NO_ERROR`, 131 `ERR_INVALID_TRADE_VOLUME`, ...)
  for "MT4".
- Hedging accounts hold one position per fill; netting accounts (`hedging=False`,
  MT5 only) one per symbol, which fills add to, reduce or reverse. A position's
  ticket is the ticket of the order that opened it. On MT4 a partial close gives
  the rest of the position a new ticket, commented `from #<old ticket>`.
- Volumes are rounded down to the symbol's step; under the minimum or over the
  maximum is invalid volume. Buys fill at the ask and close at the bid, sells the
  other way round.
- `set_price` fills pending orders whose price is crossed (a limit at its price,
  a stop at the market) and closes positions whose stop loss or take profit is hit
  (at the market), booking the realised profit to the balance.

Simplifications: every symbol is quoted in the account's currency (profit = price
difference x volume x contract size, no swaps or commissions); margin is volume x
contract size x open price / leverage; `market_closed` refuses requests but
prices still move. Decimal everywhere; each public method holds one lock, so a
test thread may move prices while an EA thread trades.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Literal

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop"]
Platform = Literal["MT5", "MT4"]

ZERO = Decimal(0)
CENT = Decimal("0.01")
COMMENT_LENGTH = 31  # MetaTrader keeps at most 31 characters of a comment


class Outcome(Enum):
    """What happened to a request, before it is spelt as one platform's code."""

    DONE = "done"
    PLACED = "placed"
    INVALID_REQUEST = "invalid-request"
    UNKNOWN_SYMBOL = "unknown-symbol"
    SYMBOL_DISABLED = "symbol-disabled"
    INVALID_VOLUME = "invalid-volume"
    INVALID_PRICE = "invalid-price"
    INVALID_STOPS = "invalid-stops"
    MARKET_CLOSED = "market-closed"
    NO_MONEY = "no-money"
    TRADE_NOT_ALLOWED = "trade-not-allowed"
    NO_CONNECTION = "no-connection"
    INVALID_TICKET = "invalid-ticket"
    POSITION_CLOSED = "position-closed"


MT5_RETCODES: dict[Outcome, int] = {
    Outcome.DONE: 10009,
    Outcome.PLACED: 10008,
    Outcome.INVALID_REQUEST: 10013,
    Outcome.UNKNOWN_SYMBOL: 10013,
    Outcome.SYMBOL_DISABLED: 10017,
    Outcome.INVALID_VOLUME: 10014,
    Outcome.INVALID_PRICE: 10015,
    Outcome.INVALID_STOPS: 10016,
    Outcome.MARKET_CLOSED: 10018,
    Outcome.NO_MONEY: 10019,
    Outcome.TRADE_NOT_ALLOWED: 10027,
    Outcome.NO_CONNECTION: 10031,
    Outcome.INVALID_TICKET: 10013,
    Outcome.POSITION_CLOSED: 10036,
}
MT4_ERRORS: dict[Outcome, int] = {
    Outcome.DONE: 0,
    Outcome.PLACED: 0,
    Outcome.INVALID_REQUEST: 3,
    Outcome.UNKNOWN_SYMBOL: 4106,
    Outcome.SYMBOL_DISABLED: 133,
    Outcome.INVALID_VOLUME: 131,
    # MT4 answers a pending price on the wrong side of the market with 130 too.
    Outcome.INVALID_PRICE: 130,
    Outcome.INVALID_STOPS: 130,
    Outcome.MARKET_CLOSED: 132,
    Outcome.NO_MONEY: 134,
    Outcome.TRADE_NOT_ALLOWED: 4109,
    Outcome.NO_CONNECTION: 6,
    Outcome.INVALID_TICKET: 4108,
    Outcome.POSITION_CLOSED: 4108,
}
MT5_RETCODE_NAMES: dict[int, str] = {
    0: "",
    10004: "TRADE_RETCODE_REQUOTE",
    10006: "TRADE_RETCODE_REJECT",
    10008: "TRADE_RETCODE_PLACED",
    10009: "TRADE_RETCODE_DONE",
    10010: "TRADE_RETCODE_DONE_PARTIAL",
    10013: "TRADE_RETCODE_INVALID",
    10014: "TRADE_RETCODE_INVALID_VOLUME",
    10015: "TRADE_RETCODE_INVALID_PRICE",
    10016: "TRADE_RETCODE_INVALID_STOPS",
    10017: "TRADE_RETCODE_TRADE_DISABLED",
    10018: "TRADE_RETCODE_MARKET_CLOSED",
    10019: "TRADE_RETCODE_NO_MONEY",
    10021: "TRADE_RETCODE_PRICE_OFF",
    10027: "TRADE_RETCODE_CLIENT_DISABLES_AT",
    10031: "TRADE_RETCODE_CONNECTION",
    10036: "TRADE_RETCODE_POSITION_CLOSED",
}
MT4_ERROR_NAMES: dict[int, str] = {
    0: "ERR_NO_ERROR",
    3: "ERR_INVALID_TRADE_PARAMETERS",
    6: "ERR_NO_CONNECTION",
    129: "ERR_INVALID_PRICE",
    130: "ERR_INVALID_STOPS",
    131: "ERR_INVALID_TRADE_VOLUME",
    132: "ERR_MARKET_CLOSED",
    133: "ERR_TRADE_DISABLED",
    134: "ERR_NOT_ENOUGH_MONEY",
    136: "ERR_OFF_QUOTES",
    138: "ERR_REQUOTE",
    4106: "ERR_UNKNOWN_SYMBOL",
    4108: "ERR_INVALID_TICKET",
    4109: "ERR_TRADE_NOT_ALLOWED",
}


def retcode_text(platform: Platform, retcode: int) -> str:
    """MetaTrader's name for `retcode` on `platform` (as the EA spells an unknown
    one: `TRADE_RETCODE_<n>`, `ERR_<n>`)."""
    if platform == "MT5":
        return MT5_RETCODE_NAMES.get(retcode, f"TRADE_RETCODE_{retcode}")
    return MT4_ERROR_NAMES.get(retcode, f"ERR_{retcode}")


def opposite(side: Side) -> Side:
    return "sell" if side == "buy" else "buy"


@dataclass
class SymbolInfo:
    """A symbol of the terminal's Market Watch, named as the broker names it."""

    name: str
    bid: Decimal
    ask: Decimal
    digits: int = 5
    contract_size: Decimal = Decimal(100000)
    volume_min: Decimal = Decimal("0.01")
    volume_step: Decimal = Decimal("0.01")
    volume_max: Decimal = Decimal(100)
    trade_enabled: bool = True

    def quantize(self, price: Decimal) -> Decimal:
        return price.quantize(Decimal(1).scaleb(-self.digits), ROUND_HALF_UP)


def standard_symbols(suffix: str = "") -> list[SymbolInfo]:
    """EURUSD (contract 100000), XAUUSD (100) and US30 (1), named with `suffix`."""
    return [
        SymbolInfo(f"EURUSD{suffix}", Decimal("1.08700"), Decimal("1.08712")),
        SymbolInfo(
            f"XAUUSD{suffix}",
            Decimal("2000.00"),
            Decimal("2000.30"),
            digits=2,
            contract_size=Decimal(100),
        ),
        SymbolInfo(
            f"US30{suffix}",
            Decimal("40000.0"),
            Decimal("40002.0"),
            digits=1,
            contract_size=Decimal(1),
            volume_min=Decimal("0.1"),
            volume_step=Decimal("0.1"),
            volume_max=Decimal(50),
        ),
    ]


@dataclass
class Position:
    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    magic: int
    comment: str
    time: int
    profit: Decimal = ZERO  # floating, at the price of the moment it was read


@dataclass
class Order:
    """An order: a pending one (limit / stop) works until the price crosses it; a
    market one fills at once and goes straight to the history."""

    ticket: int
    symbol: str
    side: Side
    type: OrderType
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    magic: int
    comment: str
    time: int


@dataclass(frozen=True)
class HistoryOrder:
    """An order no longer working: `state` "filled", "cancelled" or "rejected"
    (a pending order that found no money when it triggered)."""

    ticket: int
    symbol: str
    side: Side
    type: OrderType
    volume: Decimal
    price: Decimal
    comment: str
    magic: int
    state: Literal["filled", "cancelled", "rejected"]
    fill_price: Decimal = ZERO
    position: int = 0  # the position it opened or changed, once filled


@dataclass(frozen=True)
class Deal:
    """One fill: `entry` "in" opens or adds, "out" closes or reduces."""

    ticket: int
    order: int
    position: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    profit: Decimal
    entry: Literal["in", "out"]
    magic: int
    comment: str
    time: int


@dataclass(frozen=True)
class AccountState:
    balance: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    positions: list[Position]
    orders: list[Order]


@dataclass(frozen=True)
class TradeResult:
    """A request's answer. `ok` is success (`retcode` DONE or PLACED in MT5, 0 in
    MT4); `placed` means a pending order now works (its ticket in `ticket`);
    `partial` that fewer lots were closed than asked. `ticket` is the order's;
    `position` the position a fill opened or changed (the first one a close
    closed); `volume` the lots filled, closed or placed; `price` the fill price
    (the average of a close) or the pending order's price."""

    retcode: int
    retcode_text: str
    ok: bool
    placed: bool = False
    partial: bool = False
    ticket: int = 0
    position: int = 0
    volume: Decimal = ZERO
    price: Decimal = ZERO


class _RefusedError(Exception):
    def __init__(self, outcome: Outcome | int) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class FakeTerminal:
    """One terminal logged into one account. Knobs: `market_closed`,
    `trade_allowed` (the terminal's AutoTrading button), `connected`, and
    `reject_next(retcode)` (the next request answers that code)."""

    def __init__(
        self,
        *,
        login: int = 51234567,
        server: str = "ICMarkets-Demo",
        broker: str = "Raw Trading Ltd",
        currency: str = "USD",
        balance: Decimal = Decimal("10000.00"),
        leverage: int = 500,
        hedging: bool = True,
        platform: Platform = "MT5",
        build: int | None = None,
        symbols: Iterable[SymbolInfo] | None = None,
        clock: Callable[[], float] = time.time,
        first_ticket: int = 5012345,
    ) -> None:
        if platform == "MT4" and not hedging:
            raise ValueError("MT4 accounts hedge: there is no netting MT4 account")
        self.login = login
        self.server = server
        self.broker = broker
        self.currency = currency
        self.balance = balance.quantize(CENT)
        self.leverage = leverage
        self.hedging = hedging
        self.platform: Platform = platform
        self.build = (
            build if build is not None else (4620 if platform == "MT5" else 1420)
        )
        self.clock = clock
        self.market_closed = False
        self.trade_allowed = True
        self.connected = True
        self.symbols: dict[str, SymbolInfo] = {
            s.name: s for s in (symbols if symbols is not None else standard_symbols())
        }
        self._positions: list[Position] = []  # oldest first
        self._orders: list[Order] = []
        self.deals: list[Deal] = []
        self.history: dict[int, HistoryOrder] = {}
        self._tickets = itertools.count(first_ticket)
        self._deal_tickets = itertools.count(first_ticket + 1_000_000)
        self._rejections: list[int] = []
        self._lock = threading.RLock()

    # --- Reading ------------------------------------------------------------------

    def now(self) -> int:
        """`TimeGMT()`: Unix seconds of the terminal's clock."""
        return int(self.clock())

    def symbol(self, name: str) -> SymbolInfo | None:
        return self.symbols.get(name)

    @property
    def positions(self) -> list[Position]:
        """Copies, oldest first, with their floating profit."""
        with self._lock:
            return [replace(p, profit=self.profit(p)) for p in self._positions]

    @property
    def orders(self) -> list[Order]:
        with self._lock:
            return [replace(o) for o in self._orders]

    def order(self, ticket: int) -> Order | None:
        with self._lock:
            return next((replace(o) for o in self._orders if o.ticket == ticket), None)

    def profit(self, position: Position) -> Decimal:
        """The floating profit of `position` at the current price."""
        with self._lock:
            info = self.symbols[position.symbol]
            close = info.bid if position.side == "buy" else info.ask
            return self._pnl(
                position.side, position.price, close, position.volume, info
            )

    @property
    def floating(self) -> Decimal:
        with self._lock:
            return sum((self.profit(p) for p in self._positions), ZERO)

    @property
    def equity(self) -> Decimal:
        with self._lock:
            return self.balance + self.floating

    @property
    def margin(self) -> Decimal:
        with self._lock:
            return sum(
                (self._margin_of(p.symbol, p.volume, p.price) for p in self._positions),
                ZERO,
            ).quantize(CENT)

    @property
    def free_margin(self) -> Decimal:
        with self._lock:
            return self.equity - self.margin

    def state(self) -> AccountState:
        """The account at one instant: what a heartbeat reports."""
        with self._lock:
            return AccountState(
                balance=self.balance,
                equity=self.equity,
                margin=self.margin,
                free_margin=self.free_margin,
                positions=self.positions,
                orders=self.orders,
            )

    def retcode(self, outcome: Outcome) -> tuple[int, str]:
        """`outcome` as this platform's code and name."""
        codes = MT5_RETCODES if self.platform == "MT5" else MT4_ERRORS
        return codes[outcome], retcode_text(self.platform, codes[outcome])

    def normalize_volume(self, symbol: str, volume: Decimal) -> Decimal:
        """`volume` rounded down to the symbol's step."""
        step = self.symbols[symbol].volume_step
        steps = (volume / step).to_integral_value(ROUND_DOWN)
        return (steps * step).quantize(step)

    def find_by_comment(
        self, symbol: str, comment: str
    ) -> Position | Order | Deal | None:
        """An open position, else a working order, else an entry deal of `symbol`
        carrying `comment` (as the broker keeps it: 31 characters), newest first:
        how the EA tells that an order reached the broker already."""
        comment = comment[:COMMENT_LENGTH]
        with self._lock:
            for position in reversed(self.positions):
                if (position.symbol, position.comment) == (symbol, comment):
                    return position
            for order in reversed(self.orders):
                if (order.symbol, order.comment) == (symbol, comment):
                    return order
            for deal in reversed(self.deals):
                if (deal.symbol, deal.comment, deal.entry) == (symbol, comment, "in"):
                    return deal
            return None

    # --- Knobs and prices ---------------------------------------------------------

    def reject_next(self, retcode: int) -> None:
        """The next trade request answers `retcode` and does nothing (queued: call
        it twice to refuse two)."""
        with self._lock:
            self._rejections.append(retcode)

    def set_price(self, symbol: str, bid: Decimal, ask: Decimal) -> list[Deal]:
        """A tick: fills the pending orders it crosses, then closes the positions
        whose stop loss or take profit it hits. Returns the deals it made."""
        with self._lock:
            info = self.symbols[symbol]
            info.bid, info.ask = info.quantize(bid), info.quantize(ask)
            before = len(self.deals)
            for order in [o for o in self._orders if o.symbol == symbol]:
                if self._triggered(order, info):
                    self._trigger(order, info)
            for position in [p for p in self._positions if p.symbol == symbol]:
                hit = self._hit(position, info)
                if hit:
                    close = info.bid if position.side == "buy" else info.ask
                    level = position.sl if hit == "sl" else position.tp
                    comment = f"[{hit} {info.quantize(level)}]"
                    self._close_part(position, position.volume, close, comment)
            return self.deals[before:]

    # --- Requests -----------------------------------------------------------------

    def open(
        self,
        symbol: str,
        side: Side,
        volume: Decimal,
        *,
        type: OrderType = "market",
        price: Decimal = ZERO,
        sl: Decimal = ZERO,
        tp: Decimal = ZERO,
        magic: int = 0,
        comment: str = "",
    ) -> TradeResult:
        """A market order (filled at once) or a limit / stop order (placed)."""
        with self._lock:
            try:
                info = self._check(symbol)
                lots = self._lots(info, volume)
                market = info.ask if side == "buy" else info.bid
                if type == "market":
                    # Stops are checked against the price the position closes at.
                    closing = info.bid if side == "buy" else info.ask
                    self._check_stops(side, closing, sl, tp)
                    self._check_money(symbol, side, lots, market)
                else:
                    price = info.quantize(price)
                    below = type == "limit" if side == "buy" else type == "stop"
                    if price <= 0 or (price >= market if below else price <= market):
                        raise _RefusedError(Outcome.INVALID_PRICE)
                    self._check_stops(side, price, sl, tp)
            except _RefusedError as refused:
                return self._refused(refused.outcome)
            order = Order(
                ticket=next(self._tickets),
                symbol=symbol,
                side=side,
                type=type,
                volume=lots,
                price=ZERO if type == "market" else price,
                sl=info.quantize(sl),
                tp=info.quantize(tp),
                magic=magic,
                comment=comment[:COMMENT_LENGTH],
                time=self.now(),
            )
            if type == "market":
                position = self._fill(order, market)
                return self._done(order.ticket, position, lots, market)
            self._orders.append(order)
            return self._done(order.ticket, 0, lots, order.price, placed=True)

    def close(
        self, symbol: str, side: Side, volume: Decimal, *, comment: str = ""
    ) -> TradeResult:
        """Close `volume` lots of the `side` positions of `symbol`, oldest first, the
        last one partly. Fewer open than asked: all of them, `partial` set."""
        with self._lock:
            try:
                info = self._check(symbol)
                lots = self._lots(info, volume, check_max=False)
                targets = [
                    p for p in self._positions if p.symbol == symbol and p.side == side
                ]
                if not targets:
                    raise _RefusedError(Outcome.POSITION_CLOSED)
            except _RefusedError as refused:
                return self._refused(refused.outcome)
            close = info.bid if side == "buy" else info.ask
            first, left = targets[0].ticket, lots
            for position in targets:
                if left <= 0:
                    break
                part = min(left, position.volume)
                self._close_part(position, part, close, comment[:COMMENT_LENGTH])
                left -= part
            return self._done(first, first, lots - left, close, partial=left > 0)

    def close_position(self, ticket: int, volume: Decimal | None = None) -> TradeResult:
        """Close one position (all of it by default), as a trader's click does."""
        with self._lock:
            position = next((p for p in self._positions if p.ticket == ticket), None)
            try:
                if position is None:
                    raise _RefusedError(Outcome.POSITION_CLOSED)
                info = self._check(position.symbol)
                lots = position.volume
                if volume is not None:
                    lots = min(lots, self._lots(info, volume, check_max=False))
            except _RefusedError as refused:
                return self._refused(refused.outcome)
            close = info.bid if position.side == "buy" else info.ask
            self._close_part(position, lots, close, "")
            return self._done(ticket, ticket, lots, close)

    def delete_order(self, ticket: int) -> TradeResult:
        """Delete the pending order `ticket`."""
        with self._lock:
            order = next((o for o in self._orders if o.ticket == ticket), None)
            try:
                if order is None:
                    raise _RefusedError(Outcome.INVALID_TICKET)
                self._check(order.symbol)
            except _RefusedError as refused:
                return self._refused(refused.outcome)
            self._orders.remove(order)
            self._archive(order, "cancelled")
            return self._done(ticket, 0, order.volume, order.price)

    def flatten(self, symbol: str | None = None) -> TradeResult:
        """Close every position and delete every pending order of `symbol`, or of
        the whole account. `volume` is the lots closed (0 when already flat),
        `price` their average close price."""
        with self._lock:
            try:
                if symbol is None:
                    self._check_terminal()
                else:
                    self._check(symbol)
            except _RefusedError as refused:
                return self._refused(refused.outcome)
            closed = notional = ZERO
            for position in [p for p in self._positions if symbol in (None, p.symbol)]:
                info = self.symbols[position.symbol]
                close = info.bid if position.side == "buy" else info.ask
                closed += position.volume
                notional += position.volume * close
                self._close_part(position, position.volume, close, "")
            for order in [o for o in self._orders if symbol in (None, o.symbol)]:
                self._orders.remove(order)
                self._archive(order, "cancelled")
            average = notional / closed if closed else ZERO
            return self._done(0, 0, closed, average)

    # --- Inside ---------------------------------------------------------------------

    def _done(
        self,
        ticket: int,
        position: int,
        volume: Decimal,
        price: Decimal,
        *,
        placed: bool = False,
        partial: bool = False,
    ) -> TradeResult:
        code, text = self.retcode(Outcome.PLACED if placed else Outcome.DONE)
        return TradeResult(
            code,
            text,
            ok=True,
            placed=placed,
            partial=partial,
            ticket=ticket,
            position=position,
            volume=volume,
            price=price,
        )

    def _refused(self, outcome: Outcome | int) -> TradeResult:
        """A refusal: an outcome, or the code given to `reject_next`."""
        code = outcome if isinstance(outcome, int) else self.retcode(outcome)[0]
        return TradeResult(code, retcode_text(self.platform, code), ok=False)

    def _check(self, symbol: str) -> SymbolInfo:
        """What every request on `symbol` passes first; returns the symbol."""
        self._check_terminal()
        info = self.symbols.get(symbol)
        if info is None:
            raise _RefusedError(Outcome.UNKNOWN_SYMBOL)
        if not info.trade_enabled:
            raise _RefusedError(Outcome.SYMBOL_DISABLED)
        return info

    def _check_terminal(self) -> None:
        """What every request passes first: the knobs."""
        if self._rejections:
            raise _RefusedError(self._rejections.pop(0))
        if not self.connected:
            raise _RefusedError(Outcome.NO_CONNECTION)
        if not self.trade_allowed:
            raise _RefusedError(Outcome.TRADE_NOT_ALLOWED)
        if self.market_closed:
            raise _RefusedError(Outcome.MARKET_CLOSED)

    def _lots(
        self, info: SymbolInfo, volume: Decimal, *, check_max: bool = True
    ) -> Decimal:
        lots = self.normalize_volume(info.name, volume)
        if lots < info.volume_min or (check_max and lots > info.volume_max):
            raise _RefusedError(Outcome.INVALID_VOLUME)
        return lots

    @staticmethod
    def _check_stops(side: Side, reference: Decimal, sl: Decimal, tp: Decimal) -> None:
        """Stops on the right side of `reference` (0 for none)."""
        below, above = (sl, tp) if side == "buy" else (tp, sl)
        if (below > 0 and below >= reference) or (above > 0 and above <= reference):
            raise _RefusedError(Outcome.INVALID_STOPS)
        if sl < 0 or tp < 0:
            raise _RefusedError(Outcome.INVALID_STOPS)

    def _margin_of(self, symbol: str, volume: Decimal, price: Decimal) -> Decimal:
        info = self.symbols[symbol]
        return volume * info.contract_size * price / self.leverage

    def _check_money(
        self, symbol: str, side: Side, lots: Decimal, price: Decimal
    ) -> None:
        """The margin after the fill must fit in the equity (reducing frees it)."""
        if self.hedging:
            needed = self.margin + self._margin_of(symbol, lots, price)
        else:
            current = next((p for p in self._positions if p.symbol == symbol), None)
            signed = lots if side == "buy" else -lots
            if current is not None:
                signed += current.volume if current.side == "buy" else -current.volume
                if abs(signed) <= current.volume:
                    return
            others = sum(
                (
                    self._margin_of(p.symbol, p.volume, p.price)
                    for p in self._positions
                    if p.symbol != symbol
                ),
                ZERO,
            )
            needed = others + self._margin_of(symbol, abs(signed), price)
        if needed > self.equity:
            raise _RefusedError(Outcome.NO_MONEY)

    def _pnl(
        self,
        side: Side,
        opened: Decimal,
        closed: Decimal,
        volume: Decimal,
        info: SymbolInfo,
    ) -> Decimal:
        move = closed - opened if side == "buy" else opened - closed
        return (move * volume * info.contract_size).quantize(CENT, ROUND_HALF_UP)

    def _deal(
        self,
        position: Position,
        side: Side,
        volume: Decimal,
        price: Decimal,
        *,
        entry: Literal["in", "out"],
        order: int = 0,
        profit: Decimal = ZERO,
        comment: str = "",
    ) -> None:
        self.deals.append(
            Deal(
                ticket=next(self._deal_tickets),
                order=order,
                position=position.ticket,
                symbol=position.symbol,
                side=side,
                volume=volume,
                price=price,
                profit=profit,
                entry=entry,
                magic=position.magic,
                comment=comment,
                time=self.now(),
            )
        )

    def _fill(self, order: Order, price: Decimal) -> int:
        """`order` fills at `price`: a new position (hedging), or the symbol's one
        added to, reduced or reversed (netting). Returns the position's ticket."""
        lots, side, ticket, comment = (
            order.volume,
            order.side,
            order.ticket,
            order.comment,
        )
        current = None
        if not self.hedging:
            current = next(
                (p for p in self._positions if p.symbol == order.symbol), None
            )
        if current is None:
            current = Position(
                ticket=ticket,
                symbol=order.symbol,
                side=side,
                volume=lots,
                price=price,
                sl=order.sl,
                tp=order.tp,
                magic=order.magic,
                comment=comment,
                time=self.now(),
            )
            self._positions.append(current)
            self._deal(
                current, side, lots, price, entry="in", order=ticket, comment=comment
            )
        elif current.side == side:  # add, at the average price
            total = current.volume + lots
            current.price = (current.price * current.volume + price * lots) / total
            current.volume = total
            current.sl, current.tp = order.sl or current.sl, order.tp or current.tp
            self._deal(
                current, side, lots, price, entry="in", order=ticket, comment=comment
            )
        else:
            reduce = min(lots, current.volume)
            reverse = lots > reduce
            self._close_part(
                current, reduce, price, comment, order=ticket, keep=reverse
            )
            if reverse:  # the rest opens the other way
                current.side, current.volume, current.price = side, lots - reduce, price
                current.sl, current.tp = order.sl, order.tp
                self._deal(
                    current,
                    side,
                    lots - reduce,
                    price,
                    entry="in",
                    order=ticket,
                    comment=comment,
                )
        self._archive(order, "filled", price, current.ticket)
        return current.ticket

    def _close_part(
        self,
        position: Position,
        lots: Decimal,
        price: Decimal,
        comment: str,
        *,
        order: int = 0,
        keep: bool = False,
    ) -> None:
        """Close `lots` of `position` at `price`, booking the profit. On MT4 the
        rest of a partly closed position gets a new ticket."""
        info = self.symbols[position.symbol]
        profit = self._pnl(position.side, position.price, price, lots, info)
        self.balance += profit
        closing = opposite(position.side)
        self._deal(
            position,
            closing,
            lots,
            price,
            entry="out",
            order=order,
            profit=profit,
            comment=comment,
        )
        position.volume -= lots
        if position.volume <= 0 and not keep:
            self._positions.remove(position)
        elif self.platform == "MT4" and position.volume > 0:
            old = position.ticket
            position.ticket = next(self._tickets)
            position.comment = f"from #{old}"

    @staticmethod
    def _triggered(order: Order, info: SymbolInfo) -> bool:
        market = info.ask if order.side == "buy" else info.bid
        below = order.type == "limit" if order.side == "buy" else order.type == "stop"
        return market <= order.price if below else market >= order.price

    def _trigger(self, order: Order, info: SymbolInfo) -> None:
        """A pending order crossed: a limit fills at its price, a stop at the market."""
        self._orders.remove(order)
        market = info.ask if order.side == "buy" else info.bid
        fill = order.price if order.type == "limit" else market
        try:
            self._check_money(order.symbol, order.side, order.volume, fill)
        except _RefusedError:
            self._archive(order, "rejected")
            return
        self._fill(order, fill)

    @staticmethod
    def _hit(position: Position, info: SymbolInfo) -> Literal["sl", "tp", ""]:
        if position.side == "buy":
            if position.sl > 0 and info.bid <= position.sl:
                return "sl"
            if position.tp > 0 and info.bid >= position.tp:
                return "tp"
        else:
            if position.sl > 0 and info.ask >= position.sl:
                return "sl"
            if position.tp > 0 and info.ask <= position.tp:
                return "tp"
        return ""

    def _archive(
        self,
        order: Order,
        state: Literal["filled", "cancelled", "rejected"],
        fill: Decimal = ZERO,
        position: int = 0,
    ) -> None:
        self.history[order.ticket] = HistoryOrder(
            ticket=order.ticket,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            volume=order.volume,
            price=order.price,
            comment=order.comment,
            magic=order.magic,
            state=state,
            fill_price=fill,
            position=position,
        )
