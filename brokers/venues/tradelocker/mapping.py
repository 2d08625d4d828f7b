"""TradeLocker's enums and column sets (`reference/brokers.md` §2.4-§2.5).

The values are the strings TradeLocker puts on the wire, as the vendor's Python
client types them (`TradeLocker/tradelocker-python`, `src/tradelocker/types.py`):
`SideType`, `OrderTypeType`, `ValidityType`, `StopLossType`, `TakeProfitType`,
the final order statuses (`order_history_statuses`) and the column sets of the
positional arrays.

`/trade/*` lists (positions, orders, ordersHistory, executions and the account
state) are bare arrays whose column order `/trade/config` gives (its
`positionsConfig`, `ordersConfig`, `ordersHistoryConfig`, `filledOrdersConfig` —
the executions — and `accountDetailsConfig`, each `{"columns": [{"id", ...}]}`).
Read them with `rows_by_name` and the ids the config gave, never by a position
guessed from the tuples below: those are the documented sets, in the documented
order, for reference and for the fake.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderKind(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class Validity(StrEnum):
    GTC = "GTC"  # limit and stop orders
    IOC = "IOC"  # market orders


class StopLossType(StrEnum):
    ABSOLUTE = "absolute"
    OFFSET = "offset"
    TRAILING_OFFSET = "trailingOffset"


class TakeProfitType(StrEnum):
    ABSOLUTE = "absolute"
    OFFSET = "offset"


class OrderStatus(StrEnum):
    # Working statuses: assumed (the sources name only the final ones; the
    # orderId/positionId docs page says an order goes "from PENDING to FILLED").
    NEW = "New"
    ACCEPTED = "Accepted"
    PARTIALLY_FILLED = "PartiallyFilled"
    # Final statuses, as the vendor client lists them.
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    REFUSED = "Refused"
    UNPLACED = "Unplaced"
    REMOVED = "Removed"


FINAL_STATUSES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUSED,
        OrderStatus.UNPLACED,
        OrderStatus.REMOVED,
    }
)

# `stopLossId`/`takeProfitId` are the ids of the protective orders, not prices.
POSITION_COLUMNS: tuple[str, ...] = (
    "id",
    "tradableInstrumentId",
    "routeId",
    "side",
    "qty",
    "avgPrice",
    "stopLossId",
    "takeProfitId",
    "openDate",
    "unrealizedPl",
    "strategyId",
)

# Both /orders (working) and /ordersHistory (final) rows.
ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "tradableInstrumentId",
    "routeId",
    "qty",
    "side",
    "type",
    "status",
    "filledQty",
    "avgPrice",
    "price",
    "stopPrice",
    "validity",
    "expireDate",
    "createdDate",
    "lastModified",
    "isOpen",
    "positionId",
    "stopLoss",
    "stopLossType",
    "takeProfit",
    "takeProfitType",
    "strategyId",
)

EXECUTION_COLUMNS: tuple[str, ...] = (
    "id",
    "price",
    "side",
    "createdDate",
    "qty",
    "orderId",
    "positionId",
    "tradableInstrumentId",
)

ACCOUNT_DETAIL_COLUMNS: tuple[str, ...] = (
    "balance",
    "projectedBalance",
    "availableFunds",
    "blockedBalance",
    "cashBalance",
    "unsettledCash",
    "withdrawalAvailable",
    "stocksValue",
    "optionValue",
    "initialMarginReq",
    "maintMarginReq",
    "marginWarningLevel",
    "blockedForStocks",
    "stockOrdersReq",
    "stopOutLevel",
    "warningMarginReq",
    "marginBeforeWarning",
    "todayGross",
    "todayNet",
    "todayFees",
    "todayVolume",
    "todayTradesCount",
    "openGrossPnL",
    "openNetPnL",
    "positionsCount",
    "ordersCount",
)


def rows_by_name(columns: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Positional rows as dicts keyed by the column ids `/trade/config` gave.

    A row whose length differs from the columns' means the config read is not the
    one the rows were written by (fetch it again): that raises `ValueError` rather
    than pairing values with the wrong names.
    """
    named: list[dict[str, Any]] = []
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(
                f"a row of {len(row)} values for {len(columns)} columns: {row!r}"
            )
        named.append(dict(zip(columns, row, strict=True)))
    return named
