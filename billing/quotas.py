"""How much one workspace may hold: accounts, webhook keys, strategies, groups.

A workspace past its quota is refused new ones (never an exit, a flatten or the
kill switch): one tenant cannot fill the queues and tables everyone shares.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from accounts.models import Workspace

KINDS = {
    "accounts": "WORKSPACE_MAX_ACCOUNTS",
    "keys": "WORKSPACE_MAX_KEYS",
    "strategies": "WORKSPACE_MAX_STRATEGIES",
    "groups": "WORKSPACE_MAX_GROUPS",
}


class QuotaExceeded(Exception):  # noqa: N818 - a refusal with its sentence
    code = "quota-exceeded"

    def __init__(self, kind: str, limit: int) -> None:
        self.kind, self.limit = kind, limit
        self.message = (
            f"This workspace has {limit} {kind}, the most one may have: remove one "
            "before adding another."
        )
        super().__init__(self.message)


def quota_check(*, workspace_id: int, kind: str, used: Callable[[], int]) -> None:
    """Raise QuotaExceeded when the workspace already has its most `kind`.

    Locks the workspace's row for the caller's transaction first, so two
    requests at once cannot both take the last place; `used` counts after.
    """
    limit: int = getattr(settings, KINDS[kind])
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace_id).exists()
        if used() >= limit:
            raise QuotaExceeded(kind, limit)
