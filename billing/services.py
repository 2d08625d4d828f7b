"""The trial's count and the entry allowance: what may open a position now.

Exits never ask: billing, plan limits and the trial's end refuse new entries
only, so a trader is never trapped in a position by a card or a counter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db.models import F

from accounts.models import ApiToken, User, Workspace
from accounts.tokens import token_issue
from billing.models import BillingAccount, Plan
from billing.quotas import feature_check
from billing.selectors import (
    USAGE,
    billing_account_of,
    billing_enabled,
    billing_status,
)
from brokers.models import Venue


class _Account(Protocol):
    workspace_id: int
    venue: str


@dataclass(frozen=True)
class Denial:
    """Why a new entry may not open: a machine code and a sentence."""

    code: str
    message: str


PLANS_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "plans.json"


def plans_load_defaults() -> int:
    """Create the default plans (billing/fixtures/plans.json) that are missing,
    by code; staff's edits to existing ones are kept. Returns how many it made."""
    made = 0
    for row in json.loads(PLANS_FIXTURE.read_text()):
        fields = dict(row["fields"])
        _, created = Plan.objects.get_or_create(
            code=fields.pop("code"), defaults=fields
        )
        made += created
    return made


def billing_account_ensure(*, workspace: Workspace) -> BillingAccount:
    billing, _ = BillingAccount.objects.get_or_create(workspace=workspace)
    return billing


def billing_record_trade(*, workspace_id: int) -> None:
    """Count one filled trade against the workspace's plan (atomic increment).

    Called once per execution, by the guarded update that finishes it FILLED."""
    updated = BillingAccount.objects.filter(workspace_id=workspace_id).update(
        trades_count=F("trades_count") + 1
    )
    if not updated:
        BillingAccount.objects.get_or_create(workspace_id=workspace_id)
        BillingAccount.objects.filter(workspace_id=workspace_id).update(
            trades_count=F("trades_count") + 1
        )


def entry_allowance(
    *,
    workspace_id: int,
    account: _Account | None = None,
    fanout_rank: Callable[[], int] | None = None,
    in_flight: Callable[[], int] | None = None,
) -> Denial | None:
    """None when a new entry may open; else the Denial.

    `account` adds its venue and the workspace's account count to the judgement,
    `fanout_rank` (counts 0 for an alert's first account) the plan's fan-out, and
    `in_flight` (the entries judged and not yet finished) keeps a trial's last
    trades from being taken twice: then call it inside the caller's transaction,
    which locks the billing row until it commits, so that fanned-out executions
    judged side by side count one another.
    """
    if not billing_enabled():
        return None  # self-hosted: unlimited, and no query on the hot path
    row = billing_account_of(workspace_id)
    trialing = row.pk is not None and row.status == BillingAccount.Status.TRIALING
    if in_flight is not None and trialing:
        # Locked till the caller commits: the count below must hold until then.
        # Only a trial counts trades; a paid plan's entries never wait here.
        locked = BillingAccount.objects.select_for_update(of=("self",))
        row = locked.select_related("plan").get(pk=row.pk)
    status = billing_status(workspace_id, billing=row)
    if not status.can_trade:
        return Denial(status.code, status.reason)
    if (
        trialing
        and in_flight
        and row.trades_count + in_flight() >= settings.TRIAL_TRADES
    ):
        return Denial(
            "trial-expired",
            f"The trial's {settings.TRIAL_TRADES} trades are taken by the fills "
            "and orders before this one: choose a plan to keep opening positions.",
        )
    if account is None or status.plan_in_force is None:
        return None
    return _plan_denial(status.plan_in_force, account, fanout_rank)


def _plan_denial(
    plan: Plan, account: _Account, fanout_rank: Callable[[], int] | None
) -> Denial | None:
    if account.venue != Venue.PAPER and not plan.live_brokers:
        return Denial(
            "plan-limit:venues",
            f"The {plan.name} plan trades the paper broker only: upgrade the plan "
            "to open positions at a live broker.",
        )
    if (
        fanout_rank is not None
        and plan.max_fanout is not None
        and fanout_rank() >= plan.max_fanout
    ):
        return Denial(
            "plan-limit:fanout",
            f"The {plan.name} plan opens positions on {plan.max_fanout} "
            f"account{'s' if plan.max_fanout != 1 else ''} per alert and this is "
            "one more: upgrade the plan to copy to every account.",
        )
    if plan.max_accounts is not None:
        held = USAGE["accounts"](account.workspace_id)
        if held > plan.max_accounts:
            extra = held - plan.max_accounts
            return Denial(
                "plan-limit:accounts",
                f"The {plan.name} plan holds {plan.max_accounts} accounts and this "
                f"workspace has {held}: remove {extra} (or upgrade) to open "
                "positions again.",
            )
    return None


def api_token_issue(
    *, user: User, workspace_id: int, name: str, scope: str, days: int
) -> tuple[ApiToken, str]:
    """A personal API token, when the workspace's plan includes the API.

    Raises PlanLimit without it, TooManyTokensError past the user's tokens. A
    token already issued keeps working after a downgrade: it may close."""
    feature_check(workspace_id=workspace_id, feature="api_access", label="The API")
    return token_issue(user=user, name=name, scope=scope, days=days)
