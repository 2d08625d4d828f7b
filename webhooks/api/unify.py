"""Seed-002 registration (returns the webhook key) and the webhook log."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import WorkspaceScopedMixin
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueError
from brokers.adapters.registry import available_venues
from brokers.venues.metatrader.setup import ea_setup
from common.api import Refused, refusals
from webhooks.intake.keys import account_register
from webhooks.models import Execution, Signal
from webhooks.views.base import site


class RegisterInput(serializers.Serializer[dict[str, object]]):
    name = serializers.CharField(
        max_length=120,
        default="",
        allow_blank=True,
        help_text='Empty: named by venue and balance, "Paper 50K", "Paper 50K 2".',
    )
    initial_balance = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(1), default=Decimal(50000)
    )
    currency = serializers.CharField(max_length=3, default="USD")
    mode = serializers.ChoiceField(choices=["demo", "live"], default="demo")
    # A real venue's login, kept encrypted, never answered. ProjectX: its firm,
    # user name and API key; Tradovate: user name, password and the API key's id
    # (`cid`) and secret (`sec`), on `mode`'s environment; TradeLocker: e-mail,
    # password and the broker's server name, on `mode`'s environment. Then the
    # account to connect (optional where the login holds only one).
    firm = serializers.CharField(max_length=32, required=False)
    user_name = serializers.CharField(max_length=120, required=False)
    email = serializers.CharField(max_length=254, required=False)
    server = serializers.CharField(max_length=120, required=False)
    api_key = serializers.CharField(max_length=500, required=False, write_only=True)
    password = serializers.CharField(max_length=200, required=False, write_only=True)
    cid = serializers.IntegerField(min_value=1, max_value=10**9, required=False)
    sec = serializers.CharField(max_length=200, required=False, write_only=True)
    account_id = serializers.CharField(max_length=32, required=False)
    confirm_live = serializers.BooleanField(default=False)
    # MetaTrader (`/register/mtx`): the platform, and what an order does while
    # the Expert Advisor is offline: wait `queue_seconds` for it, or be refused.
    platform = serializers.ChoiceField(choices=["mt4", "mt5"], default="mt5")
    offline_policy = serializers.ChoiceField(
        choices=["queue", "reject"], default="queue"
    )
    queue_seconds = serializers.IntegerField(min_value=0, max_value=3600, default=60)


class RegisterOutput(serializers.Serializer[dict[str, object]]):
    id = serializers.IntegerField()
    broker = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    balance = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, help_text="Null until synced."
    )
    currency = serializers.CharField()
    email = serializers.CharField(help_text="The venue login's, where it has one.")
    api_key = serializers.CharField(help_text="Shown once; only a hash is kept.")
    ea_token = serializers.CharField(
        required=False, help_text="MetaTrader: the EA's token, shown once."
    )
    ea_server_url = serializers.CharField(required=False)
    ea_download_url = serializers.CharField(required=False)
    ea_instructions = serializers.ListField(
        child=serializers.CharField(), required=False
    )


# The names `/register/{broker}` takes for MetaTrader; `platform` picks 4 or 5.
METATRADER_NAMES = {"mtx", "metatrader", "truforex", "mt4", "mt5"}


class RegisterView(APIView):
    """`POST /register/{broker}`: connect an account; returns `api_key`, once."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=RegisterInput,
        responses={201: RegisterOutput, **refusals(400, 401, 403, 404)},
    )
    def post(self, request: Request, broker: str) -> Response:
        if broker not in available_venues() and broker not in METATRADER_NAMES:
            raise NotFound(f"Broker {broker!r} is not available on this server.")
        workspace = workspaces_for(request.user, Perm.MANAGE_ACCOUNTS).first()
        if workspace is None:
            raise PermissionDenied("Your role cannot connect accounts.")
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        venue = broker
        if broker in METATRADER_NAMES and broker not in ("mt4", "mt5"):
            venue = str(values["platform"])
        if venue not in available_venues():
            raise NotFound(f"Broker {venue!r} is not available on this server.")
        try:
            account, plain = account_register(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                venue=venue,
                name=str(values["name"]),
                currency=str(values["currency"]),
                options={
                    key: values[key]
                    for key in (
                        "initial_balance",
                        "firm",
                        "user_name",
                        "email",
                        "server",
                        "api_key",
                        "password",
                        "cid",
                        "sec",
                        "mode",
                        "account_id",
                        "confirm_live",
                        "offline_policy",
                        "queue_seconds",
                    )
                    if key in values
                },
            )
        except VenueError as exc:
            raise ValidationError({"broker": [exc.message]}) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        body = {
            "id": account.pk,
            "broker": account.venue,
            "name": account.name,
            "status": account.status,
            "balance": account.balance,
            "currency": account.currency,
            "email": values.get("email", ""),
            "api_key": plain,
        }
        if venue in ("mt4", "mt5"):
            body.update(ea_setup(account, site(request)))
        return Response(body, status=status.HTTP_201_CREATED)


