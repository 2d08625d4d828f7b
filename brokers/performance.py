"""Closed positions (round trips) and an account's performance, from our Fill rows:
`closed_trades` is the one source every route that shows trades reads.

Every fill TradeFlow hears of is one `Fill` row: our orders' through
`order_apply_report`, the venue's own (a flatten's closes, a paper bracket's
stop or target) through `order_record_venue`. So the figures are the same for
all venues. (Not heard of, so not here: what a real venue fills on its own
account - a bracket leg resting there, a trade made in its app - and a
MetaTrader flatten, whose EA reports one outcome for every symbol.) A round trip
is what one fill closes of the position it reduces, booked as the paper venue
books its trades: the size closed, the average entry and the fill's price, the
gross P&L in the instrument's currency (price change x size x point value), and
the fees of both ends (the opening fills' commission in proportion, and the
closing fill's share of its own), each rounded to the cent as the venue does.

The fills are replayed from the account's first: the position a range starts in
was opened before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from brokers.instruments.resolve import instrument_of
from brokers.instruments.specs import Instrument
from brokers.models import BrokerAccount, Fill
from brokers.positions import Netted, net

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
CHUNK_SIZE = 2000  # fills the cursor fetches at a time
FILL_FIELDS = (
    "pk",
    "account_id",
    "order_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "commission",
    "filled_at",
)


@dataclass(frozen=True)
class RoundTrip:
    id: int  # the closing fill's: one fill closes at most one position
    account_id: int
    symbol: str
    side: str  # the closed position's: long | short
    size: Decimal
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal  # before fees, in `currency`
    pnl: Decimal  # net of fees, in `currency`
    fee: Decimal
    currency: str
    opened_at: datetime
    closed_at: datetime
    opening_order_id: int  # the order whose fill opened the position


@dataclass
class _Book:
    """One symbol's position as the replay stands."""

    quantity: Decimal = ZERO
    avg: Decimal | None = None
    entry_costs: Decimal = ZERO
    opened_at: datetime | None = None
    opening_order_id: int = 0


class _Replay:
    """One account's fills, in the order they happened, into round trips."""

    def __init__(self) -> None:
        self.books: dict[str, _Book] = {}
        self.instruments: dict[str, Instrument | None] = {}

    def fill(self, row: tuple[Any, ...]) -> RoundTrip | None:
        _, _, order_id, symbol, side, quantity, price, commission, at = row
        book = self.books.setdefault(symbol, _Book())
        before = book.quantity
        netted = net(before, book.avg, side, quantity, price)
        opening_cost, trip = commission, None
        if netted.closed_quantity:
            share = netted.closed_quantity / abs(before)
            entry_cost = (book.entry_costs * share).quantize(CENT)
            exit_cost = (commission * netted.closed_quantity / quantity).quantize(CENT)
            book.entry_costs -= entry_cost
            opening_cost = commission - exit_cost
            trip = self._trip(row, book, netted, entry_cost + exit_cost)
        if netted.quantity == 0:
            book.entry_costs, book.opened_at = ZERO, None
        elif before == 0 or (before > 0) != (netted.quantity > 0):
            book.entry_costs, book.opened_at = opening_cost, at
            book.opening_order_id = order_id
        else:
            book.entry_costs += opening_cost
        book.quantity, book.avg = netted.quantity, netted.avg_price
        return trip

    def _trip(self, row: Any, book: _Book, netted: Netted, fee: Decimal) -> RoundTrip:
        """What the fill `row` closed of the position `book` held before it."""
        pk, account_id, order_id, symbol, _, _, price, _, at = row
        if symbol not in self.instruments:
            self.instruments[symbol] = instrument_of(symbol)
        instrument = self.instruments[symbol]
        point_value = instrument.point_value if instrument else ONE
        gross = (netted.realized_points * point_value).quantize(CENT)
        return RoundTrip(
            id=pk,
            account_id=account_id,
            symbol=symbol,
            side="long" if book.quantity > 0 else "short",
            size=netted.closed_quantity,
            entry_price=book.avg or price,
            exit_price=price,
            gross_pnl=gross,
            pnl=gross - fee,
            fee=fee,
            currency=instrument.currency if instrument else "",
            opened_at=book.opened_at or at,
            closed_at=at,
            opening_order_id=book.opening_order_id or order_id,
        )


def closed_trades(
    *,
    accounts: QuerySet[BrokerAccount] | Iterable[int],
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[RoundTrip]:
    """The round trips of these accounts closed from `start` through `end`
    (either open: None), account by account (in id order), oldest first.

    Streamed: one query over the accounts' fills through `end`, read from a
    server-side cursor CHUNK_SIZE rows at a time and replayed as they come, so
    memory holds a chunk and one book per symbol, however long the history.
    Nothing is read until it is iterated.
    """
    chosen = accounts if isinstance(accounts, QuerySet) else list(accounts)
    fills = Fill.objects.filter(account_id__in=chosen)
    if end is not None:
        fills = fills.filter(filled_at__lte=end)
    rows = fills.order_by("account_id", "filled_at", "pk").values_list(*FILL_FIELDS)
    replay, account_id = _Replay(), None
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        if row[1] != account_id:  # the next account starts with nothing held
            replay, account_id = _Replay(), row[1]
        trip = replay.fill(row)
        if trip is not None and (start is None or trip.closed_at >= start):
            yield trip


def round_trips(
    account_ids: Iterable[int],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[int, list[RoundTrip]]:
    """`closed_trades` of each account, oldest first (for pages of accounts)."""
    by_account: dict[int, list[RoundTrip]] = {}
    for trip in closed_trades(accounts=account_ids, start=start, end=end):
        by_account.setdefault(trip.account_id, []).append(trip)
    return by_account


def recent_closed_trades(account_id: int, limit: int) -> list[RoundTrip]:
    """The account's last `limit` closed positions, newest first."""
    last = deque(closed_trades(accounts=[account_id]), maxlen=limit)
    return list(reversed(last))


def performance(
    trips: Iterable[RoundTrip], start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """Figures of the round trips closed in [start, end]: counts, P&L, fees,
    win rate, profit factor, best and worst, and the deepest fall of the running
    P&L (max drawdown)."""
    closed = [
        trip
        for trip in trips
        if (start is None or trip.closed_at >= start)
        and (end is None or trip.closed_at <= end)
    ]
    pnls = [trip.pnl for trip in closed]
    wins = [pnl for pnl in pnls if pnl > 0]
    losses = [pnl for pnl in pnls if pnl < 0]
    lost = -sum(losses, ZERO)
    return {
        "trades": len(closed),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": _ratio(Decimal(len(wins)) * 100, Decimal(len(pnls))),
        "net_pnl": sum(pnls, ZERO),
        "fees": sum((trip.fee for trip in closed), ZERO),
        "profit_factor": _ratio(sum(wins, ZERO), lost),
        "average_win": _ratio(sum(wins, ZERO), Decimal(len(wins))),
        "average_loss": _ratio(-lost, Decimal(len(losses))),
        "largest_win": max(wins, default=None),
        "largest_loss": min(losses, default=None),
        "max_drawdown": _max_drawdown(pnls),
        "volume": sum((trip.size for trip in closed), ZERO),
    }


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.01")) if whole else None


def _max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    peak = running = worst = ZERO
    for pnl in pnls:
        running += pnl
        peak = max(peak, running)
        worst = max(worst, peak - running)
    return worst
