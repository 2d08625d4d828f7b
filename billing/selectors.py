from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from accounts.models import Workspace
from billing.models import BillingAccount, Plan


@dataclass(frozen=True)
class BillingStatus:
    plan: str
    can_trade: bool
    reason: str
    trades_count: int
    trial_trades_remaining: int | None
    days_remaining: int | None


def billing_status(workspace: Workspace | int) -> BillingStatus:
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    billing = BillingAccount.objects.filter(workspace_id=workspace_id).first()
    if billing is None:  # created on workspace creation; absent only in old data
        billing = BillingAccount(workspace_id=workspace_id)
    if billing.plan != Plan.TRIAL:
        return BillingStatus(billing.plan, True, "", billing.trades_count, None, None)
    trades_left = max(settings.TRIAL_TRADES - billing.trades_count, 0)
    seconds_left = (billing.trial_ends_at - timezone.now()).total_seconds()
    days_left = max(int(seconds_left // 86400) + (1 if seconds_left % 86400 else 0), 0)
    expired = trades_left == 0 or seconds_left <= 0
    reason = "The trial has ended: choose a plan to keep trading." if expired else ""
    return BillingStatus(
        Plan.TRIAL, not expired, reason, billing.trades_count, trades_left, days_left
    )
