"""TradeLocker accounts behind `VenueAdapter`: our orders and reports <-> its API.

An account's credentials (encrypted on the row) are the environment (demo or
live), the login's e-mail, password and broker server name, the account's
`accNum` (the header every `/trade/` call carries) and its currency;
`external_id` is TradeLocker's account id.

Instruments: our catalogue symbol ("EURUSD", "XAUUSD", "US30") is found among
the account's instruments by the account's own name for it (`venue_symbols`,
{"XAUUSD": "GOLD"}), else by the symbol or one of its aliases (GOLD, US100...),
with a broker's suffix ("EURUSD.r", "US30.cash") allowed. Orders go on its
TRADE route. Quantities are lots.

Exactly once: an order we open carries our client order id as its `strategyId`
(hashed to TradeLocker's 31 characters when longer), looked up before every
placement. Positions are hedging-style — an opposite order opens a second
position rather than closing one — so an order against what the account holds
closes positions by id, oldest first, and sends only what is left as a new order.
A close carries no id of ours: it is written down (`PositionClose`) before it is
sent, and a retry reads from the position whether it happened.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokers.adapters.base import (
    AccountSnapshot,
    FillReport,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAccount,
    VenueAdapter,
    VenueError,
)
from brokers.instruments.catalogue import get_instrument
from brokers.instruments.specs import CfdSpec, FutureSpec
from brokers.models import BrokerAccount, Order, OrderType, PositionClose
from brokers.venues.connect import account_chosen, account_keep

from .client import Login, TradeLockerClient, TradeLockerRefusedError
from .mapping import OrderKind, OrderStatus, Side, Validity

log = logging.getLogger(__name__)
ZERO = Decimal(0)
LOT_STEP = Decimal("0.01")
MAX_STRATEGY_ID = 31
INSTRUMENTS_SECONDS = 3600
ENVIRONMENTS = ("demo", "live")
SUFFIXES = (".", "_", "-")  # "EURUSD.r", "US30_cash", "GER40-sp": a broker's tag

ORDER_KINDS = {
    OrderType.MARKET: OrderKind.MARKET,
    OrderType.LIMIT: OrderKind.LIMIT,
    OrderType.STOP: OrderKind.STOP,
}
STATUSES = {
    OrderStatus.NEW: Order.Status.PENDING,
    OrderStatus.ACCEPTED: Order.Status.WORKING,
    OrderStatus.PARTIALLY_FILLED: Order.Status.PARTIALLY_FILLED,
    OrderStatus.FILLED: Order.Status.FILLED,
    OrderStatus.CANCELLED: Order.Status.CANCELLED,
    OrderStatus.REMOVED: Order.Status.CANCELLED,
    OrderStatus.REFUSED: Order.Status.REJECTED,
    OrderStatus.UNPLACED: Order.Status.REJECTED,
}


@dataclass(frozen=True)
class Credentials:
    environment: str
    email: str
    password: str = field(repr=False)
    server: str
    acc_num: int
    currency: str = "USD"

    @classmethod
    def of(cls, account: BrokerAccount) -> Credentials:
        try:
            raw = json.loads(account.credentials or "{}")
            return cls(
                raw["environment"],
                raw["email"],
                raw["password"],
                raw["server"],
                int(raw["acc_num"]),
                raw.get("currency") or "USD",
            )
        except (ValueError, KeyError, TypeError):
            raise VenueError(
                "credentials-missing",
                "This TradeLocker account has no credentials: connect it again.",
            ) from None

    def dumps(self) -> str:
        return json.dumps(vars(self))

    def login(self) -> Login:
        return Login(api_url(self.environment), self.email, self.password, self.server)


@dataclass(frozen=True)
class Instrument:
    """One of the account's instruments, as TradeLocker lists it."""

    tradable_id: int
    name: str
    trade_route: int
    info_route: int


def api_url(environment: str) -> str:
    return str(settings.TRADELOCKER_API_URLS[environment])


def strategy_id(client_order_id: str) -> str:
    """Our client order id as a `strategyId`: itself when it fits in 31
    characters, else a stable digest of it that does."""
    if len(client_order_id) <= MAX_STRATEGY_ID:
        return client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()
    return f"tf-{digest[: MAX_STRATEGY_ID - 3]}"


