"""Signal execution: fan-out to target accounts, then each account exactly once.

`signal_execute` turns a queued signal into one Execution per target account (the
account of a key, a strategy's subscribers, a group's members). `execution_run`
executes one of them: cancel working orders if asked, exit or flip, then enter.

Exactly once: an execution's orders are recorded (the order intents, with client
order ids derived from signal, account and leg) before any venue call; a retry finds
them and asks the venue for each before sending it again. Work is claimed with a
guarded update while holding a PostgreSQL session lock on the account, so a dead
worker's claim is resumed as soon as anyone takes the lock, and two executions on
one account never interleave.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from accounts.realtime import AccountEvent, SignalEvent
from billing.services import billing_record_trade
from brokers.adapters.base import (
    OrderReport,
    OrderRequest,
    VenueAdapter,
    VenueError,
)
from brokers.adapters.registry import get_adapter
from brokers.instruments.resolve import SymbolError, apply_root_override, resolve
from brokers.instruments.specs import Instrument
from brokers.models import BrokerAccount, Order
from brokers.positions import signed
from brokers.services import (
    announce,
    announcing,
    order_apply_report,
    order_record_intent,
)
from risk.services import RiskDecision, risk_check, risk_entry_counted
from tradeflow.locks import Held, advisory_lock
from webhooks.intents import Intent
from webhooks.models import ApiKey, Execution, Signal, Subscription
from webhooks.planning import Leg, Overrides, PlanError, plan_legs

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class AccountBusy(Exception):  # noqa: N818 - a condition, not a failure
    """Another live worker is executing on this account; try again shortly."""


# --- Signal: fan-out ------------------------------------------------------------------


def signal_execute(*, signal_id: int) -> Signal | None:
    """Create the signal's executions (idempotent) and run or enqueue them."""
    with announcing():
        return _signal_execute(signal_id)


def _signal_execute(signal_id: int) -> Signal | None:
    with advisory_lock("signal", signal_id) as held:
        if not held.acquired or not _claim(
            Signal, signal_id, Signal.Status.QUEUED, held
        ):
            return None
        signal = Signal.objects.select_related("account", "strategy", "group").get(
            pk=signal_id
        )
        executions = _executions_create(signal)
    if signal.api_key_id is not None:  # off the request path on purpose
        ApiKey.objects.filter(pk=signal.api_key_id).update(
            last_used_at=signal.received_at
        )
    # Executing ones too: after a crash they resume once their account lock is free.
    runnable = (Execution.Status.PENDING, Execution.Status.EXECUTING)
    pending = [e.pk for e in executions if e.status in runnable]
    if len(pending) == 1:
        # The common case (one account) runs here: one queue hop less.
        try:
            execution_run(execution_id=pending[0], refresh_signal=False)
        except AccountBusy:
            enqueue_execution(pending[0], countdown=1)
    else:
        for execution_id in pending:
            enqueue_execution(execution_id)
    return signal_refresh(signal_id=signal_id)


def _claim(model: type[Model], pk: int, ready: str, held: Held) -> bool:
    """Take a row from `ready` to executing, or resume an abandoned one."""
    now = timezone.now()
    manager = model._default_manager
    if manager.filter(pk=pk, status=ready).update(status="executing", started_at=now):
        return True
    abandoned = Q(pk=pk, status="executing")
    if not held.exclusive:  # no session locks (SQLite): judge by age instead
        stale = now - timedelta(seconds=settings.SIGNAL_STUCK_SECONDS)
        abandoned &= Q(started_at__lt=stale)
    return bool(manager.filter(abandoned).update(started_at=now))


