"""Seed 004's trading on one account under /api/v1/trading/: its closed
positions, closing one position, flattening it all. A close and a flatten are
never refused by billing or a plan (entries are, exits never)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import Perm
from brokers.models import OrderType
from brokers.performance import RoundTrip, recent_closed_trades
from brokers.selectors import account_for_user_or_404
from common.api import Refused, decimal_out, page_window, refusals
from common.http import client_ip
from webhooks.execution.submit import position_close
from webhooks.intake.intents import ParseError
from webhooks.models import Execution, Signal
from webhooks.strategies.services import accounts_terminate

CLOSED = inline_serializer(
    "V1ClosedPosition",
    {
        "symbol": serializers.CharField(),
        "side": serializers.ChoiceField(["long", "short"]),
        "size": decimal_out(),
        "entry_price": decimal_out(),
        "exit_price": decimal_out(),
        "pnl": decimal_out(),  # net of fees, in `currency`
        "fee": decimal_out(),
        "currency": serializers.CharField(),
        "opened_at": serializers.DateTimeField(),
        "closed_at": serializers.DateTimeField(),
    },
)


def _closed(trip: RoundTrip) -> dict[str, Any]:
    return {
        "symbol": trip.symbol,
        "side": trip.side,
        "size": trip.size,
        "entry_price": trip.entry_price,
        "exit_price": trip.exit_price,
        "pnl": trip.pnl,
        "fee": trip.fee,
        "currency": trip.currency,
        "opened_at": trip.opened_at,
        "closed_at": trip.closed_at,
    }


class ClosedPositions(APIView):
    """`GET /api/v1/trading/positions/{account_id}?limit=50`: the account's last
    closed positions, newest first (what each fill that reduced one closed)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description="At most this many (50, ≤500).")
        ],
        responses={
            200: serializers.ListSerializer(child=CLOSED),
            **refusals(400, 401, 404),
        },
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = account_for_user_or_404(request.user, account_id)
        params = {"limit": request.query_params.get("limit", "")}
        _, limit = page_window(params, default=50, maximum=500)
        return Response([_closed(t) for t in recent_closed_trades(account.pk, limit)])


class PositionCloseInput(serializers.Serializer[dict[str, Any]]):
    symbol = serializers.CharField(
        max_length=40, help_text='As an alert names it ("MNQ1!") or as held.'
    )
    order_type = serializers.ChoiceField(
        [OrderType.MARKET, OrderType.LIMIT], default=OrderType.MARKET
    )
    price = serializers.DecimalField(
        max_digits=20,
        decimal_places=8,
        required=False,
        help_text="The limit of a limit close.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["order_type"] == OrderType.LIMIT and attrs.get("price") is None:
            raise serializers.ValidationError({"price": ["A limit close needs one."]})
        return attrs


# An execution that did not close: why, as the caller's to act on.
NOT_CLOSED = {
    "account-disabled": status.HTTP_409_CONFLICT,
    "no-position": status.HTTP_409_CONFLICT,
}


class ClosePosition(APIView):
    """`POST /api/v1/trading/close-position/{account_id}` {symbol, order_type}
    (admin): the one close of `/api/orders/close` (`position_close`): an exit
    through the alert pipeline (logged as a signal, sent once).
    409 `no-position` when the account holds none, 409 `account-disabled` (a
    disabled account is flattened by terminate); 202 while the close works."""

    @extend_schema(
        request=PositionCloseInput,
        responses={
            200: inline_serializer(
                "V1PositionClosed",
                {
                    "success": serializers.BooleanField(),
                    "message": serializers.CharField(),
                    "symbol": serializers.CharField(),
                    "signal_id": serializers.IntegerField(),
                },
            ),
            **refusals(400, 401, 403, 404, 409, 422),
        },
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = account_for_user_or_404(request.user, account_id, Perm.TRADE)
        data = PositionCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assert isinstance(request.user, User)
        try:
            signal = position_close(
                user=request.user,
                account=account,
                symbol=values["symbol"],
                order_type=values["order_type"],
                limit_price=values.get("price"),
                source_ip=client_ip(request),
            )
        except ParseError as exc:
            raise Refused(exc.code, exc.message, 422) from None
        return _closing(signal, values["symbol"])


def _closing(signal: Signal, symbol: str) -> Response:
    body = {"success": True, "symbol": symbol, "signal_id": signal.pk}
    execution = signal.executions.first()
    if execution is None or execution.status in Execution.OPEN:
        return Response({**body, "message": "Close queued"}, status=202)
    if execution.status == Execution.Status.WORKING:
        return Response({**body, "message": "Close working at the venue"}, 202)
    if execution.status == Execution.Status.FILLED:
        return Response({**body, "message": "Position closed"})
    if execution.status == Execution.Status.DONE and not execution.orders.exists():
        raise Refused(
            "no-position", f"The account holds no {symbol} position to close.", 409
        )
    code = execution.error_code.removeprefix("venue:") or execution.status
    detail = execution.error_message or f"The close ended {execution.status}."
    if code == "account-disabled":
        detail = "The account is disabled: terminate flattens it all the same."
    raise Refused(code, detail, NOT_CLOSED.get(code, 422))


class Terminate(APIView):
    """`POST /api/v1/trading/terminate/{account_id}` (admin): cancel every working
    order and close every position at market (the one flatten the kill switch
    uses). A venue that fails is in `errors`, `success` false."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "V1AccountTerminated",
                {
                    "success": serializers.BooleanField(),
                    "terminated_positions": serializers.IntegerField(),
                    "errors": serializers.ListSerializer(
                        child=inline_serializer(
                            "V1TerminateError",
                            {
                                "account_id": serializers.CharField(),
                                "code": serializers.CharField(),
                                "detail": serializers.CharField(),
                            },
                        )
                    ),
                },
            ),
            **refusals(401, 403, 404),
        },
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = account_for_user_or_404(request.user, account_id, Perm.TRADE)
        result = accounts_terminate(accounts=[account])
        return Response(
            {
                "success": not result.errors,
                "terminated_positions": result.positions,
                "errors": result.errors,
            }
        )