class TradeLockerAdapter(VenueAdapter):
    venue = "tradelocker"

    def __init__(self, account: BrokerAccount) -> None:
        super().__init__(account)
        self.credentials = Credentials.of(account)
        try:
            self.account_id = int(account.external_id)
        except ValueError:
            raise VenueError(
                "credentials-missing", "This TradeLocker account has no account id."
            ) from None
        self.client = TradeLockerClient(
            self.credentials.login(), self.credentials.acc_num
        )

    # --- Connecting -------------------------------------------------------------------

    @classmethod
    def _listed(cls, credentials: Credentials) -> list[dict[str, Any]]:
        client = TradeLockerClient(credentials.login())
        try:
            client.sign_in()
            return client.accounts()
        finally:
            client.close()

    @classmethod
    def venue_accounts(cls, options: dict[str, Any]) -> list[VenueAccount]:
        credentials = _login_options(options)
        return [
            _venue_account(row, credentials.environment == "live")
            for row in cls._listed(credentials)
        ]

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        """Sign in with the trader's login, find the chosen account among theirs,
        and keep the credentials (encrypted) with its accNum on the row."""
        credentials = _login_options(options)
        live = credentials.environment == "live"
        rows = cls._listed(credentials)
        chosen = account_chosen(
            "TradeLocker", [_venue_account(row, live) for row in rows], options
        )
        row = next(row for row in rows if str(row.get("id")) == chosen.id)
        kept = Credentials(
            credentials.environment,
            credentials.email,
            credentials.password,
            credentials.server,
            int(row["accNum"]),
            str(row.get("currency") or "USD"),
        )
        account.currency = kept.currency
        account_keep(account, chosen, kept.dumps())

    # --- Instruments ------------------------------------------------------------------

    def _instruments(self) -> list[Instrument]:
        key = f"tradelocker:instruments:{self.client.login.key}:{self.account_id}"
        cached = cache.get(key)
        if cached is None:
            cached = [
                [
                    int(row["tradableInstrumentId"]),
                    str(row["name"]),
                    _route(row, "TRADE"),
                    _route(row, "INFO"),
                ]
                for row in self.client.instruments(self.account_id)
            ]
            cache.set(key, cached, INSTRUMENTS_SECONDS)
        return [Instrument(*row) for row in cached]

    def instrument(self, symbol: str) -> Instrument:
        """The account's instrument for our symbol ("XAUUSD" -> its "GOLD")."""
        listed = self._instruments()
        own = _upper_map(self.account.venue_symbols).get(symbol.upper())
        if own:
            found = next((i for i in listed if i.name.upper() == own), None)
            if found is None:
                raise VenueError(
                    "unknown-symbol",
                    f"This account maps {symbol} to {own}, which TradeLocker does "
                    "not list for it.",
                )
            return found
        spec = get_instrument(symbol)
        if isinstance(spec, FutureSpec):
            raise VenueError(
                "not-tradable-here",
                f"TradeLocker trades forex and CFDs; {symbol} is a future.",
            )
        names = [symbol.upper()]
        if isinstance(spec, CfdSpec):
            names += list(spec.aliases)
        for wanted in names:  # exact names first, then with a broker's suffix
            for instrument in listed:
                if instrument.name.upper() == wanted:
                    return instrument
        for wanted in names:
            for instrument in listed:
                if _bare(instrument.name) == wanted:
                    return instrument
        raise VenueError(
            "unknown-symbol",
            f"TradeLocker lists no instrument for {symbol} on this account: name "
            "the broker's own symbol for it in the account's symbol map.",
        )

    def venue_symbol(self, symbol: str) -> str:
        return self.instrument(symbol).name

    def _symbols(self) -> dict[int, str]:
        """tradableInstrumentId -> our symbol (the venue's name if we have none)."""
        own = {
            name: ours for ours, name in _upper_map(self.account.venue_symbols).items()
        }
        named = {}
        for instrument in self._instruments():
            upper = instrument.name.upper()
            spec = get_instrument(own.get(upper, upper)) or get_instrument(
                _bare(instrument.name)
            )
            ours = (
                spec.symbol
                if spec is not None and not isinstance(spec, FutureSpec)
                else instrument.name
            )
            named[instrument.tradable_id] = ours
        return named

    # --- Reading ----------------------------------------------------------------------

    def account_snapshot(self) -> AccountSnapshot:
        state = self.client.state(self.account_id)
        balance = _dec(state.get("balance"))
        projected = state.get("projectedBalance")
        equity = (
            _dec(projected)
            if projected is not None
            else balance + _dec(state.get("openNetPnL"))
        )
        return AccountSnapshot(
            balance=balance, equity=equity, currency=self.credentials.currency
        )

    def positions(self) -> list[PositionReport]:
        """Net per instrument: hedged positions are summed, signed."""
        symbols = self._symbols()
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in self.client.positions(self.account_id):
            symbol = symbols.get(int(row["tradableInstrumentId"]), "")
            grouped.setdefault(symbol or str(row["tradableInstrumentId"]), []).append(
                row
            )
        reports = []
        for symbol, rows in grouped.items():
            net = sum((_signed(row) for row in rows), ZERO)
            if not net:
                continue  # hedged flat
            same = [row for row in rows if (_signed(row) > 0) == (net > 0)]
            size = sum((_dec(row["qty"]) for row in same), ZERO)
            cost = sum((_dec(row["qty"]) * _dec(row["avgPrice"]) for row in same), ZERO)
            reports.append(PositionReport(symbol, net, cost / size if size else None))
        return reports

    def working_orders(self) -> list[OrderReport]:
        symbols = self._symbols()
        executions = self.client.executions(self.account_id)
        return [
            self._report(row, executions, symbols)
            for row in self.client.orders(self.account_id)
            if not _closing(row)
        ]

    def find_order(self, client_order_id: str) -> OrderReport | None:
        closes = list(
            PositionClose.objects.filter(
                account=self.account, client_order_id=client_order_id
            )
        )
        opened = self._opened(client_order_id)
        if opened is None and not closes:
            return None
        return self._combined(client_order_id, closes, opened)

    def _opened(self, client_order_id: str) -> dict[str, Any] | None:
        """The order we opened with this client order id, working or final. Its
        closing orders may carry the same strategyId: the first one is ours."""
        tag = strategy_id(client_order_id)
        rows = [
            row
            for row in [
                *self.client.orders(self.account_id),
                *self.client.orders_history(self.account_id),
            ]
            if row.get("strategyId") == tag
        ]
        return min(rows, key=lambda row: int(row["id"])) if rows else None

    def _combined(
        self,
        client_order_id: str,
        closes: list[PositionClose],
        opened: dict[str, Any] | None,
    ) -> OrderReport:
        """One report for what a client order id did: the positions it closed and
        the order it opened with the rest."""
        symbols = self._symbols()
        executions = self.client.executions(self.account_id)
        held, working = {}, []
        if closes:
            rows = self.client.positions(self.account_id)
            held = {str(row["id"]): row for row in rows}
            working = [o for o in self.client.orders(self.account_id) if _closing(o)]
        fills: list[FillReport] = []
        venue_id, symbol, pending = "", "", False
        for close in closes:
            row = held.get(close.position_id)
            closing = [
                o for o in working if str(o.get("positionId")) == close.position_id
            ]
            if closing or (row is not None and _dec(row["qty"]) >= close.held):
                pending = True  # not closed yet, or a closing order still works
                continue
            found = _close_fills(executions, close)
            fills += found
            venue_id = venue_id or (
                found[0].venue_fill_id.split(":")[0] if found else ""
            )
            venue_id = venue_id or f"position-{close.position_id}"
        status: str = Order.Status.WORKING if pending else Order.Status.FILLED
        reason = ""
        if opened is not None:
            report = self._report(opened, executions, symbols, cid=client_order_id)
            fills += report.fills
            venue_id, symbol = report.venue_order_id, report.symbol
            reason = report.reject_reason
            if pending or report.status not in Order.FINAL:
                status = Order.Status.WORKING
            elif report.status == Order.Status.REJECTED and closes:
                status = Order.Status.CANCELLED  # it closed; the rest was refused
            else:
                status = report.status
        filled = sum((fill.quantity for fill in fills), ZERO)
        if status == Order.Status.WORKING and filled:
            status = Order.Status.PARTIALLY_FILLED
        cost = sum((fill.price * fill.quantity for fill in fills), ZERO)
        return OrderReport(
            client_order_id=client_order_id,
            venue_order_id=venue_id,
            status=status,
            filled_quantity=filled,
            avg_fill_price=cost / filled if filled else None,
            reject_reason=reason,
            fills=tuple(fills),
            symbol=symbol,
        )

    def _report(
        self,
        row: dict[str, Any],
        executions: list[dict[str, Any]],
        symbols: dict[int, str],
        *,
        cid: str = "",
    ) -> OrderReport:
        order_id = str(row["id"])
        fills = tuple(
            FillReport(
                venue_fill_id=f"{order_id}:{execution['id']}",
                quantity=_dec(execution["qty"]),
                price=_dec(execution["price"]),
                commission=ZERO,  # TradeLocker books fees apart (todayFees)
                filled_at=_when(execution.get("createdDate")),
            )
            for execution in executions
            if str(execution.get("orderId")) == order_id
        )
        status = _status(row.get("status"))
        filled = sum((fill.quantity for fill in fills), ZERO)
        if status == Order.Status.WORKING and filled:
            status = Order.Status.PARTIALLY_FILLED
        cost = sum((fill.price * fill.quantity for fill in fills), ZERO)
        tag = str(row.get("strategyId") or "")
        return OrderReport(
            client_order_id=cid or tag,
            venue_order_id=order_id,
            status=status,
            filled_quantity=filled,
            avg_fill_price=cost / filled if filled else None,
            reject_reason=(
                f"venue-refused: TradeLocker {row.get('status')} the order."
                if status == Order.Status.REJECTED
                else ""
            ),
            fills=fills,
            symbol=symbols.get(int(row["tradableInstrumentId"]), ""),
        )

    # --- Trading ----------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        instrument = self.instrument(request.symbol)
        body = self._order_body(request, instrument)
        cid = request.client_order_id
        closes = list(
            PositionClose.objects.filter(account=self.account, client_order_id=cid)
        )
        opened = self._opened(cid)
        if opened is not None or closes:  # a retry: what did the first attempt do?
            placed = self._combined(cid, closes, opened)
            if placed.status != Order.Status.WORKING or opened is not None:
                return placed  # done, or what it opened still works
        remaining = self._close_first(request, instrument, closes)
        if remaining <= 0:
            return self._found(cid)
        body["qty"] = str(remaining)
        try:
            self.client.place(self.account_id, body)
        except TradeLockerRefusedError as exc:
            found = self.find_order(cid)
            if found is not None and found.status != Order.Status.WORKING:
                return found
            return OrderReport(
                client_order_id=cid,
                venue_order_id="",
                status=Order.Status.REJECTED,
                reject_reason=f"venue-refused: {exc.reason or exc.message}",
                symbol=request.symbol,
            )
        return self._found(cid)

    def _found(self, client_order_id: str) -> OrderReport:
        report = self.find_order(client_order_id)
        if report is None:  # accepted, not yet listed: the refresh will find it
            return OrderReport(
                client_order_id=client_order_id,
                venue_order_id="",
                status=Order.Status.PENDING,
            )
        return report

    def _close_first(
        self,
        request: OrderRequest,
        instrument: Instrument,
        planned: list[PositionClose],
    ) -> Decimal:
        """Close what the account holds against this order, oldest position first;
        what is left to open. The closes are written down before any is sent, and
        on a retry (`planned` then) only those not yet done are sent again."""
        if request.order_type != OrderType.MARKET:
            return request.quantity  # a resting order opens: it cannot close by id
        rows = {str(row["id"]): row for row in self.client.positions(self.account_id)}
        working: list[dict[str, Any]] = []
        if planned:  # a retry: a closing order of the first attempt may still work
            working = [o for o in self.client.orders(self.account_id) if _closing(o)]
        else:
            planned = self._plan_closes(request, instrument, rows.values())
        for close in planned:
            row = rows.get(close.position_id)
            if row is None or _dec(row["qty"]) < close.held:
                continue  # done
            if any(str(o.get("positionId")) == close.position_id for o in working):
                continue  # its closing order still works
            whole = close.quantity >= _dec(row["qty"])
            try:
                self.client.close_position(
                    close.position_id, ZERO if whole else close.quantity
                )
            except TradeLockerRefusedError as exc:
                raise VenueError(
                    "close-refused",
                    f"TradeLocker refused to close position {close.position_id}: "
                    f"{exc.reason}.",
                ) from None
        return request.quantity - sum((close.quantity for close in planned), ZERO)

    def _plan_closes(
        self,
        request: OrderRequest,
        instrument: Instrument,
        rows: Iterable[dict[str, Any]],
    ) -> list[PositionClose]:
        against = Side.SELL if request.side == "buy" else Side.BUY
        opposite = sorted(
            (
                row
                for row in rows
                if int(row["tradableInstrumentId"]) == instrument.tradable_id
                and str(row["side"]) == against
            ),
            key=lambda row: (int(row.get("openDate") or 0), int(row["id"])),
        )
        left, planned = request.quantity, []
        for row in opposite:
            if left <= 0:
                break
            size = _dec(row["qty"])
            take = min(size, left)
            planned.append(
                PositionClose(
                    account=self.account,
                    client_order_id=request.client_order_id,
                    position_id=str(row["id"]),
                    side=request.side,
                    quantity=take,
                    held=size,
                )
            )
            left -= take
        if planned:
            try:
                with transaction.atomic():
                    PositionClose.objects.bulk_create(planned)
            except IntegrityError:  # another attempt planned them first
                return list(
                    PositionClose.objects.filter(
                        account=self.account, client_order_id=request.client_order_id
                    )
                )
        return planned

    def _order_body(
        self, request: OrderRequest, instrument: Instrument
    ) -> dict[str, Any]:
        size = request.quantity
        if size <= 0 or size % LOT_STEP:
            raise VenueError(
                "invalid-quantity",
                f"TradeLocker trades lots in steps of 0.01; {size} is not one.",
            )
        kind = ORDER_KINDS.get(OrderType(request.order_type))
        if kind is None:
            raise VenueError(
                "order-type-unsupported",
                f"TradeLocker takes market, limit and stop orders, not "
                f"{request.order_type}.",
            )
        validity = Validity.IOC if kind == OrderKind.MARKET else Validity.GTC
        if request.time_in_force and request.time_in_force != validity:
            raise VenueError(
                "time-in-force-unsupported",
                f"TradeLocker takes {kind} orders {validity} only, not "
                f"{request.time_in_force}.",
            )
        body: dict[str, Any] = {
            "tradableInstrumentId": str(instrument.tradable_id),
            "routeId": instrument.trade_route,
            "qty": str(size),
            "side": str(Side(request.side)),
            "type": str(kind),
            "validity": str(validity),
            "price": request.limit_price if kind == OrderKind.LIMIT else 0,
            "strategyId": strategy_id(request.client_order_id),
        }
        if kind == OrderKind.STOP:
            if request.stop_price is None:
                raise VenueError("stop-price-missing", "A stop order needs a price.")
            body["stopPrice"] = request.stop_price
        if request.trail_distance is not None:
            body["stopLoss"] = request.trail_distance
            body["stopLossType"] = "trailingOffset"
        elif request.stop_loss is not None:
            body["stopLoss"] = request.stop_loss
            body["stopLossType"] = "absolute"
        if request.take_profit is not None:
            body["takeProfit"] = request.take_profit
            body["takeProfitType"] = "absolute"
        return json.loads(json.dumps(body, default=str))

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        try:
            self.client.cancel(venue_order_id)
        except TradeLockerRefusedError as exc:
            log.info("tradelocker cancel %s refused: %s", venue_order_id, exc.reason)
        rows = [
            row
            for row in [
                *self.client.orders(self.account_id),
                *self.client.orders_history(self.account_id),
            ]
            if str(row["id"]) == venue_order_id
        ]
        if not rows:
            raise VenueError("order-not-found", "TradeLocker has no such order.")
        return self._report(
            rows[0], self.client.executions(self.account_id), self._symbols()
        )

    def flatten(self) -> list[OrderReport]:
        """Cancel every working order, then close every position by id (one
        refused close leaves the others to close; the flatten is retried)."""
        if self.client.orders(self.account_id):
            self.client.cancel_all(self.account_id)
        held = self.client.positions(self.account_id)
        closed, failed = [], []
        for row in held:
            try:
                self.client.close_position(str(row["id"]))
            except VenueError as exc:
                failed.append(exc)
                continue
            closed.append(str(row["id"]))
        if failed:
            raise failed[0]
        if not closed:
            return []
        symbols = self._symbols()
        executions = self.client.executions(self.account_id)
        history = self.client.orders_history(self.account_id)
        reports = []
        for position_id in closed:
            closing = [
                row
                for row in history
                if str(row.get("positionId")) == position_id
                and _closing_side(row, held)
            ]
            if closing:
                newest = max(closing, key=lambda row: int(row["id"]))
                reports.append(self._report(newest, executions, symbols))
        return reports