def _executions_create(signal: Signal) -> list[Execution]:
    targets = _targets(signal)
    if not targets:
        Signal.objects.filter(pk=signal.pk).update(
            status=Signal.Status.FAILED,
            error_code="no-accounts",
            error_message=f"No account receives signals for {signal.target_label}.",
            finished_at=timezone.now(),
        )
        return []
    approval = signal.strategy is not None and signal.strategy.manual_approval
    rows = []
    for account, subscription in targets:
        status, code, message = Execution.Status.PENDING, "", ""
        if subscription is not None and not subscription.enabled:
            status, code = Execution.Status.SKIPPED, "subscription-disabled"
            message = "This account's subscription is switched off."
        elif not account.enabled:
            status, code = Execution.Status.SKIPPED, "account-disabled"
            message = f"The account {account.name!r} is disabled."
        elif approval:
            status = Execution.Status.AWAITING
        rows.append(
            Execution(
                signal=signal,
                account=account,
                workspace_id=account.workspace_id,
                status=status,
                error_code=code,
                error_message=message,
                finished_at=timezone.now() if code else None,
            )
        )
    # A retried signal finds its executions made: the unique (signal, account) wins.
    Execution.objects.bulk_create(rows, ignore_conflicts=True)
    return list(signal.executions.all())


def _targets(signal: Signal) -> list[tuple[BrokerAccount, Subscription | None]]:
    if signal.strategy is not None:
        subscriptions = signal.strategy.subscriptions.select_related("account").filter(
            account__workspace_id=signal.strategy.workspace_id
        )
        return [(sub.account, sub) for sub in subscriptions]
    if signal.group is not None:
        accounts = signal.group.accounts.filter(workspace_id=signal.group.workspace_id)
        return [(account, None) for account in accounts]
    return [] if signal.account is None else [(signal.account, None)]


def enqueue_execution(execution_id: int, countdown: float = 0) -> None:
    from webhooks.tasks import execution_run_task

    try:
        execution_run_task.apply_async((execution_id,), countdown=countdown)
    except Exception:
        log.exception("could not enqueue execution %s; the sweeper will", execution_id)


def signal_refresh(*, signal_id: int) -> Signal | None:
    """Set the signal's status from its executions' outcomes."""
    event = _signal_settle(signal_id)
    signal = Signal.objects.filter(pk=signal_id).first()
    if event is not None and signal is not None and signal.workspace_id:
        announce(signal.workspace_id, event)
    return signal


def _signal_settle(signal_id: int) -> SignalEvent | None:
    """`signal_refresh` without the row: the news when the status changed."""
    rows = list(
        Execution.objects.filter(signal_id=signal_id).values_list(
            "status", "error_code", "error_message"
        )
    )
    statuses = {status for status, _, _ in rows}
    failed = {Execution.Status.REJECTED, Execution.Status.FAILED}
    skipped = Execution.Status.SKIPPED
    code = message = ""
    if not rows:
        return None
    if statuses & {Execution.Status.PENDING, Execution.Status.EXECUTING}:
        status = Signal.Status.EXECUTING
    elif Execution.Status.AWAITING in statuses:
        status = Signal.Status.AWAITING
    elif statuses <= failed | {skipped}:
        # Nothing executed: the first failure (or skip) is the signal's reason.
        first = next((row for row in rows if row[0] in failed), rows[0])
        status, (_, code, message) = Signal.Status.FAILED, first
    elif statuses & failed:
        # A skipped account (subscription off, side not allowed) is not a failure.
        status, code = Signal.Status.PARTIAL, "partial"
        message = (
            f"{sum(s in failed for s, _, _ in rows)} of {len(rows)} accounts failed."
        )
    elif Execution.Status.WORKING in statuses:
        status = Signal.Status.WORKING
    elif Execution.Status.FILLED in statuses:
        status = Signal.Status.FILLED
    else:
        status = Signal.Status.DONE
    final = status in Signal.FINAL
    updated = Signal.objects.filter(
        pk=signal_id,
        status__in=[
            Signal.Status.EXECUTING,
            Signal.Status.AWAITING,
            Signal.Status.WORKING,
        ],
    ).update(
        status=status,
        error_code=code,
        error_message=message[:500],
        finished_at=timezone.now() if final else None,
    )
    if not updated:
        return None
    return SignalEvent(
        type="signal.update", signal_id=signal_id, status=status, error_code=code
    )


# --- One account ----------------------------------------------------------------------


def execution_run(
    *, execution_id: int, refresh_signal: bool = True
) -> Execution | None:
    """Execute one signal on one account, at most once (see the module docstring).

    Raises AccountBusy when another execution holds the account past the wait, and
    transient VenueErrors for the task to retry; either leaves the row resumable.
    Its realtime events leave together at the end, in one channel-layer trip.
    """
    with announcing():
        return _run(execution_id, refresh_signal)


