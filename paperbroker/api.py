"""Seed 003's Paper Trading API under /api/paper-trading/, for signed-in users.

Every route is scoped to the user's workspaces: another workspace's account or order
is 404, a write without the trade permission on one's own workspace is 403. Errors
use TradeFlow's one error shape (tradeflow/api.py).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from brokers.adapters.base import OrderRequest, VenueError
from brokers.instruments.sessions import is_open
from brokers.models import OrderType, Side
from paperbroker.accounting import instrument_for
from paperbroker.models import PaperAccount, PaperOrder
from paperbroker.payloads import ENGINE, FillOut, OrderOut, account_body
from paperbroker.realtime import (
    cancel_and_notify,
    flatten_and_notify,
    reset_and_notify,
)
from paperbroker.selectors import (
    fills_for_account,
    metrics,
    orders_for_account,
    paper_account_for_user_or_404,
    paper_accounts_for_user,
    paper_order_for_user_or_404,
    paper_totals_for_user,
    public_account_id,
    public_order_id,
)
from risk.services import RiskRefusedError, order_place_checked
from tradeflow.api import Refused
from tradeflow.ratelimit import rate_hit

ENGINES = [ENGINE]  # only what this server really runs
# Seed 003's broker sandboxes: named so that an alert routed there is told why not.
SANDBOX_ENGINES = {
    "paper_tastytrade": "Tastytrade sandbox",
    "paper_tradovate": "Tradovate demo",
    "paper_alpaca": "Alpaca paper",
}
# Seed 003's rate limits, per minute (module constants so tests can lower them).
ORDER_RATE_PER_MINUTE = 100  # per account
QUERY_RATE_PER_MINUTE = 1000  # per user
STATUS_RATE_PER_MINUTE = 60  # per user
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
FILLED = PaperOrder.Status.FILLED


def _throttle(bucket: str, limit: int, what: str) -> None:
    hit = rate_hit(bucket, limit)
    if not hit.allowed:
        raise Throttled(hit.retry_after, f"More than {limit} {what} a minute.")


def _query_throttle(request: Request) -> None:
    _throttle(
        f"paper-query:{request.user.pk}", QUERY_RATE_PER_MINUTE, "account queries"
    )


# --- Accounts -------------------------------------------------------------------------


class AccountList(APIView):
    """`GET /api/paper-trading/accounts`"""

    @extend_schema(
        operation_id="paper_accounts_list", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request) -> Response:
        _query_throttle(request)
        accounts = paper_accounts_for_user(request.user)
        return Response([account_body(account) for account in accounts])


class AccountDetail(APIView):
    """`GET /api/paper-trading/accounts/{account_id}`"""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        return Response(account_body(account))


class ResetInput(serializers.Serializer[dict[str, Any]]):
    confirm = serializers.BooleanField(default=False)


class AccountReset(APIView):
    """`POST .../accounts/{account_id}/reset` with `{"confirm": true}`."""

    @extend_schema(request=ResetInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id, Perm.TRADE)
        data = ResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise Refused(
                "confirmation-required",
                "Resetting deletes every order, fill and position: "
                'send {"confirm": true}.',
                status.HTTP_400_BAD_REQUEST,
            )
        account = reset_and_notify(account=account)
        public_id = public_account_id(account)
        return Response(
            {
                "status": "success",
                "message": f"Account {public_id} has been reset to initial state",
                "account": account_body(account),
            }
        )


class AccountFlatten(APIView):
    """`POST .../accounts/{account_id}/flatten`: cancel working orders, close all."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id, Perm.TRADE)
        closing = flatten_and_notify(account=account)
        results = [_flatten_result(order) for order in closing]
        return Response(
            {
                "status": "success",
                "account_id": public_account_id(account),
                "positions_closed": sum(o.status == FILLED for o in closing),
                "results": results,
            }
        )


def _flatten_result(order: PaperOrder) -> dict[str, Any]:
    result = {
        "status": "success" if order.status == FILLED else order.status,
        "order_id": public_order_id(order),
        "symbol": order.symbol,
    }
    if order.reject_reason:
        result["reason"] = order.reject_reason
    return result


