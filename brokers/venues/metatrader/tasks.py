from __future__ import annotations

from celery import shared_task

from brokers.venues.metatrader.services import terminals_watch


@shared_task
def terminals_watch_task() -> None:
    """Beat: expire what no EA collected; mark and tell the EAs that went silent."""
    terminals_watch()
