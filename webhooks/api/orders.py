"""Seed 002's `POST /api/orders/close`: close a position, whole or in part,
through the pipeline every alert takes (a Signal in the log, the venue's own
position, the risk rules, exactly-once orders); billing never refuses it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import Perm
from brokers.api_sync import VENUE_ERROR
from brokers.models import Order, Position
from brokers.selectors import account_for_user_or_404
from common.api import Refused, decimal_out, error_body, refusals
from common.http import client_ip
from webhooks.execution.submit import position_close
from webhooks.intake.intents import MAX_QUANTITY, ParseError
from webhooks.models import Execution, Signal

ORDER = inline_serializer(
    "ClosingOrder",
    {
        "id": serializers.IntegerField(),
        "client_order_id": serializers.CharField(),
        "venue_order_id": serializers.CharField(),
        "symbol": serializers.CharField(),
        "side": serializers.ChoiceField(["buy", "sell"]),
        "order_type": serializers.CharField(),
        "quantity": decimal_out(),
        "status": serializers.ChoiceField(Order.Status.values),
        "filled_quantity": decimal_out(),
        "avg_fill_price": decimal_out(allow_null=True),
        "reject_reason": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "filled_at": serializers.DateTimeField(allow_null=True),
    },
)
CLOSED = inline_serializer(
    "PositionClosed",
    {
        "success": serializers.BooleanField(),
        "status": serializers.ChoiceField(["filled", "working", "queued"]),
        "signal_id": serializers.IntegerField(),
        "account_id": serializers.IntegerField(),
        "symbol": serializers.CharField(),
        "orders": serializers.ListField(child=ORDER),
        "remaining": decimal_out(allow_null=True),  # signed; null while queued
    },
)


class CloseInput(serializers.Serializer[dict[str, Any]]):
    account_id = serializers.IntegerField(min_value=1, max_value=10**18 - 1)
    symbol = serializers.CharField(max_length=32, help_text="As /api/positions says.")
    quantity = serializers.DecimalField(
        max_digits=20,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        max_value=MAX_QUANTITY,
        required=False,
        allow_null=True,
        help_text="How much to close; the whole position when absent.",
    )


ORDER_FIELDS = (
    "id",
    "client_order_id",
    "venue_order_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "status",
    "filled_quantity",
    "avg_fill_price",
    "reject_reason",
    "created_at",
    "filled_at",
)


def _refused(execution: Execution, symbol: str) -> Response | None:
    """The answer when the execution closed nothing, else None: nothing held, a
    disabled account or a venue refusing the login is a 409, an order refused
    (by the venue, a risk rule) a 422 with its code, a venue whose answer could
    not be read a 502. A venue that times out is retried by the worker: the
    close is still queued (202)."""
    code, detail = execution.error_code, execution.error_message
    name = execution.account.name
    if execution.status == Execution.Status.DONE:
        found = ("no-position", f"{name} holds no {symbol} position.", 409)
    elif code == "account-disabled":  # skipped at fan-out, or failed after it
        found = (code, f"{name} is disabled: enable it to trade on it.", 409)
    elif execution.status == Execution.Status.REJECTED:
        found = (code or "rejected", detail or "The close was refused.", 422)
    elif execution.status not in (Execution.Status.FAILED, Execution.Status.SKIPPED):
        return None
    elif code == "venue:venue-error":  # its answer could not be read
        body = error_body("venue-unavailable", detail or code)
        body["venue_code"] = code.removeprefix("venue:")
        return Response(body, status=status.HTTP_502_BAD_GATEWAY)
    elif code.startswith("venue:"):  # refused for good: a login, a captcha
        found = (code.removeprefix("venue:"), detail or code, 409)
    else:
        found = (code or "internal-error", detail or "The close failed.", 500)
    return Response(error_body(found[0], found[1]), status=found[2])


def _answer(signal: Signal, account_id: int, symbol: str) -> Response:
    execution = signal.executions.select_related("account").first()
    body: dict[str, Any] = {
        "success": True,
        "status": "queued",
        "signal_id": signal.pk,
        "account_id": account_id,
        "symbol": (signal.payload or {}).get("contract") or symbol,
        "orders": [],
        "remaining": None,
    }
    if execution is None or execution.status in Execution.OPEN:
        return Response(body, status=status.HTTP_202_ACCEPTED)
    refused = _refused(execution, symbol)
    if refused is not None:
        return refused
    orders = execution.orders.order_by("client_order_id")
    position = Position.objects.filter(account_id=account_id, symbol=body["symbol"])
    body["status"] = execution.status
    body["orders"] = [{n: getattr(order, n) for n in ORDER_FIELDS} for order in orders]
    body["remaining"] = position.values_list("quantity", flat=True).first() or 0
    return Response(body)


class OrderClose(APIView):
    """`POST /api/orders/close` {"account_id", "symbol", "quantity"?} (seed 002):
    close the position, or `quantity` of it, at market. Answers the closing
    order(s) once the venue has them (202 with the signal while still queued);
    nothing to close is a 409 `no-position`, a venue refusing the login a 409
    with its code, one whose answer is unreadable a 502.
    Trading members only: a viewer 403, an outsider 404."""

    @extend_schema(
        request=CloseInput,
        responses={
            200: CLOSED,
            202: CLOSED,
            **refusals(400, 401, 403, 404, 409, 422),
            502: VENUE_ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data = CloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = account_for_user_or_404(
            request.user, values["account_id"], Perm.TRADE
        )
        assert isinstance(request.user, User)
        symbol = values["symbol"]
        try:
            signal = position_close(
                user=request.user,
                account=account,
                symbol=symbol,
                quantity=values.get("quantity"),
                source_ip=client_ip(request),
            )
        except ParseError as exc:
            raise Refused(exc.code, exc.message, exc.http_status) from None
        return _answer(signal, account.pk, symbol)
