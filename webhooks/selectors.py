"""Reads for signals, strategies and executions, always tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from accounts.permissions import Perm
from accounts.scoping import AnyUser, user_can
from brokers.models import BrokerAccount
from webhooks.models import ApiKey, Execution, Signal, Strategy


def recent_signals_for_user(user: AnyUser, limit: int = 20) -> QuerySet[Signal]:
    signals = Signal.objects.for_user(user)
    return signals.select_related("account", "strategy", "group")[:limit]


# --- Strategies ---------------------------------------------------------------------


def strategies_for_user(user: AnyUser) -> QuerySet[Strategy]:
    return Strategy.objects.for_user(user).annotate(
        accounts_count=Count("subscriptions", distinct=True),
        enabled_count=Count(
            "subscriptions", filter=Q(subscriptions__enabled=True), distinct=True
        ),
    )


def strategies_listed_for_user(user: AnyUser) -> QuerySet[Strategy]:
    """`strategies_for_user` with what a list shows of each webhook: the newest
    live key's prefix (`key_prefix`) and the accounts following it."""
    live_keys = ApiKey.objects.filter(
        strategy=OuterRef("pk"), account=None, group=None, revoked_at__isnull=True
    ).order_by("-created_at", "-pk")
    return (
        strategies_for_user(user)
        .annotate(key_prefix=Subquery(live_keys.values("prefix")[:1]))
        .prefetch_related("subscriptions")
        .order_by("workspace_id", "name")
    )


def strategy_for_user_or_404(
    user: AnyUser, pk: int, perm: Perm = Perm.VIEW
) -> Strategy:
    """The strategy if the user sees it (else 404) and may `perm` it (else 403)."""
    strategy = Strategy.objects.for_user(user).filter(pk=pk).first()
    if strategy is None:
        raise Http404("Strategy not found.")
    if not user_can(user, strategy.workspace, perm):
        raise PermissionDenied
    return strategy


def strategy_keys(strategy: Strategy) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(strategy=strategy).select_related("created_by")


def active_key_prefix(
    *, strategy: Strategy | None = None, account: BrokerAccount | None = None
) -> str | None:
    """The newest live key's prefix, to show which key a URL needs."""
    keys = ApiKey.objects.filter(
        strategy=strategy, account=account, group=None, revoked_at__isnull=True
    )
    return keys.values_list("prefix", flat=True).first()


# --- Signals and executions ---------------------------------------------------------


def signals_for_user(user: AnyUser, filters: dict[str, Any]) -> QuerySet[Signal]:
    """The signal log, newest first, narrowed by the filter form's cleaned data."""
    signals = Signal.objects.for_user(user).select_related(
        "account", "strategy", "group"
    )
    if filters.get("status"):
        signals = signals.filter(status=filters["status"])
    if filters.get("error_code"):
        code = filters["error_code"].strip()
        signals = signals.filter(
            Q(error_code__icontains=code) | Q(executions__error_code__icontains=code)
        )
    if filters.get("strategy"):
        signals = signals.filter(strategy=filters["strategy"])
    if filters.get("account"):
        account = filters["account"]
        signals = signals.filter(Q(account=account) | Q(executions__account=account))
    since: date | None = filters.get("since")
    until: date | None = filters.get("until")
    if since:
        signals = signals.filter(received_at__date__gte=since)
    if until:
        signals = signals.filter(received_at__date__lte=until)
    executions = Execution.objects.select_related("account").order_by("account__name")
    return signals.distinct().prefetch_related(
        Prefetch("executions", queryset=executions)
    )


def signal_for_user_or_404(user: AnyUser, pk: int) -> Signal:
    signal = (
        Signal.objects.for_user(user)
        .select_related("account", "strategy", "group", "api_key")
        .filter(pk=pk)
        .first()
    )
    if signal is None:
        raise Http404("Signal not found.")
    return signal


def signal_executions(signal: Signal) -> QuerySet[Execution]:
    return (
        signal.executions.select_related("account", "decided_by")
        .prefetch_related("orders")
        .order_by("account__name")
    )


def execution_for_user_or_404(
    user: AnyUser, pk: int, perm: Perm = Perm.VIEW
) -> Execution:
    """The execution if the user sees it (else 404) and may `perm` it (else 403)."""
    execution = (
        Execution.objects.for_user(user)
        .select_related("account", "workspace")
        .filter(pk=pk)
        .first()
    )
    if execution is None:
        raise Http404("Execution not found.")
    if not user_can(user, execution.workspace, perm):
        raise PermissionDenied
    return execution


def awaiting_executions_for_user(user: AnyUser) -> QuerySet[Execution]:
    """Executions waiting on a trader's decision (strategies in approval mode)."""
    return (
        Execution.objects.for_user(user)
        .filter(status=Execution.Status.AWAITING)
        .select_related("signal", "signal__strategy", "account")
        .order_by("created_at")
    )


@dataclass(frozen=True)
class Phase:
    name: str
    ms: int | None  # None: the phase has not happened (or was skipped)


PHASES = ("queued", "started", "risk checked", "sent", "acknowledged", "filled")


def execution_phases(signal: Signal, execution: Execution) -> list[Phase]:
    """Time spent reaching each step from the step before that happened, then the
    total from receipt to the execution's end. Acknowledged and filled both count
    from the send: a venue that fills at once reports the fill before the reply."""
    moments = {
        "received": signal.received_at,
        "queued": signal.queued_at,
        "started": execution.started_at,
        "risk checked": execution.risk_checked_at,
        "sent": execution.sent_at,
        "acknowledged": execution.acknowledged_at,
        "filled": execution.filled_at,
    }
    steps = list(moments)
    phases = []
    for name in PHASES:
        before = steps[: steps.index("sent" if name == "filled" else name)]
        start = next(m for m in reversed([moments[s] for s in before]) if m)
        phases.append(Phase(name, _ms(start, moments[name])))
    phases.append(Phase("total", _ms(signal.received_at, execution.finished_at)))
    return phases


def _ms(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else round((end - start).total_seconds() * 1000)