def _run(execution_id: int, refresh_signal: bool) -> Execution | None:
    row = Execution.objects.filter(pk=execution_id).values("account_id", "status")
    first = row.first()
    if first is None or first["status"] not in (
        Execution.Status.PENDING,
        Execution.Status.EXECUTING,
    ):
        return None
    wait = settings.EXECUTION_ACCOUNT_WAIT_SECONDS
    with advisory_lock("account", first["account_id"], wait=wait) as held:
        if not held.acquired:
            raise AccountBusy(first["account_id"])
        if not _claim(Execution, execution_id, Execution.Status.PENDING, held):
            return None
        execution = Execution.objects.select_related(
            "account", "signal", "signal__strategy"
        ).get(pk=execution_id)
        try:
            _execute(execution)
        except VenueError as exc:
            if exc.transient:
                raise
            _finish(
                execution, Execution.Status.FAILED, f"venue:{exc.code}", exc.message
            )
        except Exception:
            log.exception("execution %s failed", execution_id)
            _finish(
                execution,
                Execution.Status.FAILED,
                "internal-error",
                "TradeFlow could not execute this signal; the error is logged.",
            )
    if execution.status in (Execution.Status.FILLED, Execution.Status.WORKING):
        _monitor(execution.account)
    if refresh_signal:  # inline in signal_execute, which refreshes once at the end
        event = _signal_settle(execution.signal_id)
        if event is not None and execution.signal.workspace_id:
            announce(execution.signal.workspace_id, event)
    return execution


def _monitor(account: BrokerAccount) -> None:
    """A fill moves the account: measure it against its rules now, not at the
    next beat (accounts without rules cost one query)."""
    from risk.monitor import risk_monitor

    updates: list[tuple[int, AccountEvent]] = []  # sent with the execution's news
    try:
        risk_monitor(account=account, updates=updates)
    except Exception:
        log.exception("risk monitor after a fill failed for account %s", account.pk)
    for workspace_id, update in updates:
        announce(workspace_id, update)


def _execute(execution: Execution) -> None:
    account, signal = execution.account, execution.signal
    adapter = get_adapter(account)
    recorded = list(execution.orders.order_by("client_order_id"))
    if recorded:  # a retry: the plan stands; finish sending it
        _send(execution, adapter, recorded, resumed=True)
        return
    if not account.enabled:
        _finish(execution, Execution.Status.FAILED, "account-disabled", "Disabled.")
        return
    intent = Intent.from_payload(signal.payload or {})
    subscription = (
        Subscription.objects.filter(strategy=signal.strategy, account=account).first()
        if signal.strategy_id
        else None
    )
    try:
        legs, cancelled, positions = _plan(execution, adapter, intent, subscription)
    except PlanError as exc:
        status = (
            Execution.Status.SKIPPED
            if exc.code == "side-not-allowed"
            else Execution.Status.REJECTED
        )
        _finish(execution, status, exc.code, exc.message)
        return
    if not legs:
        note = f"Cancelled {cancelled} working order(s). " if cancelled else ""
        _finish(
            execution,
            Execution.Status.DONE,
            "",
            note + "The account already holds the position the signal wants.",
        )
        return
    orders, refusal = _judge_and_record(execution, intent, legs, positions)
    if not orders:
        assert refusal is not None
        _finish(execution, Execution.Status.REJECTED, refusal.code, refusal.detail)
        return
    _send(execution, adapter, orders, refusal=refusal)


