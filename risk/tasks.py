"""The monitor's beat: one sweep at a time, split into chunks the workers share."""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from risk.monitor import SWEEP_CHUNK, accounts_due, accounts_measure

# The number of chunks of the running sweep still to finish. Its expiry frees the
# sweep if a worker died holding a chunk.
SWEEP_KEY = "risk:sweep:chunks"
SWEEP_EXPIRY_SECONDS = 120


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


@shared_task(soft_time_limit=10, time_limit=20)
def accounts_monitor_task() -> int:
    """Beat: queue the accounts due for a measure in chunks, busy ones first,
    unless the previous sweep still runs (a slow sweep is never stacked on)."""
    ids = accounts_due()
    if not ids:
        return 0
    chunks = [ids[i : i + SWEEP_CHUNK] for i in range(0, len(ids), SWEEP_CHUNK)]
    if not _redis().set(SWEEP_KEY, len(chunks), nx=True, ex=SWEEP_EXPIRY_SECONDS):
        return 0
    for chunk in chunks:
        accounts_measure_task.delay(chunk)
    return len(ids)


@shared_task(soft_time_limit=50, time_limit=60)
def accounts_measure_task(ids: list[int]) -> int:
    """Measure one chunk of a sweep; the last chunk to finish ends the sweep."""
    try:
        return accounts_measure(ids)
    finally:
        client = _redis()
        if client.decr(SWEEP_KEY) <= 0:
            client.delete(SWEEP_KEY)


@shared_task(
    autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True
)
def breach_mail_task(subject: str, body: str, emails: list[str]) -> None:
    """A breach's e-mail, off the monitor's path (a slow mail server must not
    hold a sweep up)."""
    send_mail(subject, body, None, emails)
