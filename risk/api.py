"""Emergency close and the risk rules, metrics and violations over the API
(seeds 000 and 002)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from accounts.scoping import user_can
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from common.api import Refused, decimal_out, refusals
from risk.config import RiskConfigError, risk_config_update, trading_windows_clean
from risk.models import RiskConfig, Violation
from risk.monitor import risk_monitor
from risk.selectors import risk_metrics
from risk.services import account_emergency_close

STOP_REPORT = inline_serializer(
    "StopReport",
    {
        "success": serializers.BooleanField(help_text="False when any account failed."),
        "accounts": serializers.IntegerField(),
        "orders_cancelled": serializers.IntegerField(),
        "positions_closed": serializers.IntegerField(),
        "strategies_stopped": serializers.IntegerField(),
        "errors": serializers.ListField(
            child=inline_serializer(
                "StopError",
                {
                    "account_id": serializers.CharField(),
                    "code": serializers.CharField(),
                    "detail": serializers.CharField(),
                },
            )
        ),
    },
)


class EmergencyClose(APIView):
    """`POST /api/accounts/{id}/emergency-close`: flatten one account now and make
    it close-only."""

    @extend_schema(
        request=None, responses={200: STOP_REPORT, **refusals(401, 403, 404)}
    )
    def post(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk, Perm.TRADE)
        report = account_emergency_close(account=account)
        return Response({"success": not report.errors, **asdict(report)})


def _account(request: Request, pk: int) -> BrokerAccount:
    return account_for_user_or_404(request.user, pk)


RULE_FIELDS = [
    "starting_balance",
    "daily_loss_limit",
    "daily_loss_action",
    "max_loss_limit",
    "max_loss_mode",
    "trail_stops_at_start",
    "profit_target",
    "stop_at_profit_target",
    "max_contracts",
    "micros_per_contract",
    "max_order_quantity",
    "max_position_per_symbol",
    "max_trades_per_day",
    "max_risk_per_trade",
    "allowed_symbols",
    "allowed_sides",
    "consistency_percent",
    "minimum_days",
]


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string"},
        "description": 'Roots, e.g. ["MNQ", "MES"]; empty: any.',
    }
)
class SymbolsField(serializers.JSONField):
    """`allowed_symbols`: a list of roots (stored as JSON)."""


_WINDOW = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "items": _WINDOW},
        "description": 'Per weekday, e.g. {"mon": [["08:30", "15:00"]]}; '
        "empty: any time.",
    }
)
class WindowsField(serializers.JSONField):
    """`trading_windows`: weekday -> [start, end] clock times (stored as JSON)."""


class RiskRulesOut(serializers.ModelSerializer[RiskConfig]):
    """Schema only: the rules as the routes below answer them."""

    allowed_symbols = SymbolsField(read_only=True)

    class Meta:
        model = RiskConfig
        fields = RULE_FIELDS
        read_only_fields = RULE_FIELDS


ACCOUNT_RULES = inline_serializer(
    "AccountRules",
    {
        "rules": RiskRulesOut(allow_null=True, help_text="Null: no rules set."),
        "preset": inline_serializer(
            "RiskPresetRef",
            {
                "key": serializers.CharField(),
                "name": serializers.CharField(),
                "source": serializers.CharField(),
                "as_of": serializers.DateField(),
            },
            allow_null=True,
        ),
    },
)
VIOLATION = inline_serializer(
    "Violation",
    {
        "id": serializers.IntegerField(),
        "rule": serializers.CharField(),
        "detail": serializers.CharField(),
        "action": serializers.CharField(),
        "numbers": serializers.DictField(
            child=serializers.CharField(), help_text="The figures, as text."
        ),
        "trading_day": serializers.DateField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)


def risk_figure_fields() -> dict[str, serializers.Field]:
    """What `risk_metrics` measures beyond the account's own fields (fresh each
    call: a field belongs to one serializer)."""
    return {
        "trading_day": serializers.DateField(allow_null=True),
        "day_pnl": decimal_out(allow_null=True),
        "floor": decimal_out(allow_null=True),
        "distance_to_floor": decimal_out(allow_null=True),
        "daily_loss_remaining": decimal_out(allow_null=True),
        "contracts_in_use": decimal_out(),
        "max_contracts": decimal_out(allow_null=True),
        "trades_today": serializers.IntegerField(),
        "trades_left": serializers.IntegerField(allow_null=True),
        "profit_target": decimal_out(allow_null=True),
        "target_reached_at": serializers.DateTimeField(allow_null=True),
        "locked_until": serializers.DateTimeField(allow_null=True),
        "measured_at": serializers.DateTimeField(allow_null=True),
    }


RISK_METRICS = inline_serializer(
    "RiskMetrics",
    {
        "account_id": serializers.IntegerField(),
        "status": serializers.ChoiceField(BrokerAccount.Status.values),
        "balance": decimal_out(allow_null=True),
        "equity": decimal_out(allow_null=True),
        **risk_figure_fields(),
    },
)


class AccountRules(APIView):
    """`GET /api/accounts/{id}/rules`: the account's limits and their preset."""

    @extend_schema(responses={200: ACCOUNT_RULES, **refusals(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        config = RiskConfig.objects.filter(account=_account(request, pk)).first()
        if config is None:
            return Response({"rules": None, "preset": None})
        preset = config.preset
        return Response(
            {
                "rules": {name: getattr(config, name) for name in RULE_FIELDS},
                "preset": None
                if preset is None
                else {
                    "key": preset.key,
                    "name": str(preset),
                    "source": preset.source,
                    "as_of": preset.as_of,
                },
            }
        )


class AccountViolations(APIView):
    """`GET /api/accounts/{id}/violations`: newest first."""

    @extend_schema(
        responses={
            200: serializers.ListSerializer(child=VIOLATION),
            **refusals(401, 404),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        rows = Violation.objects.filter(account=_account(request, pk))[:200]
        return Response(
            [
                {
                    "id": v.pk,
                    "rule": v.rule,
                    "detail": v.detail,
                    "action": v.action,
                    "numbers": v.numbers,
                    "trading_day": v.trading_day,
                    "created_at": v.created_at,
                }
                for v in rows
            ]
        )


class AccountMetrics(APIView):
    """`GET /api/accounts/{id}/metrics`: the risk figures as last measured."""

    measure = False

    @extend_schema(responses={200: RISK_METRICS, **refusals(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        account = _account(request, pk)
        if self.measure:
            risk_monitor(account=account)
            account.refresh_from_db()
        return Response(risk_metrics(account))


class AccountRealtimeMetrics(AccountMetrics):
    """`GET /api/accounts/{id}/realtime-metrics`: measured at the venue now."""

    measure = True


class RiskConfigOut(RiskRulesOut):
    """Schema only: `/api/user/risk_config`'s answer."""

    account_id = serializers.IntegerField(read_only=True)
    max_daily_loss = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        coerce_to_string=False,
        allow_null=True,
        read_only=True,
    )
    trading_hours_enabled = serializers.BooleanField(read_only=True)
    trading_windows = WindowsField(read_only=True)

    class Meta(RiskRulesOut.Meta):
        fields = [
            "account_id",
            "max_daily_loss",
            "trading_hours_enabled",
            *RULE_FIELDS,
            "trading_windows",
            "timezone",
        ]
        read_only_fields = fields


ACCOUNT_PARAMETER = OpenApiParameter(
    "account_id",
    str,
    description="The account whose rules these are; absent: the first one you trade.",
)


# Seed 002's spellings beside the config's own field names.
SEED_ALIASES = {"max_daily_loss": "daily_loss_limit"}


class RiskRulesInput(serializers.ModelSerializer[RiskConfig]):
    class Meta:
        model = RiskConfig
        fields = [*RULE_FIELDS, "trading_windows", "timezone"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name, value in attrs.items():
            if isinstance(value, Decimal) and value < 0:
                raise ValidationError({name: ["Must not be negative."]})
        symbols = attrs.get("allowed_symbols")
        if symbols is not None and not (
            isinstance(symbols, list) and all(isinstance(s, str) for s in symbols)
        ):
            # JSON in the column, a list of roots to the risk check that reads it.
            raise ValidationError(
                {"allowed_symbols": ['A list of roots, e.g. ["MNQ", "MES"].']}
            )
        zone = attrs.get("timezone")
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationError({"timezone": ["Not a time zone."]}) from None
        if attrs.get("trading_windows") is not None:
            try:
                attrs["trading_windows"] = trading_windows_clean(
                    attrs["trading_windows"]
                )
            except RiskConfigError as exc:
                raise ValidationError({"trading_windows": [exc.message]}) from None
        return attrs


class RiskConfigIn(RiskRulesInput):
    """Schema only: what PUT takes. Every field is optional (only those sent
    change); `max_daily_loss` is the daily loss limit, and
    `trading_hours_enabled: false` clears the trading windows."""

    max_daily_loss = serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )
    trading_hours_enabled = serializers.BooleanField(required=False)
    allowed_symbols = SymbolsField(required=False)
    trading_windows = WindowsField(required=False)

    class Meta(RiskRulesInput.Meta):
        fields = [
            *RiskRulesInput.Meta.fields,
            "max_daily_loss",
            "trading_hours_enabled",
        ]


class UserRiskConfig(APIView):
    """`GET/PUT /api/user/risk_config` (seed 002): one account's rules, the first
    one the user trades unless `?account_id=` names another. PUT changes only
    the fields it sends; `max_daily_loss` and `trading_hours_enabled` are the
    seed's names for the daily loss limit and for having trading windows."""

    scope_needed = "admin"  # what an API token must hold to change it

    def _account(self, request: Request) -> BrokerAccount:
        raw = request.query_params.get("account_id")
        if raw is not None:
            return account_for_user_or_404(request.user, raw)
        account = BrokerAccount.objects.for_user(request.user).order_by("pk").first()
        if account is None:
            raise Refused("not-found", "You have no account yet.", 404)
        return account

    def _body(self, account: BrokerAccount) -> dict[str, object]:
        config = RiskConfig.objects.filter(account=account).first() or RiskConfig(
            account=account
        )
        rules = {name: getattr(config, name) for name in RULE_FIELDS}
        rules["trading_windows"] = config.trading_windows
        rules["timezone"] = config.timezone
        return {
            "account_id": account.pk,
            "max_daily_loss": config.daily_loss_limit,
            "trading_hours_enabled": bool(config.trading_windows),
            **rules,
        }

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses={200: RiskConfigOut, **refusals(401, 404)},
    )
    def get(self, request: Request) -> Response:
        return Response(self._body(self._account(request)))

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=RiskConfigIn,
        responses={200: RiskConfigOut, **refusals(400, 401, 403, 404)},
    )
    def put(self, request: Request) -> Response:
        account = self._account(request)
        if not user_can(request.user, account.workspace, Perm.MANAGE_ACCOUNTS):
            raise PermissionDenied("Your role cannot change risk rules.")
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field": ["Send a JSON object."]})
        data = {SEED_ALIASES.get(k, k): v for k, v in request.data.items()}
        if data.pop("trading_hours_enabled", True) is False:
            data["trading_windows"] = {}
        config = RiskConfig.objects.filter(account=account).first()
        rules = RiskRulesInput(config, data=data, partial=True)
        rules.is_valid(raise_exception=True)
        try:
            risk_config_update(account=account, values=dict(rules.validated_data))
        except RiskConfigError as exc:
            raise Refused(exc.code, exc.message, 400) from None
        return Response(self._body(account))
