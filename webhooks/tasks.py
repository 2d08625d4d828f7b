from __future__ import annotations

from celery import shared_task

from brokers.adapters.base import VenueError
from webhooks.execution.claims import AccountBusy
from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.execution.supervision import executions_refresh, signals_sweep
from webhooks.strategies.services import strategies_heartbeat_check


@shared_task(acks_late=True, reject_on_worker_lost=True)
def signal_execute_task(signal_id: int) -> None:
    signal_execute(signal_id=signal_id)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(AccountBusy, VenueError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=8,
)
def execution_run_task(self: object, execution_id: int) -> None:
    """One signal on one account; retried while the account is busy or the venue
    has a transient error (the row stays resumable; the sweeper is the backstop)."""
    execution_run(execution_id=execution_id)


@shared_task
def signals_sweep_task() -> None:
    """Beat: re-enqueue work a lost message or a dead worker left behind."""
    signal_ids, execution_ids = signals_sweep()
    for signal_id in signal_ids:
        signal_execute_task.delay(signal_id)
    for execution_id in execution_ids:
        execution_run_task.delay(execution_id)


@shared_task
def strategies_heartbeat_task() -> None:
    """Beat: tell traders whose strategies stopped sending alerts."""
    strategies_heartbeat_check()


@shared_task
def executions_refresh_task() -> None:
    """Beat: orders resting at a venue (limits, stops) filled or expired since."""
    executions_refresh()
