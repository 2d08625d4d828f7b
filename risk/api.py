"""Emergency close and the risk rules, metrics and violations over the API
(seeds 000 and 002)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from accounts.scoping import user_can
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from common.api import Refused
from risk.config import RiskConfigError, risk_config_update, trading_windows_clean
from risk.models import RiskConfig, Violation
from risk.monitor import risk_monitor
from risk.selectors import risk_metrics
from risk.services import account_emergency_close


class EmergencyClose(APIView):
    """`POST /api/accounts/{id}/emergency-close`: flatten one account now and make
    it close-only."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
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


class AccountRules(APIView):
    """`GET /api/accounts/{id}/rules`: the account's limits and their preset."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
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

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
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

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        account = _account(request, pk)
        if self.measure:
            risk_monitor(account=account)
            account.refresh_from_db()
        return Response(risk_metrics(account))


class AccountRealtimeMetrics(AccountMetrics):
    """`GET /api/accounts/{id}/realtime-metrics`: measured at the venue now."""

    measure = True


# Seed 002's spellings beside the config's own field names.
SEED_ALIASES = {"max_daily_loss": "daily_loss_limit"}


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

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(self._body(self._account(request)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
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


class RiskRulesInput(serializers.ModelSerializer[RiskConfig]):
    class Meta:
        model = RiskConfig
        fields = [*RULE_FIELDS, "trading_windows", "timezone"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name, value in attrs.items():
            if isinstance(value, Decimal) and value < 0:
                raise ValidationError({name: ["Must not be negative."]})
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
