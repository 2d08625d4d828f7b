"""How much one workspace may hold: accounts, webhook keys, strategies, groups.

Two ceilings: the instance's (settings WORKSPACE_MAX_*), so that one tenant
cannot fill the queues and tables everyone shares, and the plan's (billing on).
Past either, new ones are refused; never an exit, a flatten or the kill switch.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from accounts.models import Workspace
from billing.selectors import (
    LIMIT_FIELDS,
    billing_account_of,
    billing_enabled,
    plan_allows,
    plan_in_force,
)
from brokers.models import Venue

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


class PlanLimit(QuotaExceeded):
    """The plan's ceiling, not the instance's: an upgrade lifts it."""

    def __init__(
        self, kind: str, limit: int, plan_name: str, message: str = ""
    ) -> None:
        super().__init__(kind, limit)
        self.code = f"plan-limit:{kind}"
        self.message = message or (
            f"The {plan_name} plan holds {limit} {kind}: remove one or upgrade "
            "the plan before adding another."
        )
        self.args = (self.message,)


def plan_limit_of(workspace_id: int, kind: str) -> tuple[int, str] | None:
    """The plan's most `kind` and the plan's name, when billing limits it."""
    if not billing_enabled() or kind not in LIMIT_FIELDS:
        return None
    plan = plan_in_force(billing_account_of(workspace_id))
    if plan is None:
        return None  # no plan: entries stop (billing_status); holding is free
    limit = getattr(plan, LIMIT_FIELDS[kind])
    return None if limit is None else (int(limit), plan.name)


def quota_check(*, workspace_id: int, kind: str, used: Callable[[], int]) -> None:
    """Raise QuotaExceeded (or PlanLimit) when the workspace has its most `kind`.

    Locks the workspace's row for the caller's transaction first, so two
    requests at once cannot both take the last place; `used` counts after.
    """
    limit: int = getattr(settings, KINDS[kind])
    planned = plan_limit_of(workspace_id, kind)
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace_id).exists()
        count = used()
        if planned is not None and count >= planned[0] and planned[0] < limit:
            raise PlanLimit(kind, planned[0], planned[1])
        if count >= limit:
            raise QuotaExceeded(kind, limit)


def venue_check(*, workspace_id: int, venue: str) -> None:
    """Raise PlanLimit when the plan allows the paper broker only."""
    if venue == Venue.PAPER or not billing_enabled():
        return
    plan = plan_in_force(billing_account_of(workspace_id))
    if plan is not None and not plan.live_brokers:
        raise PlanLimit(
            "venues",
            0,
            plan.name,
            f"The {plan.name} plan trades the paper broker only: upgrade the plan "
            "to connect a live broker.",
        )


def feature_check(*, workspace_id: int, feature: str, label: str) -> None:
    """Raise PlanLimit when the plan in force lacks `feature` (a Plan boolean)."""
    if plan_allows(workspace_id, feature):
        return
    plan = plan_in_force(billing_account_of(workspace_id))
    name = plan.name if plan is not None else "current"
    raise PlanLimit(
        feature.replace("_", "-"),
        0,
        name,
        f"{label} is not part of the {name} plan: upgrade the plan to use it.",
    )
