"""What a workspace's plan allows now, and what it uses of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Workspace
from billing.models import BillingAccount, Interval, Plan

# How many of a kind a workspace holds, by kind: apps above billing register
# theirs (webhooks counts strategies), so billing never imports them.
USAGE: dict[str, Callable[[int], int]] = {}
# The plan field that limits each counted kind.
LIMIT_FIELDS = {"accounts": "max_accounts", "strategies": "max_strategies"}


def usage_counter(kind: str) -> Callable[[Callable[[int], int]], Callable[[int], int]]:
    """Register `count(workspace_id)` for `kind` (see USAGE)."""

    def register(count: Callable[[int], int]) -> Callable[[int], int]:
        USAGE[kind] = count
        return count

    return register


@usage_counter("accounts")
def _accounts(workspace_id: int) -> int:
    from brokers.models import BrokerAccount

    return BrokerAccount.objects.filter(workspace_id=workspace_id).count()


def billing_usage(workspace_id: int) -> dict[str, dict[str, int | None]]:
    """Each counted kind: how many the workspace holds, and the plan's most
    (None: no limit, or billing off)."""
    billing = billing_account_of(workspace_id)
    plan = plan_in_force(billing) if billing_enabled() else None
    usage: dict[str, dict[str, int | None]] = {}
    for kind, count in sorted(USAGE.items()):
        used = count(workspace_id)
        limit = getattr(plan, LIMIT_FIELDS[kind]) if plan else None
        over = max(used - limit, 0) if limit is not None else 0
        usage[kind] = {"used": used, "limit": limit, "over": over}
    return usage


def billing_enabled() -> bool:
    """Billing is on when Stripe's secret key for the mode is set; without it the
    instance is self-hosted and unlimited."""
    if settings.STRIPE_LIVE_MODE:
        return bool(settings.STRIPE_LIVE_SECRET_KEY)
    return bool(settings.STRIPE_TEST_SECRET_KEY)


def plans_public() -> list[Plan]:
    return list(Plan.objects.filter(public=True))


def plan_by_code(code: str) -> Plan | None:
    return Plan.objects.filter(code=code).first()


def plan_for_price(price: dict[str, Any]) -> tuple[Plan, str] | None:
    """The plan and interval a Stripe price (as Stripe sends it) sells, if any:
    one of the plan's prices, or an older price of the plan's product (after a
    price change its subscribers keep the old one)."""
    price_id = str(price.get("id") or "")
    product = price.get("product")
    product_id = str(product.get("id") if isinstance(product, dict) else product or "")
    interval = str((price.get("recurring") or {}).get("interval") or "")
    for plan in Plan.objects.all():
        if price_id and price_id == plan.stripe_price_monthly:
            return plan, Interval.MONTH
        if price_id and price_id == plan.stripe_price_yearly:
            return plan, Interval.YEAR
        same_product = bool(product_id) and product_id == plan.stripe_product
        if same_product and interval in Interval.values:
            return plan, interval
    return None


def billing_account_of(workspace_id: int) -> BillingAccount:
    billing = BillingAccount.objects.select_related("plan").filter(
        workspace_id=workspace_id
    )
    found = billing.first()
    # Made with the workspace (billing.receivers); absent only in old data.
    return found if found is not None else BillingAccount(workspace_id=workspace_id)


def plan_allows(workspace_id: int, feature: str) -> bool:
    """Whether the workspace's plan has `feature` (a Plan boolean); with billing
    off, everything."""
    if not billing_enabled():
        return True
    plan = plan_in_force(billing_account_of(workspace_id))
    return plan is not None and bool(getattr(plan, feature))


def plan_in_force(billing: BillingAccount) -> Plan | None:
    """The plan whose limits apply: the subscribed one (while it is paid or in
    its grace), the trial's during the trial, none once it ended."""
    if billing.status == BillingAccount.Status.TRIALING:
        return Plan.objects.filter(trial=True).first()
    if billing.status == BillingAccount.Status.CANCELED:
        return None
    return billing.plan


