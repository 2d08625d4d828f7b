"""TradeLocker accounts behind `VenueAdapter`: our orders and reports <-> its API.

An account's credentials (credentials.py) are its login and `accNum`;
`external_id` is TradeLocker's account id. Our symbols are found among the
account's instruments by the broker's own names (instruments.py). Orders go on
an instrument's TRADE route. Quantities are lots.

Exactly once: an order we open carries our client order id as its `strategyId`
(hashed to TradeLocker's 31 characters when longer), looked up before every
placement. Positions are hedging-style, so an order against what the account
holds first closes positions by id, written down before they are sent
(closes.py), and sends only what is left as a new order.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from brokers.adapters.base import (
    AccountSnapshot,
    OrderReport,
    OrderRequest,
    PositionReport,
    VenueAccount,
    VenueAdapter,
    VenueError,
    order_tag,
)
from brokers.models import BrokerAccount, Order, OrderType
from brokers.venues.connect import account_chosen, account_keep

from .client import TradeLockerClient, TradeLockerRefusedError
from .closes import PositionCloser, is_closing
from .credentials import Credentials, login_options
from .instruments import Instrument, instrument_for, instruments_listed, symbols_by_id
from .mapping import OrderKind, Side, Validity
from .reports import dec, order_report

log = logging.getLogger(__name__)
ZERO = Decimal(0)
LOT_STEP = Decimal("0.01")
MAX_STRATEGY_ID = 31

ORDER_KINDS = {
    OrderType.MARKET: OrderKind.MARKET,
    OrderType.LIMIT: OrderKind.LIMIT,
    OrderType.STOP: OrderKind.STOP,
}


def strategy_id(client_order_id: str) -> str:
    """Our client order id as a `strategyId` (at most 31 characters)."""
    return order_tag(client_order_id, MAX_STRATEGY_ID)


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
        self.closer = PositionCloser(self.client, account, self.account_id)

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
        credentials = login_options(options)
        return [
            _venue_account(row, credentials.environment == "live")
            for row in cls._listed(credentials)
        ]

    @classmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        """Sign in with the trader's login, find the chosen account among theirs,
        and keep the credentials (encrypted) with its accNum on the row."""
        credentials = login_options(options)
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

    def instrument(self, symbol: str) -> Instrument:
        """The account's instrument for our symbol ("XAUUSD" -> its "GOLD")."""
        listed = instruments_listed(self.client, self.account_id)
        return instrument_for(symbol, listed, self.account.venue_symbols)

    def venue_symbol(self, symbol: str) -> str:
        return self.instrument(symbol).name

    def _symbols(self) -> dict[int, str]:
        """tradableInstrumentId -> our symbol (the venue's name if we have none)."""
        listed = instruments_listed(self.client, self.account_id)
        return symbols_by_id(listed, self.account.venue_symbols)

    # --- Reading ----------------------------------------------------------------------

    def account_snapshot(self) -> AccountSnapshot:
        state = self.client.state(self.account_id)
        balance = dec(state.get("balance"))
        projected = state.get("projectedBalance")
        equity = (
            dec(projected)
            if projected is not None
            else balance + dec(state.get("openNetPnL"))
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
            size = sum((dec(row["qty"]) for row in same), ZERO)
            cost = sum((dec(row["qty"]) * dec(row["avgPrice"]) for row in same), ZERO)
            reports.append(PositionReport(symbol, net, cost / size if size else None))
        return reports

    def working_orders(self) -> list[OrderReport]:
        symbols = self._symbols()
        executions = self.client.executions(self.account_id)
        return [
            order_report(row, executions, symbols)
            for row in self.client.orders(self.account_id)
            if not is_closing(row)
        ]

    def find_order(self, client_order_id: str) -> OrderReport | None:
        closes = self.closer.planned(client_order_id)
        opened = self._opened(client_order_id)
        if opened is None and not closes:
            return None
        return self.closer.report(client_order_id, closes, opened, self._symbols())

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

    # --- Trading ----------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> OrderReport:
        instrument = self.instrument(request.symbol)
        body = self._order_body(request, instrument)
        cid = request.client_order_id
        closes = self.closer.planned(cid)
        opened = self._opened(cid)
        if opened is not None or closes:  # a retry: what did the first attempt do?
            placed = self.closer.report(cid, closes, opened, self._symbols())
            if placed.status != Order.Status.WORKING or opened is not None:
                return placed  # done, or what it opened still works
        remaining = self.closer.close_first(request, instrument, closes)
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
        return order_report(
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
                reports.append(order_report(newest, executions, symbols))
        return reports


def _venue_account(row: dict[str, Any], live: bool) -> VenueAccount:
    return VenueAccount(
        id=str(row["id"]),
        name=str(row.get("name") or row["id"]),
        balance=dec(row.get("accountBalance")),
        live=live,
        can_trade=str(row.get("status") or "ACTIVE").upper() == "ACTIVE",
    )


def _signed(row: dict[str, Any]) -> Decimal:
    size = dec(row["qty"])
    return size if str(row["side"]) == Side.BUY else -size


def _closing_side(row: dict[str, Any], held: list[dict[str, Any]]) -> bool:
    position = next(
        (p for p in held if str(p["id"]) == str(row.get("positionId"))), None
    )
    return position is None or str(row["side"]) != str(position["side"])