class MetricsView(APIView):
    """`GET .../accounts/{account_id}/metrics`"""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        return Response(metrics(account))


# --- Orders and fills -----------------------------------------------------------------


class LimitInput(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(min_value=1, default=DEFAULT_LIMIT)


def _limit(request: Request) -> int:
    data = LimitInput(data=request.query_params)
    data.is_valid(raise_exception=True)
    return min(int(data.validated_data["limit"]), MAX_LIMIT)


class AccountOrders(APIView):
    """`GET .../accounts/{account_id}/orders?limit=`: newest first."""

    @extend_schema(parameters=[LimitInput], responses={200: OrderOut(many=True)})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        orders = orders_for_account(account, _limit(request))
        return Response(OrderOut(orders, many=True).data)


class AccountFills(APIView):
    """`GET .../accounts/{account_id}/fills?limit=`: newest first."""

    @extend_schema(parameters=[LimitInput], responses={200: FillOut(many=True)})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        fills = fills_for_account(account, _limit(request))
        return Response(FillOut(fills, many=True).data)


class OrderCancel(APIView):
    """`POST /api/paper-trading/orders/{order_id}/cancel`"""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, order_id: str) -> Response:
        _query_throttle(request)
        order = paper_order_for_user_or_404(request.user, order_id, Perm.TRADE)
        try:
            order = cancel_and_notify(account=order.account, order_id=order.pk)
        except VenueError as exc:
            raise Refused(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        return Response({"status": "success", "order_id": public_order_id(order)})


# --- Alerts ---------------------------------------------------------------------------

# Seed 003 writes its fields in camelCase in one place and snake_case in another.
_ALIASES = {
    "orderType": "order_type",
    "stopPrice": "stop_price",
    "timeInForce": "time_in_force",
    "stopLoss": "stop_loss",
    "takeProfit": "take_profit",
    "trailDistance": "trail_distance",
    "accountGroup": "account_group",
}
PRICED = {OrderType.LIMIT, OrderType.STOP_LIMIT}


def _price_field() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )


class AlertInput(serializers.Serializer[dict[str, Any]]):
    symbol = serializers.CharField(max_length=32)
    action = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=8)
    order_type = serializers.ChoiceField(
        choices=OrderType.choices, default=OrderType.MARKET
    )
    price = _price_field()
    stop_price = _price_field()
    stop_loss = _price_field()
    take_profit = _price_field()
    trail_distance = _price_field()
    time_in_force = serializers.CharField(
        max_length=8, required=False, allow_blank=True, default=""
    )
    account_group = serializers.CharField(max_length=64, default="paper_simulator")
    strategy = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError({"non_field": ["Send a JSON object."]})
        data = {_ALIASES.get(key, key): value for key, value in data.items()}
        for key in ("action", "order_type"):
            if isinstance(data.get(key), str):
                data[key] = data[key].strip().lower()
        values: dict[str, Any] = super().to_internal_value(data)
        return values


def _order_request(values: dict[str, Any]) -> OrderRequest:
    """The alert as a venue order. `price` is the limit of a limit order, the level
    of a stop given without `stopPrice`, and otherwise the market's reference price."""
    kind, price, stop = (
        values["order_type"],
        values.get("price"),
        values.get("stop_price"),
    )
    if kind == OrderType.STOP and stop is None:
        stop, price = price, None
    limit = price if kind in PRICED else None
    return OrderRequest(
        client_order_id=f"alert-{uuid.uuid4().hex}",
        symbol=values["symbol"],
        side=values["action"],
        order_type=kind,
        quantity=values["quantity"],
        limit_price=limit,
        stop_price=stop,
        time_in_force=values["time_in_force"],
        trail_distance=values.get("trail_distance"),
        stop_loss=values.get("stop_loss"),
        take_profit=values.get("take_profit"),
        reference_price=None if limit is not None else price,
        strategy=values["strategy"],
        comment=values["comment"],
    )


