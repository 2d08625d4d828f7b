from __future__ import annotations

from celery import shared_task

from risk.monitor import accounts_monitor


@shared_task
def accounts_monitor_task() -> None:
    """Beat: measure every account with rules; flatten before a limit breaks."""
    accounts_monitor()
