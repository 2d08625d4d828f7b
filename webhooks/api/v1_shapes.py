"""Seed 004's account answers (`/api/v1/accounts/...`): what an account is,
holds, made and is referred to by, and how its venue reaches us. No field of
any of them is a credential: the login stays encrypted on the row.

The schema constants below say the same thing to drf-spectacular.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from brokers.models import BrokerAccount, Position, Venue
from brokers.performance import RoundTrip, performance
from brokers.streaming import stream_state
from common.api import decimal_out

PERFORMANCE_DAYS = 30  # the list's and the detail's figures: the last 30 days
STREAMED = frozenset({Venue.PROJECTX, Venue.TRADOVATE})


def account_info(account: BrokerAccount) -> dict[str, Any]:
    error = None
    if account.error_code:
        error = {
            "code": account.error_code,
            "message": account.error_message,
            "at": account.error_at,
        }
    return {
        "id": str(account.pk),
        "name": account.name,
        "exchange": account.venue,
        "external_id": account.external_id,
        "mode": account.mode,
        "is_testnet": account.mode != BrokerAccount.Mode.LIVE,
        "currency": account.currency,
        "is_active": account.enabled,
        "status": account.status,
        "created_at": account.created_at,
        "error": error,
    }


def balances(account: BrokerAccount) -> dict[str, Any]:
    return {
        "balance": account.balance,
        "equity": account.equity,
        "currency": account.currency,
        "last_sync_at": account.last_sync_at,
    }


def positions(rows: Iterable[Position]) -> dict[str, Any]:
    held = [row for row in rows if row.quantity]
    return {
        "count": len(held),
        "open": [
            {
                "symbol": row.symbol,
                "side": row.side,
                "quantity": row.quantity,
                "avg_price": row.avg_price,
                "updated_at": row.updated_at,
            }
            for row in held
        ],
    }


def account_settings(account: BrokerAccount) -> dict[str, Any]:
    config = getattr(account, "risk_config", None)
    risk = None
    if config is not None:
        risk = {
            "preset": str(config.preset) if config.preset_id else None,
            "daily_loss_limit": config.daily_loss_limit,
            "max_loss_limit": config.max_loss_limit,
            "profit_target": config.profit_target,
            "max_contracts": config.max_contracts,
            "max_trades_per_day": config.max_trades_per_day,
        }
    return {
        "close_only": account.status == BrokerAccount.Status.CLOSE_ONLY,
        "symbol_overrides": account.symbol_overrides,
        "venue_symbols": account.venue_symbols,
        "risk": risk,
    }


def recent_performance(trips: Iterable[RoundTrip]) -> dict[str, Any]:
    end = timezone.now()
    start = end - timedelta(days=PERFORMANCE_DAYS)
    return {"start": start, "end": end, **performance(trips, start, end)}


def references(account: BrokerAccount) -> list[dict[str, str]]:
    """What refers to the account: the bots it follows, the groups it is in."""
    bots = [
        {"type": "bot", "id": str(s.pk), "name": s.name}
        for s in account.strategies.all()
    ]
    groups = [
        {"type": "group", "id": str(g.pk), "name": g.name}
        for g in account.account_groups.all()
    ]
    return bots + groups


def ws_status(account: BrokerAccount) -> dict[str, Any]:
    """How the venue's news reaches us: the paper venue at once (it is ours), the
    streamed venues by their stream while it holds, MetaTrader by its Expert
    Advisor's heartbeats; polling every ACCOUNT_SYNC_SECONDS besides."""
    status: dict[str, Any] = {
        "source": "polling",
        "state": "polling",
        "last_heartbeat_at": None,
        "last_sync_at": account.last_sync_at,
        "poll_seconds": settings.ACCOUNT_SYNC_SECONDS,
    }
    if account.venue == Venue.PAPER:
        return {**status, "source": "in_process", "state": "live"}
    if account.venue in STREAMED:
        return {
            **status,
            "source": "stream",
            "state": stream_state(account.pk) or "polling",
        }
    terminal = getattr(account, "terminal", None)
    if terminal is not None:
        return {
            **status,
            "source": "expert_advisor",
            "state": terminal.state,
            "last_heartbeat_at": terminal.last_heartbeat_at,
        }
    return status