def _plan(
    execution: Execution,
    adapter: VenueAdapter,
    intent: Intent,
    subscription: Subscription | None,
) -> tuple[list[Leg], int, dict[str, Decimal]]:
    """Cancel what the signal cancels, then the legs from the venue's positions
    (returned too: the risk check judges from them, not from our last sync)."""
    account = execution.account
    contracts: dict[str, Instrument] = {}
    if intent.symbol is not None:
        contract, instrument = _resolve_for(account, subscription, intent.symbol)
        contracts[contract] = instrument
    positions = {report.symbol: report.quantity for report in adapter.positions()}
    if intent.symbol is None:  # flatten or cancel everything
        for symbol in positions:
            contracts[symbol] = _instrument(symbol)
    cancelled = 0
    if intent.cancel_orders or intent.action in ("flatten", "exit", "reverse"):
        cancelled = _cancel_working(adapter, set(contracts) if intent.symbol else None)
    if intent.action == "cancel":
        return [], cancelled, positions
    overrides = (
        Overrides()
        if subscription is None
        else Overrides(
            multiplier=subscription.multiplier,
            max_quantity=subscription.max_quantity,
            allowed_sides=subscription.allowed_sides,
        )
    )
    needs_equity = intent.quantity_type in (
        "percent_of_equity",
        "risk_percent",
    )
    equity = adapter.account_snapshot().equity if needs_equity else ZERO
    legs: list[Leg] = []
    for index, (contract, instrument) in enumerate(sorted(contracts.items())):
        planned = plan_legs(
            intent=intent,
            position=positions.get(contract, ZERO),
            equity=equity,
            instrument=instrument,
            overrides=overrides,
        )
        # Flattening several symbols: one exit leg each, numbered apart.
        legs += [
            _with(leg, contract=contract, number=leg.number + 10 * index)
            for leg in planned
        ]
    return legs, cancelled, positions


def _with(leg: Leg, *, contract: str, number: int) -> Leg:
    return replace(leg, number=number, symbol=contract)


def _resolve_for(
    account: BrokerAccount, subscription: Subscription | None, symbol: str
) -> tuple[str, Instrument]:
    """The contract this account trades for the alert's symbol, after its mappings."""
    try:
        for mapping in (
            subscription.symbol_map if subscription else {},
            account.symbol_overrides,
        ):
            if mapping:
                symbol = apply_root_override(symbol, mapping)
        resolved = resolve(symbol)
    except SymbolError as exc:
        raise PlanError("unknown-symbol", str(exc)) from None
    return resolved.contract or resolved.root, resolved.instrument


def _instrument(symbol: str) -> Instrument:
    try:
        return resolve(symbol).instrument
    except SymbolError as exc:
        raise PlanError("unknown-symbol", str(exc)) from None


def _cancel_working(adapter: VenueAdapter, symbols: set[str] | None) -> int:
    cancelled = 0
    for report in adapter.working_orders():
        if symbols is None or report.symbol in symbols:
            adapter.cancel_order(report.venue_order_id)
            cancelled += 1
    return cancelled


def _judge_and_record(
    execution: Execution,
    intent: Intent,
    legs: list[Leg],
    positions: dict[str, Decimal],
) -> tuple[list[Order], RiskDecision | None]:
    """Risk-check each leg under the account lock and record the allowed ones.

    Each leg is judged from the venue's position as the legs before it leave it
    (a flip's entry starts where its exit ends). A refused leg stops the legs
    after it (no entry when its exit was refused).
    """
    orders: list[Order] = []
    refusal = None
    with transaction.atomic():
        account = BrokerAccount.objects.select_for_update().get(pk=execution.account_id)
        running = dict(positions)
        for leg in legs:
            decision = risk_check(
                account=account,
                symbol=leg.symbol,
                side=leg.side,
                quantity=leg.quantity,
                price=leg.limit_price or leg.stop_price or intent.price,
                stop_loss=leg.stop_loss,
                current=running.get(leg.symbol, ZERO),
                positions=running,
            )
            if not decision.allowed:
                refusal = decision
                break
            if decision.quantity is not None:  # resized down to the risk allowed
                leg = replace(leg, quantity=decision.quantity)
                legs = [leg if old.number == leg.number else old for old in legs]
            request = _request(execution, intent, leg)
            orders.append(order_record_intent(account=account, request=request))
            running[leg.symbol] = running.get(leg.symbol, ZERO) + signed(
                leg.side, leg.quantity
            )
            if leg.role == "entry":
                risk_entry_counted(account=account)
        execution.orders.add(*orders)
        execution.plan = [
            {
                **leg.as_payload(),
                "client_order_id": execution.client_order_id(leg.number),
            }
            for leg in legs
        ]
        execution.risk_checked_at = timezone.now()
        execution.save(update_fields=["plan", "risk_checked_at", "started_at"])
    return orders, refusal