def _fill_body(order: PaperOrder) -> dict[str, Any] | None:
    fills = list(order.fills.all())
    if order.status != FILLED or not fills:
        return None
    return {
        "price": order.avg_fill_price,
        "quantity": order.filled_quantity,
        "commission": sum((fill.commission for fill in fills), Decimal(0)),
        "fees": sum((fill.fees for fill in fills), Decimal(0)),
        "slippage": max(fill.slippage for fill in fills),
    }


def _alert_body(order: PaperOrder, account: PaperAccount) -> dict[str, Any]:
    order_id = public_order_id(order)
    delay = account.execution_delay_ms if order.order_type == OrderType.MARKET else 0
    opened = is_open(instrument_for(order.symbol), order.created_at)
    return {
        "status": "success",
        "order_id": order_id,
        "account_id": public_account_id(account),
        "execution_engine": ENGINE,
        "order": {
            "id": order_id,
            "symbol": order.symbol,
            "action": order.side,
            "quantity": order.quantity,
            "status": order.status,
        },
        "result": {
            "status": "success" if order.status == FILLED else order.status,
            "fill": _fill_body(order),
            "execution_details": {
                "execution_delay_ms": delay,
                "market_conditions": {
                    "session": "regular" if opened else "closed",
                    "liquidity_factor": 1.0,
                    "volatility_multiplier": 1.0,
                },
            },
        },
        "is_paper": True,
    }


class AlertSubmit(APIView):
    """`POST /api/paper-trading/alerts`: place one order on a paper account.

    A rejected order is 422 with the venue's reason: `code` is the reason's code
    ("market-closed", "invalid-price", ...) and `detail` its sentence.
    """

    @extend_schema(request=AlertInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = AlertInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        group = values["account_group"]
        if group in SANDBOX_ENGINES:
            raise Refused(
                "engine-unavailable",
                f"The {SANDBOX_ENGINES[group]} engine is not configured on this "
                "server; use paper_simulator or paper_<account id>.",
                status.HTTP_400_BAD_REQUEST,
            )
        account = paper_account_for_user_or_404(request.user, group, Perm.TRADE)
        _throttle(f"paper-alert:{account.pk}", ORDER_RATE_PER_MINUTE, "orders")
        # Through the account's risk rules and our books, as every order.
        placing = _order_request(values)
        try:
            placed = order_place_checked(
                account=account.broker_account, request=placing
            )
        except RiskRefusedError as refused:
            decision = refused.decision
            raise Refused(
                decision.code, decision.detail, status.HTTP_422_UNPROCESSABLE_ENTITY
            ) from None
        except VenueError as exc:
            raise Refused(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        order = PaperOrder.objects.filter(
            account=account, client_order_id=placing.client_order_id
        ).first()
        if order is None:  # refused before the venue recorded it
            code, _, sentence = placed.reject_reason.partition(": ")
            raise Refused(code, sentence or code, status.HTTP_422_UNPROCESSABLE_ENTITY)
        if order.status == PaperOrder.Status.REJECTED:
            code, _, sentence = order.reject_reason.partition(": ")
            raise Refused(code, sentence or code, status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response(_alert_body(order, account))


# --- System ---------------------------------------------------------------------------


class SystemStatus(APIView):
    """`GET /api/paper-trading/status`: counts over the user's workspaces."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        _throttle(f"paper-status:{request.user.pk}", STATUS_RATE_PER_MINUTE, "checks")
        totals = paper_totals_for_user(request.user)
        return Response(
            {
                "status": "active",
                "total_accounts": totals["accounts"],
                "total_orders": totals["orders"],
                "total_fills": totals["fills"],
                "available_engines": ENGINES,
                "initialized": True,
                "timestamp": timezone.now(),
            }
        )


class SystemHealth(APIView):
    """`GET /api/paper-trading/health`"""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        _throttle(f"paper-status:{request.user.pk}", STATUS_RATE_PER_MINUTE, "checks")
        return Response(
            {
                "status": "healthy",
                "accounts_available": paper_accounts_for_user(request.user).count(),
                "engines_available": len(ENGINES),
                "timestamp": timezone.now(),
            }
        )