@dataclass(frozen=True)
class BillingStatus:
    """What the pages and `GET /api/billing/status` say of a workspace's plan."""

    enabled: bool
    plan: str
    plan_name: str
    status: str
    can_trade: bool
    code: str
    reason: str
    trades_count: int
    trial_trades_remaining: int | None
    days_remaining: int | None
    trial_ends_at: datetime | None = None
    grace_ends_at: datetime | None = None
    interval: str = ""
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    warning: str = ""
    limits: dict[str, Any] = field(default_factory=dict)
    # The plan whose limits apply (not part of the API's answer).
    plan_in_force: Plan | None = field(default=None, compare=False, repr=False)


def _days_left(until: datetime) -> int:
    seconds = (until - timezone.now()).total_seconds()
    return max(int(seconds // 86400) + (1 if seconds % 86400 else 0), 0)


def plan_limits(plan: Plan | None) -> dict[str, Any]:
    if plan is None:
        return {}
    return {
        "accounts": plan.max_accounts,
        "strategies": plan.max_strategies,
        "fanout": plan.max_fanout,
        "live_brokers": plan.live_brokers,
        "notifications": plan.notifications,
        "api_access": plan.api_access,
        "white_label": plan.white_label,
    }


def billing_status(
    workspace: Workspace | int, billing: BillingAccount | None = None
) -> BillingStatus:
    """The workspace's plan and whether it may open positions (exits always may).

    Without Stripe keys the answer is always "may", on an unlimited plan; the
    trial is still counted, so that turning billing on later starts fair.
    `billing`: the workspace's row when the caller has read (or locked) it.
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    billing = billing or billing_account_of(workspace_id)
    if not billing_enabled():
        return BillingStatus(
            False, "unlimited", "Unlimited", "unlimited", True, "", "",
            billing.trades_count, None, None,
        )  # fmt: skip
    if billing.status == BillingAccount.Status.TRIALING:
        return _trial_status(billing)
    plan = billing.plan
    in_force = plan_in_force(billing)
    status = BillingStatus(
        enabled=True,
        plan=plan.code if plan else "none",
        plan_name=plan.name if plan else "No plan",
        status=billing.status,
        can_trade=True,
        code="",
        reason="",
        trades_count=billing.trades_count,
        trial_trades_remaining=None,
        days_remaining=None,
        interval=billing.interval,
        current_period_end=billing.current_period_end,
        cancel_at_period_end=billing.cancel_at_period_end,
        limits=plan_limits(in_force),
        plan_in_force=in_force,
    )
    return _judged(status, billing)


def _trial_status(billing: BillingAccount) -> BillingStatus:
    trades_left = max(settings.TRIAL_TRADES - billing.trades_count, 0)
    ends = billing.trial_ends_at
    expired = trades_left == 0 or ends <= timezone.now()
    plan = plan_in_force(billing)
    return BillingStatus(
        enabled=True,
        plan="trial",
        plan_name=f"Trial of {plan.name}" if plan else "Trial",
        status=billing.status,
        can_trade=not expired,
        code="trial-expired" if expired else "",
        reason=(
            "The trial has ended: choose a plan to keep opening positions "
            "(closing them always works)."
            if expired
            else ""
        ),
        trades_count=billing.trades_count,
        trial_trades_remaining=trades_left,
        days_remaining=_days_left(ends),
        trial_ends_at=ends,
        limits=plan_limits(plan),
        plan_in_force=plan,
    )


def _judged(status: BillingStatus, billing: BillingAccount) -> BillingStatus:
    if billing.status == BillingAccount.Status.CANCELED:
        return replace(
            status,
            can_trade=False,
            code="subscription-ended",
            reason=(
                "The subscription has ended: choose a plan to keep opening "
                "positions (closing them always works)."
            ),
        )
    grace_ends = billing.grace_ends_at
    if billing.status != BillingAccount.Status.PAST_DUE or grace_ends is None:
        return status
    if grace_ends <= timezone.now():
        return replace(
            status,
            can_trade=False,
            code="payment-past-due",
            reason=(
                "The last payment failed and its grace period is over: update the "
                "card to keep opening positions (closing them always works)."
            ),
            grace_ends_at=grace_ends,
        )
    days = _days_left(grace_ends)
    return replace(
        status,
        grace_ends_at=grace_ends,
        warning=(
            f"The last payment failed: update the card within {days} "
            f"day{'s' if days != 1 else ''}, or new positions stop then."
        ),
    )