def _request(execution: Execution, intent: Intent, leg: Leg) -> OrderRequest:
    strategy = execution.signal.strategy
    return OrderRequest(
        client_order_id=execution.client_order_id(leg.number),
        symbol=leg.symbol,
        side=leg.side,
        order_type=leg.order_type,
        quantity=leg.quantity,
        limit_price=leg.limit_price,
        stop_price=leg.stop_price,
        time_in_force=leg.time_in_force,
        trail_distance=leg.trail_distance,
        stop_loss=leg.stop_loss,
        take_profit=leg.take_profit,
        reference_price=intent.price,
        strategy=strategy.name if strategy else intent.strategy or "",
        comment=intent.comment,
    )


def _send(
    execution: Execution,
    adapter: VenueAdapter,
    orders: list[Order],
    *,
    resumed: bool = False,
    refusal: RiskDecision | None = None,
) -> None:
    """Send the recorded legs in order (exit before entry), outside any lock."""
    execution.sent_at = execution.sent_at or timezone.now()
    intent = Intent.from_payload(execution.signal.payload or {})
    plans = {step["client_order_id"]: step for step in execution.plan}
    done: list[Order] = []
    for order in orders:
        if order.status not in Order.FINAL:
            report = adapter.find_order(order.client_order_id) if resumed else None
            if report is None:
                step = plans.get(order.client_order_id)
                assert step is not None, f"{order.client_order_id} is not in the plan"
                leg = Leg.from_payload(step)
                report = _place(adapter, _request(execution, intent, leg))
            order = order_apply_report(order=order, report=report)
        done.append(order)
        if order.status == Order.Status.REJECTED:
            break  # an exit the venue refused: do not enter on top of it
    execution.acknowledged_at = timezone.now()
    fills = [order.filled_at for order in done if order.filled_at]
    execution.filled_at = max(fills) if fills else None
    finish_from_orders(execution, done, refusal)


def _place(adapter: VenueAdapter, request: OrderRequest) -> OrderReport:
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


def finish_from_orders(
    execution: Execution,
    orders: list[Order],
    refusal: RiskDecision | None,
    current: str = Execution.Status.EXECUTING,
) -> None:
    statuses = {order.status for order in orders}
    rejected = next((o for o in orders if o.status == Order.Status.REJECTED), None)
    code = message = ""
    if rejected is not None:
        reason, _, detail = rejected.reject_reason.partition(": ")
        code, message = f"venue:{reason}", detail or reason
    elif refusal is not None:
        code, message = refusal.code, refusal.detail
    if statuses <= {Order.Status.REJECTED, Order.Status.CANCELLED}:
        status = Execution.Status.REJECTED
        if not code:  # every order ended at the venue unfilled, none refused
            code, message = (
                "venue:cancelled",
                "The venue cancelled the order unfilled (immediate-or-cancel, "
                "fill-or-kill, or its time in force ended).",
            )
    elif statuses & {
        Order.Status.WORKING,
        Order.Status.PENDING,
        Order.Status.PARTIALLY_FILLED,
    }:
        status = Execution.Status.WORKING
    else:
        status = Execution.Status.FILLED
    _finish(execution, status, code, message, current=current)


def _finish(
    execution: Execution,
    status: str,
    code: str = "",
    message: str = "",
    current: str = Execution.Status.EXECUTING,
) -> None:
    """Record the outcome once: only the claim holder's first finish counts."""
    if status == current:
        return
    now = timezone.now()
    updated = Execution.objects.filter(pk=execution.pk, status=current).update(
        status=status,
        error_code=code,
        error_message=message[:500],
        started_at=execution.started_at,
        sent_at=execution.sent_at,
        acknowledged_at=execution.acknowledged_at,
        filled_at=execution.filled_at,
        finished_at=None if status == Execution.Status.WORKING else now,
    )
    execution.status, execution.error_code = status, code
    execution.error_message = message[:500]
    if not updated:
        return
    if status == Execution.Status.FILLED:
        billing_record_trade(workspace_id=execution.workspace_id)
    log.info("execution %s: %s %s", execution.pk, status, code)
    announce(
        execution.workspace_id,
        {
            "type": "execution.update",
            "signal_id": execution.signal_id,
            "account_id": execution.account_id,
            "status": status,
            "error_code": code,
        },
    )
