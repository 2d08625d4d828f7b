"""Signal targets beyond one account: strategies (seed 004 "bots") with their
subscriptions and heartbeats, account groups and their trades (through the
signal pipeline: logged, risk-checked, executed like an alert)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.scoping import admin_emails
from billing.quotas import PlanLimit, plan_limit_of, quota_check
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.services import account_flatten
from common.realtime import broadcast
from webhooks.execution.submit import signal_submit
from webhooks.intake.intents import ParseError
from webhooks.intake.keys import api_key_issue
from webhooks.models import AccountGroup, Signal, Strategy, Subscription, Timeframe

log = logging.getLogger(__name__)


class TargetError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def strategy_create(
    *,
    workspace: Workspace,
    user: User | None,
    name: str,
    description: str = "",
    manual_approval: bool = False,
    heartbeat_minutes: int | None = None,
    base_name: str = "",
    timeframe: str = "",
) -> tuple[Strategy, str]:
    """A strategy with its signing secret and first ingest key (returned once).

    Raises TargetError: `invalid-name`, `invalid-timeframe`, or `name-taken` when
    the workspace has a strategy of that name (alerts name it as "botname");
    QuotaExceeded past the workspace's strategies or keys.
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise TargetError(
            "invalid-name", "A strategy needs a name of 1 to 64 characters."
        )
    if timeframe and timeframe not in Timeframe.values:
        raise TargetError(
            "invalid-timeframe",
            f"Unknown timeframe {timeframe[:8]!r}: {', '.join(Timeframe.values)}.",
        )
    try:
        with transaction.atomic():
            quota_check(
                workspace_id=workspace.pk,
                kind="strategies",
                used=Strategy.objects.filter(workspace=workspace).count,
            )
            strategy = Strategy.objects.create(
                workspace=workspace,
                name=name,
                description=description,
                manual_approval=manual_approval,
                heartbeat_minutes=heartbeat_minutes,
                base_name=base_name.strip()[:32],
                timeframe=timeframe,
                signing_secret=secrets.token_urlsafe(32),
            )
            _, plain = api_key_issue(strategy=strategy, created_by=user, name="Default")
    except IntegrityError:
        raise TargetError(
            "name-taken", f"A strategy named {name!r} exists already."
        ) from None
    return strategy, plain


def subscription_save(
    *,
    strategy: Strategy,
    account: BrokerAccount,
    enabled: bool = True,
    multiplier: Decimal = Decimal(1),
    max_quantity: Decimal | None = None,
    allowed_sides: str = Subscription.Sides.BOTH,
    symbol_map: dict[str, str] | None = None,
) -> Subscription:
    """Subscribe `account` to `strategy` (or update its overrides)."""
    if account.workspace_id != strategy.workspace_id:
        raise ValueError("The account and the strategy belong to other workspaces.")
    subscription, _ = Subscription.objects.update_or_create(
        strategy=strategy,
        account=account,
        defaults={
            "enabled": enabled,
            "multiplier": multiplier,
            "max_quantity": max_quantity,
            "allowed_sides": allowed_sides,
            "symbol_map": {k.upper(): v.upper() for k, v in (symbol_map or {}).items()},
        },
    )
    return subscription


def account_group_create(
    *,
    workspace: Workspace,
    user: User | None,
    name: str,
    accounts: list[BrokerAccount],
    description: str = "",
) -> tuple[AccountGroup, str]:
    """A group of the workspace's accounts, with a key that targets all of them.

    Raises TargetError `name-taken` when the workspace has a group of that name,
    QuotaExceeded past the workspace's groups or keys.
    """
    try:
        with transaction.atomic():
            quota_check(
                workspace_id=workspace.pk,
                kind="groups",
                used=AccountGroup.objects.filter(workspace=workspace).count,
            )
            group = AccountGroup.objects.create(
                workspace=workspace,
                name=name,
                description=description,
                signing_secret=secrets.token_urlsafe(32),
            )
            group.accounts.set([a for a in accounts if a.workspace_id == workspace.pk])
            _, plain = api_key_issue(group=group, created_by=user, name="Default")
    except IntegrityError:
        raise TargetError("name-taken", f"A group named {name!r} exists.") from None
    return group, plain


