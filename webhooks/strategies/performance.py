"""Selectors: activity and balance figures for strategies and account groups.

Figures come from our own records (executions, fills, synced balances), so they
are the same for every venue. Realized P&L per trade lives with the venue records
(paper trades) and in the analytics pages, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from brokers.models import BrokerAccount, Fill, Position
from common.numbers import plain
from webhooks.models import AccountGroup, Execution, Strategy

ZERO = Decimal(0)
TRUNCS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _fills_summary(fills: QuerySet[Fill]) -> dict[str, Any]:
    totals = fills.aggregate(
        count=Count("pk"),
        volume=Sum("quantity"),
        notional=Sum(F("quantity") * F("price")),
        commission=Sum("commission"),
    )
    return {
        "fills": totals["count"],
        "volume": plain(totals["volume"] or ZERO),
        "notional": plain(totals["notional"] or ZERO),
        "commission": plain(totals["commission"] or ZERO),
    }


def strategy_fills(strategy: Strategy) -> QuerySet[Fill]:
    return Fill.objects.filter(order__executions__signal__strategy=strategy).distinct()


def strategy_metrics(strategy: Strategy) -> dict[str, Any]:
    outcomes = dict(
        Execution.objects.filter(signal__strategy=strategy)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "signals": strategy.signals.count(),
        "executions": outcomes,
        "last_signal_at": strategy.last_signal_at,
        **_fills_summary(strategy_fills(strategy)),
    }


def strategy_performance(strategy: Strategy) -> dict[str, Any]:
    """Seed 004 `/bots/{id}/performance`: last day, week, month, and per account."""
    now = timezone.now()
    fills = strategy_fills(strategy)
    periods = {
        name: _fills_summary(fills.filter(filled_at__gte=now - span))
        for name, span in (
            ("daily", timedelta(days=1)),
            ("weekly", timedelta(days=7)),
            ("monthly", timedelta(days=30)),
        )
    }
    accounts = {
        str(account.pk): _fills_summary(fills.filter(account=account))
        for account in strategy.accounts.all()
    }
    return {**periods, "accounts": accounts}


def _range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = timezone.now().date()
    first = start or today - timedelta(days=30)
    last = end or today
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last, time.max, tzinfo=UTC),
    )


def _balances(accounts: Iterable[BrokerAccount]) -> dict[str, Any]:
    rows = list(accounts)
    return {
        "accounts": len(rows),
        "balance": plain(sum((a.balance or ZERO for a in rows), ZERO)),
        "equity": plain(sum((a.equity or ZERO for a in rows), ZERO)),
    }


def group_performance(
    group: AccountGroup, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    first, last = _range(start, end)
    fills = Fill.objects.filter(
        account__in=group.accounts.all(), filled_at__range=(first, last)
    )
    return {
        **_balances(group.accounts.all()),
        **_fills_summary(fills),
        "start": first.isoformat(),
        "end": last.isoformat(),
    }


def group_metrics(group: AccountGroup) -> dict[str, Any]:
    accounts = list(group.accounts.all())
    open_positions = (
        Position.objects.filter(account__in=accounts).exclude(quantity=0).count()
    )
    return {
        "risk_metrics": {
            "max_drawdown": group.max_drawdown,
            "risk_limit": group.risk_limit,
            "target_monthly_roi": group.target_monthly_roi,
            "open_positions": open_positions,
            **_balances(accounts),
        },
        # No venue of this server streams account data over its own websocket.
        "websocket_health": {"status": "not-applicable"},
        "balance_status": {
            str(a.pk): {
                "balance": a.balance,
                "equity": a.equity,
                "last_sync_at": a.last_sync_at,
                "is_active": a.enabled,
            }
            for a in accounts
        },
    }


def group_history(
    group: AccountGroup,
    start: date | None = None,
    end: date | None = None,
    interval: str = "day",
) -> list[dict[str, Any]]:
    first, last = _range(start, end)
    rows = (
        Fill.objects.filter(
            account__in=group.accounts.all(), filled_at__range=(first, last)
        )
        .annotate(period=TRUNCS[interval]("filled_at"))
        .values("period")
        .annotate(
            fills=Count("pk"),
            volume=Sum("quantity"),
            commission=Sum("commission"),
        )
        .order_by("period")
    )
    return [
        {
            "period": row["period"].date().isoformat(),
            "fills": row["fills"],
            "volume": plain(row["volume"] or ZERO),
            "commission": plain(row["commission"] or ZERO),
        }
        for row in rows
    ]
