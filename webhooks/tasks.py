from __future__ import annotations

from celery import shared_task

from webhooks.services import signal_execute, signals_sweep


@shared_task(acks_late=True, reject_on_worker_lost=True)
def signal_execute_task(signal_id: int) -> None:
    signal_execute(signal_id=signal_id)


@shared_task
def signals_sweep_task() -> None:
    """Beat: re-enqueue signals a lost message or a dead worker left behind."""
    for signal_id in signals_sweep():
        signal_execute_task.delay(signal_id)
