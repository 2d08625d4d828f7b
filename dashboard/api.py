"""The kill switch over the API (seed 002)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from common.api import refusals
from dashboard.services import emergency_stop
from risk.api import STOP_REPORT


class EmergencyStop(APIView):
    """`POST /api/user/emergency_stop`: flatten every account the user may trade,
    cancel every working order, stop every strategy. Idempotent."""

    @extend_schema(request=None, responses={200: STOP_REPORT, **refusals(401, 403)})
    def post(self, request: Request) -> Response:
        if not workspaces_for(request.user, Perm.TRADE).exists():
            raise PermissionDenied("Your role cannot trade, so it cannot stop trading.")
        report = emergency_stop(user=request.user)  # type: ignore[arg-type]
        return Response({"success": not report.errors, **asdict(report)})
