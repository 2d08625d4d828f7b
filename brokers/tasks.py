from __future__ import annotations

import logging

from celery import shared_task

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.services import account_sync

log = logging.getLogger(__name__)
# Accounts one sync task takes: a few tasks a beat, not one per account, so a
# workspace with hundreds of accounts does not fill the queue.
SYNC_CHUNK = 100


@shared_task(soft_time_limit=50, time_limit=60)
def accounts_sync_chunk_task(account_ids: list[int]) -> int:
    """Sync a chunk of one venue's accounts; one that fails is logged and skipped."""
    synced = 0
    for account in BrokerAccount.objects.filter(pk__in=account_ids, enabled=True):
        try:
            account_sync(account=account)
        except VenueError as exc:
            log.warning(
                "sync of account %s failed: %s %s", account.pk, exc.code, exc.message
            )
            continue
        synced += 1
    return synced


@shared_task
def accounts_sync_task() -> int:
    """Beat: the enabled accounts in chunks per venue. Returns how many chunks."""
    by_venue: dict[str, list[int]] = {}
    for pk, venue in (
        BrokerAccount.objects.filter(enabled=True)
        .order_by("venue", "pk")
        .values_list("pk", "venue")
    ):
        by_venue.setdefault(venue, []).append(pk)
    chunks = [
        ids[i : i + SYNC_CHUNK]
        for ids in by_venue.values()
        for i in range(0, len(ids), SYNC_CHUNK)
    ]
    for chunk in chunks:
        accounts_sync_chunk_task.delay(chunk)
    return len(chunks)
