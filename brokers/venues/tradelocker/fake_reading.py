"""The fake TradeLocker's reading endpoints under `/trade`.

The config (the column sets, `limits` and `RATE_LIMITS`), the accounts, the
instruments and an instrument's details, quotes, history (no bars), the account
state, and the orders, ordersHistory, executions and positions lists: positional
rows in the config's column order (reversed with the `shuffle_columns` knob).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .fake_market import FakeMarket
from .fake_world import (
    NO_QUOTES,
    ZERO,
    FakeInstrument,
    FakePosition,
    _Context,
    _int,
    _money,
    _ms,
    _RefusedError,
    _text,
)
from .mapping import (
    ACCOUNT_DETAIL_COLUMNS,
    EXECUTION_COLUMNS,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
)

QUOTE_SIZE = Decimal(100)
HISTORY_BARS = 20_000

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


class _NoData:
    """A handler's answer for `{"s": "no_data"}`."""


class ReadingEndpoints(FakeMarket):
    """GET /trade/*: the account, its instruments and quotes, its orders and
    positions, as rows."""

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