def _login_options(options: dict[str, Any]) -> Credentials:
    # The registration API's `mode` names the environment.
    environment = str(options.get("environment") or options.get("mode") or "demo")
    if environment not in ENVIRONMENTS:
        raise VenueError(
            "invalid-environment", "A TradeLocker environment is demo or live."
        )
    email = str(options.get("email") or "").strip()
    password = str(options.get("password") or "")
    server = str(options.get("server") or "").strip()
    if not email or not password or not server:
        raise VenueError(
            "credentials-missing",
            "TradeLocker needs the e-mail and password you sign in with and your "
            "broker's server name, as the TradeLocker sign-in page shows it.",
        )
    return Credentials(environment, email, password, server, 0)


def _venue_account(row: dict[str, Any], live: bool) -> VenueAccount:
    return VenueAccount(
        id=str(row["id"]),
        name=str(row.get("name") or row["id"]),
        balance=_dec(row.get("accountBalance")),
        live=live,
        can_trade=str(row.get("status") or "ACTIVE").upper() == "ACTIVE",
    )


def _route(row: dict[str, Any], kind: str) -> int:
    for route in row.get("routes") or []:
        if str(route.get("type")) == kind:
            return int(route["id"])
    return 0


def _upper_map(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict):
        return {}
    return {str(k).strip().upper(): str(v).strip().upper() for k, v in mapping.items()}


