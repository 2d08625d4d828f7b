"""Seed 003's `POST /api/paper-trading/alerts`: an order for a paper account,
through the pipeline every alert takes (a Signal, the account's risk rules, our
books, billing), answered in the seed's shape once the worker has filled it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import Perm
from brokers.instruments.sessions import is_open
from brokers.models import OrderType, Side
from common.api import Refused, decimal_out, refusals
from common.http import client_ip
from common.numbers import plain
from common.ratelimit import rate_hit
from paperbroker.accounting import instrument_for
from paperbroker.models import PaperAccount, PaperOrder
from paperbroker.payloads import ENGINE
from paperbroker.selectors import (
    paper_account_for_user_or_404,
    public_account_id,
    public_order_id,
)
from webhooks.execution.submit import signal_submit
from webhooks.intake.intents import ParseError
from webhooks.models import Execution, Signal

# Seed 003's broker sandboxes: named so that an alert routed there is told why not.
SANDBOX_ENGINES = {
    "paper_tastytrade": "Tastytrade sandbox",
    "paper_tradovate": "Tradovate demo",
    "paper_alpaca": "Alpaca paper",
}
ORDER_RATE_PER_MINUTE = 100  # per account (seed 003); a module constant for tests
FILLED = PaperOrder.Status.FILLED
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


def alert_order(values: dict[str, Any]) -> dict[str, Any]:
    """The alert as the pipeline's order body. `price` is the limit of a limit
    order, the level of a stop given without `stopPrice`, and otherwise the
    market's reference price."""
    kind, price, stop = (
        values["order_type"],
        values.get("price"),
        values.get("stop_price"),
    )
    if kind == OrderType.STOP and stop is None:
        stop, price = price, None
    body: dict[str, Any] = {
        "action": values["action"],
        "symbol": values["symbol"],
        "quantity": values["quantity"],
        "order_type": kind,
        "time_in_force": values["time_in_force"],
        "strategy": values["strategy"],
        "comment": values["comment"],
    }
    if kind in PRICED:
        body["limit_price"], price = price, None
    optional = {
        "price": price,
        "stop_price": stop,
        "stop_loss": values.get("stop_loss"),
        "take_profit": values.get("take_profit"),
        "trail_distance": values.get("trail_distance"),
    }
    body.update({name: plain(v) for name, v in optional.items() if v is not None})
    return {name: plain(v) if isinstance(v, Decimal) else v for name, v in body.items()}


ALERT_FILLED = inline_serializer(
    "PaperAlertAnswer",
    {
        "status": serializers.ChoiceField(["success"]),
        "order_id": serializers.CharField(),
        "account_id": serializers.CharField(help_text="paper_<n>"),
        "execution_engine": serializers.CharField(),
        "order": inline_serializer(
            "PaperAlertOrder",
            {
                "id": serializers.CharField(),
                "symbol": serializers.CharField(),
                "action": serializers.ChoiceField(Side.values),
                "quantity": decimal_out(),
                "status": serializers.ChoiceField(PaperOrder.Status.values),
            },
        ),
        "result": inline_serializer(
            "PaperAlertResult",
            {
                "status": serializers.CharField(
                    help_text='"success" once filled, else the order\'s status.'
                ),
                "fill": inline_serializer(
                    "PaperAlertFill",
                    {
                        "price": decimal_out(),
                        "quantity": decimal_out(),
                        "commission": decimal_out(),
                        "fees": decimal_out(),
                        "slippage": decimal_out(),
                    },
                    allow_null=True,
                    help_text="Null until the order is filled.",
                ),
                "execution_details": inline_serializer(
                    "PaperAlertExecution",
                    {
                        "execution_delay_ms": serializers.IntegerField(),
                        "market_conditions": inline_serializer(
                            "PaperAlertMarket",
                            {
                                "session": serializers.ChoiceField(
                                    ["regular", "closed"]
                                ),
                                "liquidity_factor": serializers.FloatField(),
                                "volatility_multiplier": serializers.FloatField(),
                            },
                        ),
                    },
                ),
            },
        ),
        "is_paper": serializers.BooleanField(),
    },
)
ALERT_QUEUED = inline_serializer(
    "PaperAlertQueued",
    {
        "status": serializers.ChoiceField(["queued"]),
        "signal_id": serializers.IntegerField(help_text="Follow it in the log."),
        "is_paper": serializers.BooleanField(),
    },
)


class AlertSubmit(APIView):
    """`POST /api/paper-trading/alerts`: one order on a paper account.

    Refused by the account's rules: 422 `risk:<rule>`; rejected by the venue:
    422 with the venue's reason as `code` ("market-closed", "invalid-price", ...)
    and its sentence as `detail`; not finished within API_ORDER_WAIT_SECONDS:
    202 with the signal to follow in the log.
    """

    @extend_schema(
        request=AlertInput,
        responses={
            200: ALERT_FILLED,
            202: ALERT_QUEUED,
            **refusals(400, 401, 403, 404, 422, 429),
        },
    )
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
        hit = rate_hit(f"paper-alert:{account.pk}", ORDER_RATE_PER_MINUTE)
        if not hit.allowed:
            raise Throttled(
                hit.retry_after, f"More than {ORDER_RATE_PER_MINUTE} orders a minute."
            )
        assert isinstance(request.user, User)
        try:
            signal = signal_submit(
                user=request.user,
                data=alert_order(values),
                account=account.broker_account,
                source_ip=client_ip(request),
            )
        except ParseError as exc:
            raise Refused(exc.code, exc.message, 422) from None
        return _answer(signal, account)


def _answer(signal: Signal, account: PaperAccount) -> Response:
    execution = signal.executions.first()
    if execution is None or execution.status in (
        Execution.Status.PENDING,
        Execution.Status.EXECUTING,
    ):
        return Response(
            {"status": "queued", "signal_id": signal.pk, "is_paper": True},
            status=status.HTTP_202_ACCEPTED,
        )
    ids = [order.client_order_id for order in execution.orders.all()]
    order = (
        PaperOrder.objects.filter(account=account, client_order_id__in=ids)
        .prefetch_related("fills")
        .order_by("-pk")
        .first()
    )
    if order is None or order.status == PaperOrder.Status.REJECTED:
        # Refused before the venue (rules, sizing) or by it: the reason's code.
        code = execution.error_code.removeprefix("venue:") or "rejected"
        raise Refused(code, execution.error_message or code, 422)
    return Response(_alert_body(order, account))


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
