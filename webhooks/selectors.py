from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import AnyUser
from webhooks.models import Signal


def recent_signals_for_user(user: AnyUser, limit: int = 20) -> QuerySet[Signal]:
    return Signal.objects.for_user(user).select_related("account")[:limit]
