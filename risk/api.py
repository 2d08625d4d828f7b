"""The kill switch and emergency close over the API (seeds 000 and 002)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from accounts.scoping import user_can, workspaces_for
from brokers.models import BrokerAccount
from risk.models import RiskConfig, Violation
from risk.monitor import risk_monitor
from risk.selectors import risk_metrics
from risk.services import account_emergency_close, emergency_stop
from tradeflow.api import Refused


class EmergencyStop(APIView):
    """`POST /api/user/emergency_stop`: flatten every account the user may trade,
    cancel every working order, stop every strategy. Idempotent."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        if not workspaces_for(request.user, Perm.TRADE).exists():
            raise PermissionDenied("Your role cannot trade, so it cannot stop trading.")
        report = emergency_stop(user=request.user)  # type: ignore[arg-type]
        return Response({"success": not report.errors, **asdict(report)})


class EmergencyClose(APIView):
    """`POST /api/accounts/{id}/emergency-close`: flatten one account now and make
    it close-only."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        account = BrokerAccount.objects.for_user(request.user).filter(pk=pk).first()
        if account is None:
            raise Refused("not-found", "No such account.", 404)
        if not user_can(request.user, account.workspace, Perm.TRADE):
            raise PermissionDenied("Your role cannot trade this account.")
        report = account_emergency_close(account=account)
        return Response({"success": not report.errors, **asdict(report)})


def _account(request: Request, pk: int) -> BrokerAccount:
    account = BrokerAccount.objects.for_user(request.user).filter(pk=pk).first()
    if account is None:
        raise Refused("not-found", "No such account.", 404)
    return account


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