def _bare(name: str) -> str:
    """A broker's name without its tag: "EURUSD.r" -> "EURUSD"."""
    upper = name.upper()
    for mark in SUFFIXES:
        upper = upper.split(mark)[0]
    return upper


def _signed(row: dict[str, Any]) -> Decimal:
    size = _dec(row["qty"])
    return size if str(row["side"]) == Side.BUY else -size


def _closing(row: dict[str, Any]) -> bool:
    """An order that closes a position (a close, a stop loss or a take profit)
    rather than one we opened: it names a position and no fill of it opened it."""
    return bool(row.get("positionId")) and str(row.get("status")) != OrderStatus.FILLED


def _closing_side(row: dict[str, Any], held: list[dict[str, Any]]) -> bool:
    position = next(
        (p for p in held if str(p["id"]) == str(row.get("positionId"))), None
    )
    return position is None or str(row["side"]) != str(position["side"])


def _close_fills(
    executions: list[dict[str, Any]], close: PositionClose
) -> list[FillReport]:
    """The fills that closed this much of the position, newest first (an earlier
    partial close of it by another order is older)."""
    closing = sorted(
        (
            e
            for e in executions
            if str(e.get("positionId")) == close.position_id
            and str(e.get("side")) == close.side
        ),
        key=lambda e: (int(e.get("createdDate") or 0), str(e["id"])),
        reverse=True,
    )
    fills, left = [], close.quantity
    for execution in closing:
        if left <= 0:
            break
        size = min(_dec(execution["qty"]), left)
        fills.append(
            FillReport(
                venue_fill_id=f"{execution['orderId']}:{execution['id']}",
                quantity=size,
                price=_dec(execution["price"]),
                commission=ZERO,
                filled_at=_when(execution.get("createdDate")),
            )
        )
        left -= size
    return fills


def _status(value: object) -> str:
    try:
        return STATUSES.get(OrderStatus(str(value)), Order.Status.PENDING)
    except ValueError:
        return Order.Status.PENDING


def _dec(value: object) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _when(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return timezone.now()
