"""Signal targets beyond one account: strategy (bot) and account group services
used by the seed-004 API, and orders submitted for a target through the signal
pipeline (logged, risk-checked, executed on every account like an alert)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from brokers.adapters.base import VenueError
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount
from brokers.services import account_sync
from webhooks.execution import execution_run, signal_execute
from webhooks.models import AccountGroup, Execution, Signal, Strategy, Subscription
from webhooks.parsing import ParseError, intent_from_payload
from webhooks.services import resolve_symbol

log = logging.getLogger(__name__)


class TargetError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


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
            reports = get_adapter(account).flatten()
            account_sync(account=account)
        except VenueError as exc:
            errors.append(
                {"account_id": str(account.pk), "code": exc.code, "detail": exc.message}
            )
            continue
        done += 1
        positions += sum(1 for report in reports if report.status == "filled")
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


def signal_submit(
    *,
    user: User,
    data: dict[str, Any],
    strategy: Strategy | None = None,
    group: AccountGroup | None = None,
    account: BrokerAccount | None = None,
    source_ip: str | None = None,
) -> Signal:
    """An order for a target from the API, executed now on every target account.

    The same pipeline as an alert: a Signal row, the parse, per-account
    executions with risk checks and exactly-once client order ids.
    """
    target = strategy or group or account
    assert target is not None
    try:
        intent = intent_from_payload(data)
        if intent.symbol is not None:
            resolve_symbol(intent.symbol)
    except ParseError as exc:
        raise TargetError(exc.code, exc.message) from None
    now = timezone.now()
    signal = Signal.objects.create(
        workspace_id=target.workspace_id,
        strategy=strategy,
        group=group,
        account=account,
        broker="api",
        source_ip=source_ip,
        content_type="application/json",
        raw_body=json.dumps(data, default=str)[:65536],
        payload=intent.as_payload(),
        status=Signal.Status.QUEUED,
        http_status=200,
        received_at=now,
        queued_at=now,
    )
    log.info("signal %s submitted by user %s", signal.pk, user.pk)
    signal_execute(signal_id=signal.pk)
    for execution_id in Execution.objects.filter(
        signal=signal, status=Execution.Status.PENDING
    ).values_list("pk", flat=True):
        execution_run(execution_id=execution_id)
    signal.refresh_from_db()
    return signal


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
    return signal_submit(
        user=user,
        data={k: v for k, v in data.items() if v is not None},
        group=group,
        source_ip=source_ip,
    )
