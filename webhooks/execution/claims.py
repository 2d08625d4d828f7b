"""Claiming work: a guarded update to `executing`, or the resumption of a claim
whose holder died (its PostgreSQL session lock is gone)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone

from common.locks import Held


class AccountBusy(Exception):  # noqa: N818 - a condition, not a failure
    """Another live worker is executing on this account; try again shortly."""


def claim(model: type[Model], pk: int, ready: str, held: Held) -> bool:
    """Take a row from `ready` to executing, or resume an abandoned one.

    The caller holds the row's session lock (`held`), so an `executing` row it
    finds was left by a worker that is gone. Without session locks (SQLite) an
    executing row counts as abandoned only after SIGNAL_STUCK_SECONDS.
    """
    now = timezone.now()
    manager = model._default_manager
    if manager.filter(pk=pk, status=ready).update(status="executing", started_at=now):
        return True
    abandoned = Q(pk=pk, status="executing")
    if not held.exclusive:
        stale = now - timedelta(seconds=settings.SIGNAL_STUCK_SECONDS)
        abandoned &= Q(started_at__lt=stale)
    return bool(manager.filter(abandoned).update(started_at=now))
