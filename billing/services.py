from __future__ import annotations

from django.db.models import F

from accounts.models import Workspace
from billing.models import BillingAccount


def billing_account_ensure(*, workspace: Workspace) -> BillingAccount:
    billing, _ = BillingAccount.objects.get_or_create(workspace=workspace)
    return billing


def billing_record_trade(*, workspace_id: int) -> None:
    """Count one executed trade against the workspace's plan (atomic increment)."""
    updated = BillingAccount.objects.filter(workspace_id=workspace_id).update(
        trades_count=F("trades_count") + 1
    )
    if not updated:
        BillingAccount.objects.get_or_create(workspace_id=workspace_id)
        BillingAccount.objects.filter(workspace_id=workspace_id).update(
            trades_count=F("trades_count") + 1
        )
