"""Risk figures for pages and the API: what is left before each limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from accounts.scoping import AnyUser
from brokers.models import BrokerAccount, Position
from risk.models import EconomicEvent, RiskConfig, RiskState
from risk.services import IMPACTS, contracts_open

ZERO = Decimal(0)


def risk_metrics(account: BrokerAccount) -> dict[str, Any]:
    """Equity, today's P&L, the floor and the room left before every limit."""
    config = RiskConfig.objects.filter(account=account).first()
    state = RiskState.objects.filter(account=account).first()
    equity = state.equity if state else account.equity
    day_pnl = (
        equity - state.day_start_balance
        if state and equity is not None and state.day_start_balance is not None
        else None
    )
    contracts = (
        contracts_open(config, account)
        if config
        else sum(
            (
                abs(q)
                for q in Position.objects.filter(account=account).values_list(
                    "quantity", flat=True
                )
            ),
            ZERO,
        )
    )
    body: dict[str, Any] = {
        "account_id": account.pk,
        "status": account.status,
        "balance": account.balance,
        "equity": equity,
        "trading_day": state.trading_day if state else None,
        "day_pnl": day_pnl,
        "floor": state.floor if state else None,
        "distance_to_floor": None,
        "daily_loss_remaining": None,
        "contracts_in_use": contracts,
        "max_contracts": config.max_contracts if config else None,
        "trades_today": state.trades_today if state else 0,
        "trades_left": None,
        "profit_target": config.profit_target if config else None,
        "target_reached_at": state.target_reached_at if state else None,
        "locked_until": state.locked_until if state else None,
        "measured_at": state.updated_at if state else None,
    }
    if state and state.floor is not None and equity is not None:
        body["distance_to_floor"] = equity - state.floor
    if config and config.daily_loss_limit is not None and day_pnl is not None:
        body["daily_loss_remaining"] = config.daily_loss_limit + day_pnl
    if config and config.max_trades_per_day is not None:
        body["trades_left"] = max(config.max_trades_per_day - body["trades_today"], 0)
    return body


# --- The economic calendar ------------------------------------------------------------


def economic_events(
    *,
    start: datetime,
    end: datetime,
    impacts: list[str] | None = None,
    currencies: list[str] | None = None,
) -> QuerySet[EconomicEvent]:
    """Events from `start` up to (not including) `end`, soonest first."""
    events = EconomicEvent.objects.filter(at__gte=start, at__lt=end)
    if impacts:
        events = events.filter(impact__in=impacts)
    if currencies:
        events = events.filter(currency__in=currencies)
    return events.order_by("at", "pk")


@dataclass(frozen=True)
class NewsRule:
    """One account's news blackout, as `risk_check` applies it."""

    account_id: int
    account_name: str
    minutes: int
    impacts: tuple[str, ...]
    flatten_before: bool


@dataclass(frozen=True)
class Blackout:
    account_id: int
    account_name: str
    starts_at: datetime
    ends_at: datetime
    flatten_before: bool


def news_rules_for_user(user: AnyUser) -> list[NewsRule]:
    """The news blackouts of the accounts the user sees."""
    configs = (
        RiskConfig.objects.filter(
            account__in=BrokerAccount.objects.for_user(user),
            news_blackout_minutes__gt=0,
        )
        .select_related("account")
        .order_by("account_id")
    )
    return [
        NewsRule(
            account_id=config.account_id,
            account_name=config.account.name,
            minutes=config.news_blackout_minutes or 0,
            impacts=IMPACTS[config.news_min_impact],
            flatten_before=config.news_flatten_before,
        )
        for config in configs
    ]


def event_blackouts(event: EconomicEvent, rules: list[NewsRule]) -> list[Blackout]:
    """Where `event` stops new entries: every rule that heeds its impact, from
    `minutes` before it to `minutes` after (the risk check's span; its currency
    does not matter to the check, so not here either)."""
    return [
        Blackout(
            account_id=rule.account_id,
            account_name=rule.account_name,
            starts_at=event.at - timedelta(minutes=rule.minutes),
            ends_at=event.at + timedelta(minutes=rule.minutes),
            flatten_before=rule.flatten_before,
        )
        for rule in rules
        if event.impact in rule.impacts
    ]
