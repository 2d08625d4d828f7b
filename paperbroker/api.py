"""Seed 003's Paper Trading API under /api/paper-trading/, for signed-in users.

Every route is scoped to the user's workspaces: another workspace's account or order
is 404, a write without the trade permission on one's own workspace is 403. Errors
use TradeFlow's one error shape (common/api.py). Alerts (`/alerts`) are a signal
source: `webhooks.api.paper` sends them through the pipeline every alert takes.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Perm
from brokers.adapters.base import VenueError
from brokers.services import account_flatten
from common.api import Refused, decimal_out, page_window, refusals
from common.ratelimit import rate_hit
from paperbroker.models import PaperOrder
from paperbroker.payloads import ENGINE, FillOut, OrderOut, account_body
from paperbroker.realtime import (
    cancel_and_notify,
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

ENGINES = [ENGINE]  # only what this server really runs
# Seed 003's rate limits, per minute (module constants so tests can lower them).
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


POSITION = inline_serializer(
    "PaperPosition",
    {
        "symbol": serializers.CharField(),
        "asset_type": serializers.CharField(),
        "quantity": decimal_out(),
        "avg_price": decimal_out(allow_null=True),
        "market_price": decimal_out(allow_null=True),
        "unrealized_pnl": decimal_out(),
        "multiplier": decimal_out(),
    },
)
PAPER_ACCOUNT = inline_serializer(
    "PaperAccount",
    {
        "id": serializers.CharField(help_text="paper_<n>"),
        "name": serializers.CharField(),
        "broker": serializers.CharField(),
        "mode": serializers.CharField(),
        "currency": serializers.CharField(),
        "initial_balance": decimal_out(),
        "current_balance": decimal_out(),
        "equity": decimal_out(),
        "day_pnl": decimal_out(),
        "total_pnl": decimal_out(),
        "buying_power": decimal_out(),
        "positions": serializers.DictField(
            child=POSITION, help_text="Open positions by symbol."
        ),
        "created_at": serializers.DateTimeField(),
        "last_updated": serializers.DateTimeField(allow_null=True),
    },
)


class AccountList(APIView):
    """`GET /api/paper-trading/accounts`"""

    @extend_schema(
        operation_id="paper_accounts_list",
        responses={
            200: serializers.ListSerializer(child=PAPER_ACCOUNT),
            **refusals(401, 429),
        },
    )
    def get(self, request: Request) -> Response:
        _query_throttle(request)
        accounts = paper_accounts_for_user(request.user)
        return Response([account_body(account) for account in accounts])


class AccountDetail(APIView):
    """`GET /api/paper-trading/accounts/{account_id}`"""

    @extend_schema(responses={200: PAPER_ACCOUNT, **refusals(401, 404, 429)})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        return Response(account_body(account))


class PaperResetInput(serializers.Serializer[dict[str, Any]]):
    confirm = serializers.BooleanField(default=False)


PAPER_RESET = inline_serializer(
    "PaperReset",
    {
        "status": serializers.ChoiceField(["success"]),
        "message": serializers.CharField(),
        "account": PAPER_ACCOUNT,
    },
)


class AccountReset(APIView):
    """`POST .../accounts/{account_id}/reset` with `{"confirm": true}`."""

    @extend_schema(
        request=PaperResetInput,
        responses={200: PAPER_RESET, **refusals(400, 401, 403, 404, 429)},
    )
    def post(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id, Perm.TRADE)
        data = PaperResetInput(data=request.data)
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


PAPER_FLATTEN = inline_serializer(
    "PaperFlatten",
    {
        "status": serializers.ChoiceField(["success"]),
        "account_id": serializers.CharField(),
        "positions_closed": serializers.IntegerField(),
        "results": serializers.ListField(
            child=inline_serializer(
                "PaperFlattenResult",
                {
                    "status": serializers.CharField(
                        help_text='"success" once filled, else the order\'s status.'
                    ),
                    "order_id": serializers.CharField(),
                    "symbol": serializers.CharField(),
                    "reason": serializers.CharField(
                        required=False, help_text="Why the venue refused it."
                    ),
                },
            )
        ),
    },
)


class AccountFlatten(APIView):
    """`POST .../accounts/{account_id}/flatten`: cancel working orders, close all."""

    @extend_schema(
        request=None,
        responses={200: PAPER_FLATTEN, **refusals(401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id, Perm.TRADE)
        try:
            done = account_flatten(account=account.broker_account)
        except VenueError as exc:
            raise Refused(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        ids = [int(r.venue_order_id.removeprefix("po-")) for r in done.closing]
        closing = sorted(PaperOrder.objects.filter(pk__in=ids), key=lambda o: o.pk)
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


PAPER_METRICS = inline_serializer(
    "PaperMetrics",
    {
        "account_id": serializers.CharField(),
        "period_start": serializers.DateTimeField(),
        "period_end": serializers.DateTimeField(),
        "total_trades": serializers.IntegerField(),
        "winning_trades": serializers.IntegerField(),
        "losing_trades": serializers.IntegerField(),
        "win_rate": decimal_out(),
        "avg_win": decimal_out(),
        "avg_loss": decimal_out(),
        "largest_win": decimal_out(),
        "largest_loss": decimal_out(),
        "total_pnl": decimal_out(),
        "gross_profit": decimal_out(),
        "gross_loss": decimal_out(),
        "profit_factor": decimal_out(allow_null=True),
        "max_drawdown": decimal_out(),
        "total_commissions": decimal_out(),
        "total_volume": decimal_out(),
        "avg_trade_duration": decimal_out(allow_null=True),
    },
)


class MetricsView(APIView):
    """`GET .../accounts/{account_id}/metrics`"""

    @extend_schema(responses={200: PAPER_METRICS, **refusals(401, 404, 429)})
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        return Response(metrics(account))


# --- Orders and fills -----------------------------------------------------------------


class LimitInput(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(min_value=1, default=DEFAULT_LIMIT)


def _limit(request: Request) -> int:
    return page_window(request.query_params, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)[
        1
    ]


class AccountOrders(APIView):
    """`GET .../accounts/{account_id}/orders?limit=`: newest first."""

    @extend_schema(
        parameters=[LimitInput],
        responses={200: OrderOut(many=True), **refusals(400, 401, 404, 429)},
    )
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        orders = orders_for_account(account, _limit(request))
        return Response(OrderOut(orders, many=True).data)


class AccountFills(APIView):
    """`GET .../accounts/{account_id}/fills?limit=`: newest first."""

    @extend_schema(
        parameters=[LimitInput],
        responses={200: FillOut(many=True), **refusals(400, 401, 404, 429)},
    )
    def get(self, request: Request, account_id: str) -> Response:
        _query_throttle(request)
        account = paper_account_for_user_or_404(request.user, account_id)
        fills = fills_for_account(account, _limit(request))
        return Response(FillOut(fills, many=True).data)


class OrderCancel(APIView):
    """`POST /api/paper-trading/orders/{order_id}/cancel`"""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "PaperCancelled",
                {
                    "status": serializers.ChoiceField(["success"]),
                    "order_id": serializers.CharField(),
                },
            ),
            **refusals(401, 403, 404, 409, 429),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        _query_throttle(request)
        order = paper_order_for_user_or_404(request.user, order_id, Perm.TRADE)
        try:
            order = cancel_and_notify(account=order.account, order_id=order.pk)
        except VenueError as exc:
            raise Refused(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        return Response({"status": "success", "order_id": public_order_id(order)})


# --- System ---------------------------------------------------------------------------


class SystemStatus(APIView):
    """`GET /api/paper-trading/status`: counts over the user's workspaces."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "PaperStatus",
                {
                    "status": serializers.ChoiceField(["active"]),
                    "total_accounts": serializers.IntegerField(),
                    "total_orders": serializers.IntegerField(),
                    "total_fills": serializers.IntegerField(),
                    "available_engines": serializers.ListField(
                        child=serializers.CharField()
                    ),
                    "initialized": serializers.BooleanField(),
                    "timestamp": serializers.DateTimeField(),
                },
            ),
            **refusals(401, 429),
        }
    )
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

    @extend_schema(
        responses={
            200: inline_serializer(
                "PaperHealth",
                {
                    "status": serializers.ChoiceField(["healthy"]),
                    "accounts_available": serializers.IntegerField(),
                    "engines_available": serializers.IntegerField(),
                    "timestamp": serializers.DateTimeField(),
                },
            ),
            **refusals(401, 429),
        }
    )
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
