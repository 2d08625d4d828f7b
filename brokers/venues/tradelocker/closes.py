"""Closing hedged positions by id, exactly once.

TradeLocker's positions are hedging-style: an opposite order opens a second
position rather than closing one. So an order against what the account holds
closes positions by id, oldest first, and only what is left is sent as a new
order. A close carries no id of ours: it is written down (`PositionClose`)
before it is sent, and a retry reads from the position whether it happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from brokers.adapters.base import FillReport, OrderReport, OrderRequest, VenueError
from brokers.models import BrokerAccount, Order, OrderType, PositionClose

from .client import TradeLockerClient, TradeLockerRefusedError
from .instruments import Instrument
from .mapping import OrderStatus, Side
from .reports import dec, order_report, when

ZERO = Decimal(0)


class PositionCloser:
    """One account's closes of positions by id: written down, sent, read back."""

    def __init__(
        self, client: TradeLockerClient, account: BrokerAccount, account_id: int
    ) -> None:
        self.client = client
        self.account = account
        self.account_id = account_id

    def planned(self, client_order_id: str) -> list[PositionClose]:
        """The closes written down for this client order id: none before its first
        attempt placed it."""
        return list(
            PositionClose.objects.filter(
                account=self.account, client_order_id=client_order_id
            )
        )

    def close_first(
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
            working = [o for o in self.client.orders(self.account_id) if is_closing(o)]
        else:
            planned = self._plan(request, instrument, rows.values())
        for close in planned:
            row = rows.get(close.position_id)
            if row is None or dec(row["qty"]) < close.held:
                continue  # done
            if any(str(o.get("positionId")) == close.position_id for o in working):
                continue  # its closing order still works
            whole = close.quantity >= dec(row["qty"])
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

    def _plan(
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
            size = dec(row["qty"])
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
                return self.planned(request.client_order_id)
        return planned

    def report(
        self,
        client_order_id: str,
        closes: list[PositionClose],
        opened: dict[str, Any] | None,
        symbols: dict[int, str],
    ) -> OrderReport:
        """One report for what a client order id did: the positions it closed and
        the order it opened with the rest (`symbols`: ours by tradableInstrumentId)."""
        executions = self.client.executions(self.account_id)
        held, working = {}, []
        if closes:
            rows = self.client.positions(self.account_id)
            held = {str(row["id"]): row for row in rows}
            working = [o for o in self.client.orders(self.account_id) if is_closing(o)]
        fills: list[FillReport] = []
        venue_id, symbol, pending = "", "", False
        for close in closes:
            row = held.get(close.position_id)
            closing = [
                o for o in working if str(o.get("positionId")) == close.position_id
            ]
            if closing or (row is not None and dec(row["qty"]) >= close.held):
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
            report = order_report(opened, executions, symbols, cid=client_order_id)
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


def is_closing(row: dict[str, Any]) -> bool:
    """An order that closes a position (a close, a stop loss or a take profit)
    rather than one we opened: it names a position and no fill of it opened it."""
    return bool(row.get("positionId")) and str(row.get("status")) != OrderStatus.FILLED


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
        size = min(dec(execution["qty"]), left)
        fills.append(
            FillReport(
                venue_fill_id=f"{execution['orderId']}:{execution['id']}",
                quantity=size,
                price=dec(execution["price"]),
                commission=ZERO,
                filled_at=when(execution.get("createdDate")),
            )
        )
        left -= size
    return fills