def account_summary(
    account: BrokerAccount, trips: Iterable[RoundTrip]
) -> dict[str, Any]:
    """One account of `/accounts/list`."""
    return {
        "account_info": account_info(account),
        "balances": balances(account),
        "positions": positions(account.positions.all()),
        "performance": recent_performance(trips),
        "references": references(account),
    }


def account_detail(
    account: BrokerAccount, trips: Iterable[RoundTrip]
) -> dict[str, Any]:
    """`/accounts/{id}`."""
    return {
        "account": {
            "account_info": account_info(account),
            "balances": balances(account),
            "positions": positions(account.positions.all()),
            "settings": account_settings(account),
        },
        "performance": recent_performance(trips),
        "references": references(account),
        "ws_status": ws_status(account),
    }


# --- Schema -----------------------------------------------------------------------
# Classes, not inline serializers: one component each, however often it is used.

S = serializers.Serializer[dict[str, Any]]


def _money() -> serializers.DecimalField:
    return decimal_out(allow_null=True)


class V1AccountError(S):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class V1AccountInfo(S):
    id = serializers.CharField()
    name = serializers.CharField()
    exchange = serializers.ChoiceField(Venue.values)
    external_id = serializers.CharField(help_text="The venue's account id.")
    mode = serializers.ChoiceField(BrokerAccount.Mode.values)
    is_testnet = serializers.BooleanField()
    currency = serializers.CharField()
    is_active = serializers.BooleanField()
    status = serializers.ChoiceField(BrokerAccount.Status.values)
    created_at = serializers.DateTimeField()
    error = V1AccountError(
        allow_null=True, help_text="What the venue last refused, until a sync."
    )


class V1AccountBalances(S):
    balance = _money()
    equity = _money()
    currency = serializers.CharField()
    last_sync_at = serializers.DateTimeField(allow_null=True)


class V1OpenPosition(S):
    symbol = serializers.CharField()
    side = serializers.ChoiceField(["long", "short"])
    quantity = decimal_out()
    avg_price = _money()
    updated_at = serializers.DateTimeField()


class V1AccountPositions(S):
    count = serializers.IntegerField()
    open = V1OpenPosition(many=True)


class V1AccountRisk(S):
    preset = serializers.CharField(allow_null=True)
    daily_loss_limit = _money()
    max_loss_limit = _money()
    profit_target = _money()
    max_contracts = _money()
    max_trades_per_day = serializers.IntegerField(allow_null=True)


class V1AccountSettings(S):
    close_only = serializers.BooleanField()
    symbol_overrides = serializers.DictField(child=serializers.CharField())
    venue_symbols = serializers.DictField(child=serializers.CharField())
    risk = V1AccountRisk(allow_null=True)


class V1AccountMetrics(S):
    trades = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    win_rate = _money()  # percent of trades won
    net_pnl = decimal_out()
    fees = decimal_out()
    profit_factor = _money()
    average_win = _money()
    average_loss = _money()
    largest_win = _money()
    largest_loss = _money()
    max_drawdown = decimal_out()
    volume = decimal_out()


class V1AccountRecentPerformance(V1AccountMetrics):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class V1AccountReference(S):
    type = serializers.ChoiceField(["bot", "group"])
    id = serializers.CharField()
    name = serializers.CharField()


V1_ACCOUNT_FEED = inline_serializer(  # inline: `source` names a Field attribute
    "V1AccountFeed",
    {
        "source": serializers.ChoiceField(
            ["in_process", "stream", "expert_advisor", "polling"]
        ),
        "state": serializers.CharField(
            help_text="in_process: live; stream: live, reconnecting, displaced or "
            "polling; expert_advisor: never, online or offline."
        ),
        "last_heartbeat_at": serializers.DateTimeField(allow_null=True),
        "last_sync_at": serializers.DateTimeField(allow_null=True),
        "poll_seconds": serializers.IntegerField(),
    },
)


class V1AccountSummary(S):
    account_info = V1AccountInfo()
    balances = V1AccountBalances()
    positions = V1AccountPositions()
    performance = V1AccountRecentPerformance()
    references = V1AccountReference(many=True)


class V1Account(S):
    account_info = V1AccountInfo()
    balances = V1AccountBalances()
    positions = V1AccountPositions()
    settings = V1AccountSettings()


class V1AccountDetail(S):
    account = V1Account()
    performance = V1AccountRecentPerformance()
    references = V1AccountReference(many=True)
    ws_status = V1_ACCOUNT_FEED
