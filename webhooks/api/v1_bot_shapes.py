"""What seed 004's bot and group routes (webhooks/api/v1.py) take and answer, for
drf-spectacular: field for field what the views and
webhooks.strategies.performance build. Schema only; nothing here runs a request."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from common.api import decimal_out, envelope
from webhooks.models import Execution, Strategy


def decimal_text() -> serializers.CharField:
    """A Decimal the performance selectors write as text ("12.5"): exact, no
    exponent, no trailing zeros."""
    return serializers.CharField(help_text='A decimal as text, e.g. "12.5".')


def _number(help_text: str = "") -> serializers.DecimalField:
    """An optional number in a request body (null as if absent)."""
    return serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        coerce_to_string=False,
        allow_null=True,
        required=False,
        help_text=help_text,
    )


def _query(name: str, description: str, **kwargs: object) -> OpenApiParameter:
    return OpenApiParameter(name, str, description=description, **kwargs)  # type: ignore[arg-type]


BOT_CREATE_PARAMETERS = [
    _query("name", "The bot's name, unique in the workspace.", required=True),
    _query("base_name", "The strategy it runs, as the trader calls it."),
    _query("timeframe", 'The chart\'s timeframe, e.g. "15m".'),
]
BOT_STATUS_PARAMETERS = [
    _query(
        "status",
        "The bot's new state.",
        required=True,
        enum=[value.upper() for value in Strategy.Status.values],
    )
]
ACCOUNT_PARAMETERS = [_query("account_id", "The broker account's id.", required=True)]
PERIOD_PARAMETERS = [
    OpenApiParameter(
        "start_date", str, description="YYYY-MM-DD; 30 days ago if absent."
    ),
    OpenApiParameter("end_date", str, description="YYYY-MM-DD; today if absent."),
]
HISTORY_PARAMETERS = [
    *PERIOD_PARAMETERS,
    _query(
        "interval", "One row per day, week or month.", enum=["day", "week", "month"]
    ),
]

BOT_CREATED = inline_serializer(
    "BotCreated",
    {
        "success": serializers.BooleanField(),
        "bot_id": serializers.CharField(),
        "api_key": serializers.CharField(help_text="Shown once; only a hash is kept."),
        "webhook_url": serializers.CharField(),
    },
)


def _bot_status() -> serializers.ChoiceField:
    return serializers.ChoiceField([v.upper() for v in Strategy.Status.values])


def _bot_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "base_name": serializers.CharField(allow_blank=True),
        "timeframe": serializers.CharField(allow_blank=True),
        "status": _bot_status(),
        "connected_accounts": serializers.ListField(child=serializers.CharField()),
    }


BOT = inline_serializer("Bot", _bot_fields())
BOT_ACCOUNT = inline_serializer(
    "BotAccount",
    {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "exchange": serializers.CharField(),
        "balance": decimal_out(allow_null=True),
        "equity": decimal_out(allow_null=True),
        "is_active": serializers.BooleanField(),
    },
)


def _fills() -> dict[str, serializers.Field]:
    return {
        "fills": serializers.IntegerField(),
        "volume": decimal_text(),
        "notional": decimal_text(),
        "commission": decimal_text(),
    }


FILLS = inline_serializer("FillsSummary", _fills())
BOT_DETAIL = inline_serializer(
    "BotDetail",
    {
        **_bot_fields(),
        "performance": inline_serializer(
            "BotDetailPerformance",
            {
                "metrics": inline_serializer(
                    "BotMetrics",
                    {
                        "signals": serializers.IntegerField(),
                        "executions": serializers.DictField(
                            child=serializers.IntegerField(),
                            help_text="Executions by status: "
                            + ", ".join(Execution.Status.values),
                        ),
                        "last_signal_at": serializers.DateTimeField(allow_null=True),
                        **_fills(),
                    },
                )
            },
        ),
    },
)
BOT_STATUS = inline_serializer(
    "BotStatusSet",
    {"success": serializers.BooleanField(), "status": _bot_status()},
)
DONE = inline_serializer(
    "BotDone",
    {"success": serializers.BooleanField(), "message": serializers.CharField()},
)
ACCOUNT_ERROR = inline_serializer(
    "AccountError",
    {
        "account_id": serializers.CharField(),
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
    },
)
BOT_TERMINATED = inline_serializer(
    "BotTerminated",
    {
        "success": serializers.BooleanField(),
        "terminated_accounts": serializers.IntegerField(),
        "errors": serializers.ListField(child=ACCOUNT_ERROR),
    },
)
BOT_PERFORMANCE = inline_serializer(
    "BotPerformance",
    {
        # One instance per field: a serializer given twice is kept once.
        "daily": type(FILLS)(),
        "weekly": type(FILLS)(),
        "monthly": type(FILLS)(),
        "accounts": serializers.DictField(
            child=type(FILLS)(), help_text="By account id."
        ),
    },
)

# --- Groups ---------------------------------------------------------------------------


def _group_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "description": serializers.CharField(allow_blank=True),
        "accounts": serializers.ListField(child=serializers.CharField()),
        "max_drawdown": decimal_out(allow_null=True),
        "target_monthly_roi": decimal_out(allow_null=True),
        "risk_limit": decimal_out(allow_null=True),
    }


def _balances() -> dict[str, serializers.Field]:
    return {
        "accounts": serializers.IntegerField(),
        "balance": decimal_text(),
        "equity": decimal_text(),
    }


GROUP = inline_serializer("Group", _group_fields())
GROUP_PERFORMANCE = inline_serializer(
    "GroupPerformance",
    {
        **_balances(),
        **_fills(),
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
    },
)
NOT_APPLICABLE = inline_serializer(
    "WebsocketNotApplicable",
    {
        "status": serializers.ChoiceField(
            ["not-applicable"],
            help_text="No venue of this server streams over its own websocket.",
        )
    },
)
GROUP_DETAIL = inline_serializer(
    "GroupDetail",
    {
        **_group_fields(),
        "performance": GROUP_PERFORMANCE,
        "websocket_status": NOT_APPLICABLE,
    },
)
GROUP_LIST = envelope(
    "GroupList",
    groups=serializers.ListSerializer(child=GROUP),
    total=serializers.IntegerField(),
    offset=serializers.IntegerField(),
    limit=serializers.IntegerField(),
)
GROUP_CREATED = envelope(
    "GroupCreated",
    group=GROUP,
    api_key=serializers.CharField(help_text="Shown once; only a hash is kept."),
)
GROUP_ONE = envelope("GroupOne", group=GROUP)
GROUP_RETRIEVED = envelope("GroupRetrieved", group=GROUP_DETAIL)
GROUP_DELETED = envelope("GroupDeleted", group_id=serializers.CharField())
GROUP_PERFORMANCE_ANSWER = envelope(
    "GroupPerformanceAnswer", performance=GROUP_PERFORMANCE
)
GROUP_METRICS = envelope(
    "GroupMetrics",
    risk_metrics=inline_serializer(
        "GroupRiskMetrics",
        {
            "max_drawdown": decimal_out(allow_null=True),
            "risk_limit": decimal_out(allow_null=True),
            "target_monthly_roi": decimal_out(allow_null=True),
            "open_positions": serializers.IntegerField(),
            **_balances(),
        },
    ),
    websocket_health=NOT_APPLICABLE,
    balance_status=serializers.DictField(
        child=inline_serializer(
            "GroupAccountBalance",
            {
                "balance": decimal_out(allow_null=True),
                "equity": decimal_out(allow_null=True),
                "last_sync_at": serializers.DateTimeField(allow_null=True),
                "is_active": serializers.BooleanField(),
            },
        ),
        help_text="By account id.",
    ),
)
GROUP_HISTORY = envelope(
    "GroupHistory",
    history=serializers.ListField(
        child=inline_serializer(
            "GroupHistoryRow",
            {
                "period": serializers.DateField(),
                "fills": serializers.IntegerField(),
                "volume": decimal_text(),
                "commission": decimal_text(),
            },
        )
    ),
    interval=serializers.ChoiceField(["day", "week", "month"]),
    period=inline_serializer(
        "GroupHistoryPeriod",
        {"start": serializers.DateField(), "end": serializers.DateField()},
    ),
)
ACCOUNT_IDS = inline_serializer(
    "GroupAccountIds",
    {
        "account_ids": serializers.ListField(
            child=serializers.CharField(), help_text="The first 500 are added."
        )
    },
)
GROUP_ACCOUNTS_ADDED = envelope(
    "GroupAccountsAdded",
    results=inline_serializer(
        "GroupAccountsAddedResults",
        {
            "success": serializers.ListField(child=serializers.CharField()),
            "failed": serializers.ListField(
                child=inline_serializer(
                    "GroupAccountFailed",
                    {
                        "account_id": serializers.CharField(),
                        "detail": serializers.CharField(),
                    },
                )
            ),
        },
    ),
    group=GROUP,
)
GROUP_ID = inline_serializer("AssignGroup", {"group_id": serializers.CharField()})
SUCCESS = inline_serializer("Success", {"success": serializers.BooleanField()})
GROUP_EXECUTED = inline_serializer(
    "GroupExecuted",
    {
        "success_count": serializers.IntegerField(),
        "error_count": serializers.IntegerField(),
        "results": serializers.ListField(
            child=inline_serializer(
                "GroupExecution",
                {
                    "account_id": serializers.CharField(),
                    "status": serializers.ChoiceField(Execution.Status.values),
                    "error_code": serializers.CharField(allow_blank=True),
                    "detail": serializers.CharField(allow_blank=True),
                    "orders": serializers.ListField(
                        child=serializers.CharField(), help_text="Client order ids."
                    ),
                },
            )
        ),
        "signal_id": serializers.IntegerField(),
    },
)
GROUP_TRADE = inline_serializer(
    "GroupTrade",
    {
        "symbol": serializers.CharField(
            help_text="As an alert sends it: NQ1!, BTCUSDT."
        ),
        "side": serializers.ChoiceField(["buy", "sell"]),
        "order_type": serializers.ChoiceField(
            ["market", "limit", "stop", "stop_limit"], required=False
        ),
        "quantity": _number("Absent: sized by `risk_percentage`."),
        "risk_percentage": _number("Of each account's equity, times `leverage`."),
        "leverage": _number(),
        "price": _number(),
        "take_profit": _number(),
        "stop_loss": _number(),
    },
)
