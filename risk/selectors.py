"""Risk figures for pages and the API: what is left before each limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brokers.models import BrokerAccount, Position
from risk.models import RiskConfig, RiskState
from risk.services import contracts_open

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
