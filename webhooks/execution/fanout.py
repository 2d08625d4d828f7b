"""A queued signal becomes one Execution per target account: the account of a
key, a strategy's subscribers, a group's members. The worker's first task."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from common.locks import advisory_lock
from common.realtime import announcing
from webhooks.execution.claims import AccountBusy, claim
from webhooks.execution.enqueue import execution_enqueue
from webhooks.execution.outcome import signal_refresh
from webhooks.execution.run import execution_run
from webhooks.models import ApiKey, Execution, Signal, Subscription

log = logging.getLogger(__name__)


def signal_execute(*, signal_id: int) -> Signal | None:
    """Create the signal's executions (idempotent) and run or enqueue them.

    Runs in a worker. The executions run here, a queue hop saved: one target
    account (the common case) on this thread, several side by side on threads
    (EXECUTION_FANOUT_THREADS), so twenty accounts at a venue take about as long
    as one rather than twenty round trips one after another.
    """
    with announcing():
        return _signal_execute(signal_id)


def _signal_execute(signal_id: int) -> Signal | None:
    with advisory_lock("signal", signal_id) as held:
        if not held.acquired or not claim(
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
    threads = min(len(pending), settings.EXECUTION_FANOUT_THREADS, _spare_connections())
    if len(pending) > 1 and (threads == 1 or connection.in_atomic_block):
        # One task per account. Also inside a transaction (an eager task in
        # one): no other connection could read the rows made in it.
        for execution_id in pending:
            execution_enqueue(execution_id)
    elif threads > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="fan-out") as pool:
            list(pool.map(_execution_side_by_side, pending))
    elif pending:
        _execution_here(pending[0])
    return signal_refresh(signal_id=signal_id)


def _spare_connections() -> int:
    """How many more connections this process's pool can lend (one is ours)."""
    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if not isinstance(pool, dict):
        return settings.EXECUTION_FANOUT_THREADS  # no pool: each thread opens its own
    return max(int(pool.get("max_size", 1)) - 1, 1)


def _execution_here(execution_id: int) -> None:
    try:
        execution_run(execution_id=execution_id, refresh_signal=False)
    except (AccountBusy, VenueError):
        # Busy, or a transient venue error (the only kind it raises): the
        # execution task retries with backoff, the row resumable meanwhile.
        execution_enqueue(execution_id, countdown=1)


def _execution_side_by_side(execution_id: int) -> None:
    """One account's execution on a fan-out thread, which then hands its
    database connection back. A failure stays with its account: the task takes
    it over (with its retries) and the other accounts go on."""
    try:
        with announcing():
            _execution_here(execution_id)
    except Exception:
        log.exception("execution %s failed on a fan-out thread", execution_id)
        execution_enqueue(execution_id, countdown=1)
    finally:
        connections.close_all()


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
