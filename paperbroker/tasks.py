from __future__ import annotations

from celery import shared_task

from paperbroker.feed import feed_step


@shared_task(ignore_result=True)
def paper_feed_task() -> None:
    """Beat: one step of the synthetic feed (working orders are evaluated on it)."""
    feed_step()
