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
