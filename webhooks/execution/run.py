"""One signal on one account, exactly once: cancel working orders if asked,
exit or flip, then enter.

Exactly once: an execution's orders are recorded (the order intents, with client
order ids derived from signal, account and leg) before any venue call; a retry finds
them and asks the venue for each before sending it again. Work is claimed with a
guarded update while holding a PostgreSQL session lock on the account, so a dead
worker's claim is resumed as soon as anyone takes the lock, and two executions on
one account never interleave.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.selectors import billing_enabled
from billing.services import Denial, entry_allowance
from brokers.adapters.base import OrderRequest, VenueAdapter, VenueError
from brokers.adapters.registry import get_adapter
from brokers.instruments.resolve import (
    SymbolError,
    apply_root_override,
    instrument_of,
    resolve,
)
from brokers.instruments.specs import Instrument
from brokers.models import BrokerAccount, Order, Position
from brokers.positions import signed
from brokers.services import (
    order_apply_report,
    order_place,
    order_record_intent,
    working_orders_cancel,
)
from brokers.venues.breaker import exits, exits_when
from common.locks import advisory_lock
from common.realtime import AccountEvent, announce, announcing
from risk.monitor import risk_monitor
from risk.services import risk_check, risk_entry_counted
from webhooks.execution.claims import AccountBusy, claim
from webhooks.execution.outcome import (
    Refusal,
    execution_finish,
    finish_from_orders,
    signal_settle,
)
from webhooks.execution.planning import Leg, Overrides, PlanError, plan_legs
from webhooks.intake.intents import Intent
from webhooks.intake.services import EXITS
from webhooks.models import Execution, Subscription

log = logging.getLogger(__name__)
ZERO = Decimal(0)
# Signals that take risk off whatever the account holds (a reverse: its exit).
EXITING_ACTIONS = EXITS | {"reverse"}


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
        if not claim(Execution, execution_id, Execution.Status.PENDING, held):
            return None
        execution = Execution.objects.select_related(
            "account", "signal", "signal__strategy"
        ).get(pk=execution_id)
        try:
            _execute(execution)
        except VenueError as exc:
            if exc.transient:
                raise
            execution_finish(
                execution, Execution.Status.FAILED, f"venue:{exc.code}", exc.message
            )
        except Exception:
            log.exception("execution %s failed", execution_id)
            execution_finish(
                execution,
                Execution.Status.FAILED,
                "internal-error",
                "TradeFlow could not execute this signal; the error is logged.",
            )
    if execution.status in (Execution.Status.FILLED, Execution.Status.WORKING):
        _monitor(execution.account)
    if refresh_signal:  # inline in signal_execute, which refreshes once at the end
        event = signal_settle(signal_id=execution.signal_id)
        if event is not None and execution.signal.workspace_id:
            announce(execution.signal.workspace_id, event)
    return execution


def _monitor(account: BrokerAccount) -> None:
    """A fill moves the account: measure it against its rules now, not at the
    next beat (accounts without rules cost one query)."""
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
        execution_finish(
            execution, Execution.Status.FAILED, "account-disabled", "Disabled."
        )
        return
    intent = Intent.from_payload(signal.payload or {})
    subscription = (
        Subscription.objects.filter(strategy=signal.strategy, account=account).first()
        if signal.strategy_id
        else None
    )
    try:
        legs, cancelled, positions, instruments = _plan(
            execution, adapter, intent, subscription
        )
    except PlanError as exc:
        status = (
            Execution.Status.SKIPPED
            if exc.code == "side-not-allowed"
            else Execution.Status.REJECTED
        )
        execution_finish(execution, status, exc.code, exc.message)
        return
    if not legs:
        note = f"Cancelled {cancelled} working order(s). " if cancelled else ""
        execution_finish(
            execution,
            Execution.Status.DONE,
            "",
            note + "The account already holds the position the signal wants.",
        )
        return
    orders, refusal = _judge_and_record(execution, intent, legs, positions, instruments)
    if not orders:
        assert refusal is not None
        execution_finish(
            execution, Execution.Status.REJECTED, refusal.code, refusal.detail
        )
        return
    _send(execution, adapter, orders, refusal=refusal)


def _plan(
    execution: Execution,
    adapter: VenueAdapter,
    intent: Intent,
    subscription: Subscription | None,
) -> tuple[list[Leg], int, dict[str, Decimal], dict[str, Instrument]]:
    """Cancel what the signal cancels, then the legs from the venue's positions
    (returned too: the risk check judges from them, not from our last sync) and
    the instruments of the contracts the legs trade. The venue is asked past an
    open breaker when the signal takes risk off."""
    contracts: dict[str, Instrument] = {}
    if intent.symbol is not None:
        contract, instrument = _contract_for(execution, subscription, intent.symbol)
        contracts[contract] = instrument
    with _reads_exiting(intent, execution.account, set(contracts)):
        return _plan_at_venue(adapter, intent, subscription, contracts)


def _reads_exiting(
    intent: Intent, account: BrokerAccount, contracts: set[str]
) -> AbstractContextManager[None]:
    """An exit, a flatten, a cancel, or an order against a position our books
    hold (a sell on a long): its venue reads go past an open breaker. The
    venue's own position still decides which legs exit (`_send`). Our books are
    asked only if a breaker is open."""
    if intent.action in EXITING_ACTIONS or intent.cancel_orders:
        return exits()
    if intent.sentiment == "flat":
        return exits()
    if intent.side is None:
        return nullcontext()
    against = Q(quantity__lt=0) if intent.side == "buy" else Q(quantity__gt=0)
    held = Position.objects.filter(against, account=account, symbol__in=contracts)
    return exits_when(held.exists)


def _exiting(reduces: bool) -> AbstractContextManager[None]:
    return exits() if reduces else nullcontext()


def _plan_at_venue(
    adapter: VenueAdapter,
    intent: Intent,
    subscription: Subscription | None,
    contracts: dict[str, Instrument],
) -> tuple[list[Leg], int, dict[str, Decimal], dict[str, Instrument]]:
    positions = {report.symbol: report.quantity for report in adapter.positions()}
    if intent.symbol is None:  # flatten or cancel everything
        for symbol in positions:
            contracts[symbol] = _instrument(symbol)
    cancelled = 0
    if intent.cancel_orders or intent.action in ("flatten", "exit", "reverse"):
        symbols = set(contracts) if intent.symbol else None
        cancelled = working_orders_cancel(adapter=adapter, symbols=symbols)
    if intent.action == "cancel":
        return [], cancelled, positions, contracts
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
    return legs, cancelled, positions, contracts


def _with(leg: Leg, *, contract: str, number: int) -> Leg:
    return replace(leg, number=number, symbol=contract)


def _contract_for(
    execution: Execution, subscription: Subscription | None, symbol: str
) -> tuple[str, Instrument]:
    """The contract this account trades for the alert's symbol.

    Intake resolved the symbol once (with the account's own mapping when the key
    targets the account) and stored the contract; it is only resolved again
    when a strategy's or this account's mapping turns it into another symbol.
    """
    stored = (execution.signal.payload or {}).get("contract")
    mapped = symbol
    try:
        if subscription is not None:  # intake could not know this account
            for mapping in (
                subscription.symbol_map,
                execution.account.symbol_overrides,
            ):
                if mapping:
                    mapped = apply_root_override(mapped, mapping)
        if mapped == symbol and stored:
            return stored, _instrument(stored)
        resolved = resolve(mapped)
    except SymbolError as exc:
        raise PlanError("unknown-symbol", str(exc)) from None
    return resolved.symbol, resolved.instrument


def _instrument(symbol: str) -> Instrument:
    """The instrument of a contract the venue or intake named."""
    instrument = instrument_of(symbol)
    if instrument is None:
        raise PlanError("unknown-symbol", f"Unknown symbol {symbol!r}.")
    return instrument


def _judge_and_record(
    execution: Execution,
    intent: Intent,
    legs: list[Leg],
    positions: dict[str, Decimal],
    instruments: dict[str, Instrument],
) -> tuple[list[Order], Refusal | None]:
    """Risk-check each leg under the account lock and record the allowed ones;
    an entry needs the workspace's plan to allow trading too.

    Each leg is judged from the venue's position as the legs before it leave it
    (a flip's entry starts where its exit ends). A refused leg stops the legs
    after it (no entry when its exit was refused).
    """
    orders: list[Order] = []
    refusal: Refusal | None = None
    with transaction.atomic():
        denial: Denial | None = None
        if any(leg.role == "entry" for leg in legs):
            # Queued before the plan ran out, or fanned out past it: entries
            # stop here; exits never do. Before the account's row is locked: a
            # trial's wait on the billing row must not hold up a flatten.
            denial = _entry_denial(execution)
        account = BrokerAccount.objects.select_for_update().get(pk=execution.account_id)
        running = dict(positions)
        for leg in legs:
            if leg.role == "entry" and denial is not None:
                refusal = Refusal(denial.code, denial.message)
                break
            decision = risk_check(
                account=account,
                symbol=leg.symbol,
                side=leg.side,
                quantity=leg.quantity,
                price=leg.limit_price or leg.stop_price or intent.price,
                stop_loss=leg.stop_loss,
                current=running.get(leg.symbol, ZERO),
                positions=running,
                instrument=instruments.get(leg.symbol),
            )
            if not decision.allowed:
                refusal = Refusal(decision.code, decision.detail)
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


def _entry_denial(execution: Execution) -> Denial | None:
    """The plan's word on this execution's entries, judged in the caller's
    transaction (a trial's last trades are locked while they are judged). Any
    failure in it refuses the entries, and leaves the exits to go."""
    if not billing_enabled():
        return None
    try:
        with transaction.atomic():  # a savepoint: a failure here spares the exit
            return _allowance(execution)
    except Exception:
        log.exception("execution %s: the plan could not be judged", execution.pk)
        return Denial(
            "billing-unavailable",
            "The plan could not be checked just now: entries wait, exits went.",
        )


def _allowance(execution: Execution) -> Denial | None:
    signal_executions = Execution.objects.filter(signal_id=execution.signal_id)
    return entry_allowance(
        workspace_id=execution.workspace_id,
        account=execution.account,
        fanout_rank=signal_executions.filter(account_id__lt=execution.account_id)
        .exclude(status=Execution.Status.SKIPPED)
        .count,
        in_flight=Execution.objects.filter(
            workspace_id=execution.workspace_id,
            risk_checked_at__isnull=False,
            finished_at__isnull=True,
        )
        .exclude(pk=execution.pk)
        .count,
    )


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
        instrument=instrument_of(leg.symbol),
    )


def _send(
    execution: Execution,
    adapter: VenueAdapter,
    orders: list[Order],
    *,
    resumed: bool = False,
    refusal: Refusal | None = None,
) -> None:
    """Send the recorded legs in order (exit before entry), outside any lock;
    an exit leg goes past an open venue breaker, an entry does not."""
    execution.sent_at = execution.sent_at or timezone.now()
    intent = Intent.from_payload(execution.signal.payload or {})
    plans = {step["client_order_id"]: step for step in execution.plan}
    done: list[Order] = []
    for order in orders:
        if order.status not in Order.FINAL:
            step = plans.get(order.client_order_id)
            with _exiting(step is not None and step["role"] == "exit"):
                report = adapter.find_order(order.client_order_id) if resumed else None
                if report is None:
                    assert step is not None, f"{order.client_order_id} not planned"
                    leg = Leg.from_payload(step)
                    report = order_place(
                        adapter=adapter, request=_request(execution, intent, leg)
                    )
            order = order_apply_report(order=order, report=report)
        done.append(order)
        if order.status == Order.Status.REJECTED:
            break  # an exit the venue refused: do not enter on top of it
    execution.acknowledged_at = timezone.now()
    fills = [order.filled_at for order in done if order.filled_at]
    execution.filled_at = max(fills) if fills else None
    finish_from_orders(execution, done, refusal)