def strategies_heartbeat_check() -> list[Strategy]:
    """Mark (once) and announce strategies whose alerts stopped arriving."""
    now = timezone.now()
    missed = []
    candidates = Strategy.objects.filter(
        status=Strategy.Status.ACTIVE,
        heartbeat_minutes__isnull=False,
        heartbeat_missed_at__isnull=True,
    )
    for strategy in candidates:
        assert strategy.heartbeat_minutes is not None
        last = strategy.last_signal_at or strategy.created_at
        if now - last < timedelta(minutes=strategy.heartbeat_minutes):
            continue
        if not Strategy.objects.filter(
            pk=strategy.pk, heartbeat_missed_at__isnull=True
        ).update(heartbeat_missed_at=now):
            continue
        missed.append(strategy)
        _heartbeat_notify(strategy, last)
    return missed


def _heartbeat_notify(strategy: Strategy, last: datetime) -> None:
    log.warning("strategy %s: no alert since %s", strategy.pk, last.isoformat())
    broadcast(
        strategy.workspace_id,
        {
            "type": "strategy.heartbeat",
            "strategy_id": strategy.pk,
            "name": strategy.name,
            "last_signal_at": last.isoformat(),
        },
    )
    emails = admin_emails(strategy.workspace_id)
    if emails:
        send_mail(
            f"TradeFlow: no alerts from {strategy.name}",
            f"Your strategy {strategy.name!r} expects an alert at least every "
            f"{strategy.heartbeat_minutes} minutes; the last one arrived at "
            f"{last:%Y-%m-%d %H:%M} UTC. Check the TradingView alert: it may have "
            "stopped or expired.",
            None,
            emails,
            fail_silently=True,
        )


def strategy_update(
    *,
    strategy: Strategy,
    status: str,
    description: str,
    manual_approval: bool,
    heartbeat_minutes: int | None,
) -> Strategy:
    """Change a strategy's settings. Turning the heartbeat off clears its warning;
    a paused or stopped strategy's alerts are logged and refused at intake."""
    strategy.status = status
    strategy.description = description
    strategy.manual_approval = manual_approval
    strategy.heartbeat_minutes = heartbeat_minutes
    if heartbeat_minutes is None:
        strategy.heartbeat_missed_at = None
    strategy.save(
        update_fields=[
            "status",
            "description",
            "manual_approval",
            "heartbeat_minutes",
            "heartbeat_missed_at",
        ]
    )
    return strategy


def subscription_remove(*, subscription: Subscription) -> None:
    """Stop an account following a strategy; its past executions stay logged."""
    Subscription.objects.filter(pk=subscription.pk).delete()


def strategies_stop(*, workspaces: QuerySet[Workspace]) -> int:
    """Stop every strategy of these workspaces (the kill switch); how many."""
    return (
        Strategy.objects.filter(workspace__in=workspaces)
        .exclude(status=Strategy.Status.STOPPED)
        .update(status=Strategy.Status.STOPPED)
    )


def strategy_status_set(*, strategy: Strategy, status: str) -> Strategy:
    """ACTIVE, PAUSED or STOPPED (seed 004 spells them in capitals)."""
    value = status.strip().lower()
    if value not in Strategy.Status.values:
        raise TargetError(
            "invalid-status",
            f"Unknown status {status[:20]!r}: ACTIVE, PAUSED, STOPPED.",
        )
    Strategy.objects.filter(pk=strategy.pk).update(status=value)
    strategy.status = value
    broadcast(
        strategy.workspace_id,
        {"type": "strategy.status", "strategy_id": strategy.pk, "status": value},
    )
    return strategy


