"""Writes for broker accounts, orders, fills and positions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from brokers.adapters.base import OrderReport, OrderRequest, VenueAdapter, VenueError
from brokers.adapters.registry import adapter_class, get_adapter
from brokers.models import BrokerAccount, Fill, Order, OrderType, Position
from brokers.positions import net
from brokers.venues.breaker import exits
from common.locks import advisory_lock
from common.realtime import announce

log = logging.getLogger(__name__)


# --- Accounts -------------------------------------------------------------------------


@transaction.atomic
def broker_account_register(
    *,
    workspace: Workspace,
    venue: str,
    name: str,
    currency: str = "USD",
    mode: str = BrokerAccount.Mode.DEMO,
    credentials: str = "",
    options: dict[str, Any] | None = None,
) -> BrokerAccount:
    """Create an account and provision it at the venue (raises VenueError, and
    then no account is left behind)."""
    with transaction.atomic():
        account = BrokerAccount.objects.create(
            workspace=workspace,
            venue=venue,
            name=name,
            currency=currency.upper(),
            mode=mode,
            credentials=credentials,
        )
        adapter_class(venue).provision(account, options or {})
    try:
        account_sync(account=account)
    except VenueError as exc:
        if not exc.transient:
            raise
        # Provisioned, not yet readable (an Expert Advisor not yet installed):
        # the account stands; its first report or the next sync fills it in.
        log.info("account %s not synced yet: %s", account.pk, exc.message)
    return account


def account_sync(*, account: BrokerAccount) -> BrokerAccount:
    """Refresh balance and equity from the venue, and mirror its positions.

    A lasting refusal (a captcha to solve, a login refused) is kept on the account
    as its error, for the trader to see, until a sync succeeds again; a transient
    one (a timeout, a 5xx) is not: the next sync tries again."""
    try:
        adapter = get_adapter(account)
        snapshot, positions = adapter.account_state()
    except VenueError as exc:
        if not exc.transient:
            account_error_set(account=account, error=exc)
        raise
    reports = {report.symbol: report for report in positions}
    lasting = adapter.account_error()
    read: dict[str, Any] = {
        "balance": snapshot.balance,
        "equity": snapshot.equity,
        "last_sync_at": timezone.now(),
    }
    if lasting is None:  # the venue answered: what it refused before is over
        read.update(error_code="", error_message="", error_at=None)
    with transaction.atomic():
        BrokerAccount.objects.filter(pk=account.pk).update(**read)
        if lasting is None:
            account.error_code = account.error_message = ""
            account.error_at = None
        account.balance, account.equity = snapshot.balance, snapshot.equity
        account.last_sync_at = read["last_sync_at"]
        for position in Position.objects.select_for_update().filter(account=account):
            report = reports.pop(position.symbol, None)
            quantity = report.quantity if report else Decimal(0)
            avg = report.avg_price if report else None
            if position.quantity != quantity or position.avg_price != avg:
                _position_save(position, quantity, avg)
        for report in reports.values():
            position = Position(
                workspace_id=account.workspace_id, account=account, symbol=report.symbol
            )
            _position_save(position, report.quantity, report.avg_price)
        announce(
            account.workspace_id,
            {
                "type": "account.update",
                "account_id": account.pk,
                "balance": str(snapshot.balance),
            },
        )
    if lasting is not None:
        account_error_set(account=account, error=lasting)
    return account


def account_error_set(*, account: BrokerAccount, error: VenueError) -> None:
    """Keep what the venue refused on the account, and tell its pages."""
    if (account.error_code, account.error_message) == (error.code, error.message):
        return
    now = timezone.now()
    BrokerAccount.objects.filter(pk=account.pk).update(
        error_code=error.code, error_message=error.message[:255], error_at=now
    )
    account.error_code, account.error_message = error.code, error.message[:255]
    account.error_at = now
    log.warning("account %s: %s %s", account.pk, error.code, error.message)
    announce(
        account.workspace_id,
        {"type": "account.update", "account_id": account.pk, "balance": None},
    )


@dataclass(frozen=True)
class Flattened:
    """What a flatten did at the venue."""

    orders_cancelled: int
    closing: list[OrderReport]

    @property
    def positions_closed(self) -> int:
        return sum(1 for report in self.closing if report.status == Order.Status.FILLED)


def account_flatten(*, account: BrokerAccount) -> Flattened:
    """Cancel every working order and close every position at market, then mirror
    the venue in our books (positions, balance and equity).

    The one flatten: the kill switch, the risk monitor, a strategy's terminate and
    the paper pages and API all come here. It waits for an execution in flight on
    the account (which holds the account's lock across its venue call), so that
    execution's entry cannot fill after the flatten, and flattens anyway when it
    does not finish in time. Billing, plans, risk rules and an open venue
    breaker never refuse it. Raises VenueError when the venue cannot be reached.
    """
    adapter = get_adapter(account)
    wait = settings.EXECUTION_ACCOUNT_WAIT_SECONDS
    with exits(), advisory_lock("account", account.pk, wait=wait):
        working = len(adapter.working_orders())
        held = dict(
            Position.objects.filter(account=account)
            .exclude(quantity=0)
            .values_list("symbol", "quantity")
        )
        closing = adapter.flatten()
        for report in closing:
            _flatten_record(account, report, held)
        account_sync(account=account)
    return Flattened(working, closing)


def _flatten_record(
    account: BrokerAccount, report: OrderReport, held: dict[str, Decimal]
) -> None:
    """A flatten's closing order and its fills in our books, like any other fill:
    every round trip closed by a kill switch or a terminate must be a Fill row.

    A venue's report carries no side; a close is the opposite of what we held.
    A position our books never held (opened at the venue, never synced) has no
    opening fill here either: its lone close would only skew the round trips.
    """
    if not report.fills:
        return  # nothing filled yet (MetaTrader's EA has not run the command)
    quantity = held.get(report.symbol)
    if not quantity:
        log.warning(
            "flatten of account %s: %s closed at the venue, not held in our books",
            account.pk,
            report.symbol or report.venue_order_id,
        )
        return
    order_record_venue(
        account=account, report=report, side="sell" if quantity > 0 else "buy"
    )


def order_record_venue(
    *,
    account: BrokerAccount,
    report: OrderReport,
    side: str,
    order_type: str = OrderType.MARKET,
) -> Order | None:
    """Record an order the venue placed on its own (a flatten's close, a
    bracket's stop loss or take profit) and its fills, as `order_apply_report`
    records ours: position netted, one Fill row per venue fill.

    Exactly once: the Order is found again by the venue's order id (its client
    order id is `venue-<id>`, which ours, `tf-…`, never are), and each fill by
    its venue fill id, so a report recorded twice changes nothing twice. None
    when the report names no order to find it by.
    """
    key = (
        f"venue-{report.venue_order_id}"
        if report.venue_order_id
        else report.client_order_id
    )
    if not key or not report.symbol:
        return None
    order, _ = Order.objects.get_or_create(
        account=account,
        client_order_id=key[:64],
        defaults={
            "workspace_id": account.workspace_id,
            "venue_order_id": report.venue_order_id,
            "symbol": report.symbol,
            "side": side,
            "order_type": order_type,
            "quantity": report.filled_quantity
            or sum(fill.quantity for fill in report.fills),
        },
    )
    return order_apply_report(order=order, report=report)


def working_orders_cancel(
    *, adapter: VenueAdapter, symbols: set[str] | None = None
) -> int:
    """Cancel the account's working orders at the venue (those in `symbols`, or
    every one); how many. A cancel takes risk off: an open venue breaker lets it
    go, as it does a flatten."""
    cancelled = 0
    with exits():
        for report in adapter.working_orders():
            if symbols is None or report.symbol in symbols:
                adapter.cancel_order(report.venue_order_id)
                cancelled += 1
    return cancelled


def order_record_intent(*, account: BrokerAccount, request: OrderRequest) -> Order:
    """The Order row for `request`, created once per (account, client order id).

    The caller holds the account row locked (select_for_update), so no one else
    records an intent for it meanwhile: look, then create, with no savepoint. The
    unique constraint still refuses a second row from a caller that forgot.
    """
    order = Order.objects.filter(
        account=account, client_order_id=request.client_order_id
    ).first()
    if order is not None:
        return order
    return Order.objects.create(
        account=account,
        client_order_id=request.client_order_id,
        workspace_id=account.workspace_id,
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        quantity=request.quantity,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        stop_loss=request.stop_loss,
    )


def order_place(*, adapter: VenueAdapter, request: OrderRequest) -> OrderReport:
    """Send one order to its venue (outside any lock); what the venue said.

    A refusal comes back as a rejected report with the venue's code; a transient
    VenueError (timeout, rate limit, venue down) is raised for the caller to retry.
    Idempotent at the venue: a repeated client order id answers the first order.
    """
    try:
        return adapter.place_order(request)
    except VenueError as exc:
        if exc.transient:
            raise
        return OrderReport(
            client_order_id=request.client_order_id,
            venue_order_id="",
            status=Order.Status.REJECTED,
            reject_reason=f"{exc.code}: {exc.message}",
        )


@transaction.atomic
def order_apply_report(*, order: Order, report: OrderReport) -> Order:
    """Record the venue's view of an order: status, new fills and the position."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    order.venue_order_id = report.venue_order_id or order.venue_order_id
    order.status = report.status
    order.filled_quantity = report.filled_quantity
    order.avg_fill_price = report.avg_fill_price
    order.reject_reason = report.reject_reason[:255]
    # A venue's fill belongs to one order, whose lock we hold: no one else records it.
    recorded = set(
        Fill.objects.filter(
            account_id=order.account_id,
            venue_fill_id__in=[fill.venue_fill_id for fill in report.fills],
        ).values_list("venue_fill_id", flat=True)
        if report.fills
        else ()
    )
    for fill in report.fills:
        if fill.venue_fill_id in recorded:
            continue
        Fill.objects.create(
            workspace_id=order.workspace_id,
            order=order,
            account_id=order.account_id,
            venue_fill_id=fill.venue_fill_id,
            symbol=order.symbol,
            side=order.side,
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
            filled_at=fill.filled_at,
        )
        recorded.add(fill.venue_fill_id)
        position_apply_fill(order=order, quantity=fill.quantity, price=fill.price)
        order.filled_at = fill.filled_at
    order.save()
    return order


def position_apply_fill(*, order: Order, quantity: Decimal, price: Decimal) -> Position:
    """Net a fill into the account's position (caller holds a transaction)."""
    position, _ = Position.objects.select_for_update().get_or_create(
        account_id=order.account_id,
        symbol=order.symbol,
        defaults={"workspace_id": order.workspace_id},
    )
    netted = net(position.quantity, position.avg_price, order.side, quantity, price)
    return _position_save(position, netted.quantity, netted.avg_price)


def _position_save(
    position: Position, quantity: Decimal, avg: Decimal | None
) -> Position:
    position.quantity, position.avg_price = quantity, avg
    position.updated_at = timezone.now()
    position.save()
    announce(
        position.workspace_id,
        {
            "type": "position.update",
            "account_id": position.account_id,
            "symbol": position.symbol,
            "quantity": str(position.quantity),
            "avg_price": None if avg is None else str(avg),
        },
    )
    return position