# What an alert's `extras` may hold: its own JSON, echoed; scalars, or one level
# of lists and maps of scalars.
_SCALAR: dict[str, object] = {
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
    "nullable": True,
}
_EXTRAS = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            *_SCALAR["anyOf"],  # type: ignore[misc]
            {"type": "array", "items": _SCALAR},
            {"type": "object", "additionalProperties": _SCALAR},
        ],
        "nullable": True,
    },
    "description": "The alert's own `extras`, as it sent them.",
}


@extend_schema_field(_EXTRAS)
class ExtrasField(serializers.DictField):
    """Schema only: `extras` of a signal's payload."""


OFFSET = inline_serializer(
    "SignalOffset",
    {
        "value": serializers.CharField(help_text="A decimal as text."),
        "unit": serializers.ChoiceField(
            ["price", "ticks", "points", "percent", "dollars"]
        ),
    },
)


def _offset() -> serializers.Serializer:
    return type(OFFSET)(allow_null=True, required=False)


def _text(**kwargs: object) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, **kwargs)  # type: ignore[arg-type]


# The parsed intent (webhooks.intake.intents.Intent.as_payload), with the
# contract it resolved to; decimals as text, times as ISO-8601.
SIGNAL_PAYLOAD = inline_serializer(
    "SignalPayload",
    {
        "action": serializers.CharField(),
        "symbol": _text(),
        "contract": _text(help_text="The alert's symbol resolved: today's contract."),
        "quantity": _text(),
        "quantity_type": _text(),
        "sentiment": _text(),
        "target_size": _text(),
        "order_type": _text(),
        "price": _text(),
        "limit_price": _text(),
        "stop_price": _text(),
        "trailing_stop": _offset(),
        "stop_loss": _offset(),
        "take_profit": _offset(),
        "time_in_force": _text(),
        "cancel_orders": serializers.BooleanField(required=False),
        "sender_id": _text(),
        "sent_at": _text(),
        "comment": _text(),
        "strategy": _text(),
        "group": _text(),
        "extras": ExtrasField(required=False),
    },
)


@extend_schema_field(SIGNAL_PAYLOAD)
class PayloadField(serializers.JSONField):
    """The stored payload as it is; its schema is the parsed intent's."""


class ExecutionSerializer(serializers.ModelSerializer[Execution]):
    class Meta:
        model = Execution
        fields = [
            "account_id",
            "status",
            "error_code",
            "error_message",
            "started_at",
            "risk_checked_at",
            "sent_at",
            "acknowledged_at",
            "filled_at",
        ]


class SignalSerializer(serializers.ModelSerializer[Signal]):
    executions = ExecutionSerializer(many=True, read_only=True)
    payload = PayloadField(
        read_only=True, allow_null=True, help_text="Null: refused before parsing."
    )

    class Meta:
        model = Signal
        fields = [
            "id",
            "account_id",
            "strategy_id",
            "group_id",
            "broker",
            "status",
            "http_status",
            "error_code",
            "error_message",
            "payload",
            "source_ip",
            "received_at",
            "queued_at",
            "started_at",
            "finished_at",
            "executions",
        ]


@extend_schema_view(
    get=extend_schema(
        responses={200: SignalSerializer(many=True), **refusals(400, 401)}
    )
)
class SignalList(WorkspaceScopedMixin, generics.ListAPIView[Signal]):
    """`GET /api/logs/webhooks`: the signal log, newest first."""

    queryset = Signal.objects.prefetch_related("executions")
    serializer_class = SignalSerializer