def subscription_end(*, strategy: Strategy, account: BrokerAccount) -> bool:
    deleted, _ = Subscription.objects.filter(
        strategy=strategy, account=account
    ).delete()
    return bool(deleted)


@dataclass(frozen=True)
class Termination:
    accounts: int
    positions: int
    errors: list[dict[str, str]]


def accounts_terminate(*, accounts: list[BrokerAccount]) -> Termination:
    """Cancel every working order and close every position on each account."""
    done = positions = 0
    errors = []
    for account in accounts:
        try:
            flattened = account_flatten(account=account)
        except VenueError as exc:
            errors.append(
                {"account_id": str(account.pk), "code": exc.code, "detail": exc.message}
            )
            continue
        done += 1
        positions += flattened.positions_closed
    return Termination(done, positions, errors)


@transaction.atomic
def account_group_update(
    *, group: AccountGroup, values: dict[str, Any], accounts: list[BrokerAccount] | None
) -> AccountGroup:
    """Change a group's description, risk settings and (when given) its accounts."""
    for name in ("description", "max_drawdown", "target_monthly_roi", "risk_limit"):
        if name in values:
            setattr(group, name, values[name])
    group.save()
    if accounts is not None:
        group.accounts.set(
            [a for a in accounts if a.workspace_id == group.workspace_id]
        )
    return group


def group_order(
    *, group: AccountGroup, user: User, body: dict[str, Any], source_ip: str | None
) -> Signal:
    """`POST /trading/group/{id}/execute` (seed 004): size by `risk_percentage` of
    each account's equity (times `leverage`), with an optional take-profit."""
    percent = Decimal(str(body.get("risk_percentage") or 0))
    leverage = Decimal(str(body.get("leverage") or 1))
    data: dict[str, Any] = {
        "action": body.get("side"),
        "symbol": body.get("symbol"),
        "order_type": body.get("order_type") or "market",
        "price": body.get("price"),
        "take_profit": body.get("take_profit") or None,
        "stop_loss": body.get("stop_loss") or None,
    }
    if body.get("quantity"):
        data["quantity"] = body["quantity"]
    else:
        data["quantity"] = str(percent * max(leverage, Decimal(1)))
        data["quantity_type"] = "percent_of_equity"
    try:
        return signal_submit(
            user=user,
            data={k: v for k, v in data.items() if v is not None},
            group=group,
            source_ip=source_ip,
        )
    except ParseError as exc:
        raise TargetError(exc.code, exc.message) from None


def strategy_activate(*, strategy: Strategy, active: bool) -> Strategy:
    """Seed 002's activate / deactivate: ACTIVE, or PAUSED (its alerts are logged
    and refused), through `strategy_status_set`.

    Activating is refused (PlanLimit) when the workspace already runs as many
    active strategies as its plan holds (a downgrade can leave it holding more);
    the workspace row is locked meanwhile, so two activations cannot both take
    the last place. Pausing is never refused.
    """
    if not active:
        return strategy_status_set(strategy=strategy, status=Strategy.Status.PAUSED)
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=strategy.workspace_id).exists()
        _plan_runs_one_more(strategy)
        return strategy_status_set(strategy=strategy, status=Strategy.Status.ACTIVE)


def _plan_runs_one_more(strategy: Strategy) -> None:
    planned = plan_limit_of(strategy.workspace_id, "strategies")
    if planned is None:
        return
    limit, plan_name = planned
    others = Strategy.objects.filter(
        workspace_id=strategy.workspace_id, status=Strategy.Status.ACTIVE
    ).exclude(pk=strategy.pk)
    if others.count() >= limit:
        raise PlanLimit(
            "strategies",
            limit,
            plan_name,
            f"The {plan_name} plan runs {limit} strategies at once: pause one or "
            f"upgrade the plan to activate {strategy.name}.",
        )
