from __future__ import annotations

import logging

from celery import shared_task

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.services import account_sync

log = logging.getLogger(__name__)


@shared_task
def account_sync_task(account_id: int) -> None:
    account = BrokerAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        return
    try:
        account_sync(account=account)
    except VenueError as exc:
        log.warning(
            "sync of account %s failed: %s %s", account_id, exc.code, exc.message
        )


@shared_task
def accounts_sync_task() -> None:
    """Beat: fan out one sync task per enabled account."""
    for account_id in BrokerAccount.objects.filter(enabled=True).values_list(
        "pk", flat=True
    ):
        account_sync_task.delay(account_id)
