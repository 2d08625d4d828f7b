"""Seed 002's "Fluxeo strategies management": `GET /api/strategies` and
`POST /api/strategies/activate`, over the same strategy services as seed 004's
bots and the strategy pages."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from accounts.tokens import scope_allows
from billing.quotas import QuotaExceeded
from common.api import ERROR, Refused, refusals
from webhooks.models import Strategy
from webhooks.selectors import strategies_listed_for_user, strategy_for_user_or_404
from webhooks.strategies.services import TargetError, strategy_activate
from webhooks.views.base import webhook_site

STRATEGY = inline_serializer(
    "Strategy",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(help_text="The bot name alerts use."),
        "description": serializers.CharField(),
        "status": serializers.ChoiceField(Strategy.Status.values),
        "active": serializers.BooleanField(),
        "base_name": serializers.CharField(),
        "timeframe": serializers.CharField(),
        "manual_approval": serializers.BooleanField(),
        "followers": serializers.IntegerField(
            help_text="Accounts following it with their subscription on."
        ),
        "accounts": serializers.ListField(
            child=serializers.IntegerField(), help_text="Every following account."
        ),
        "webhook_url": serializers.URLField(
            help_text="POST alerts here with the key after a slash, or signed "
            "(X-TradingView-Signature) with `botname` in the body."
        ),
        "key_prefix": serializers.CharField(
            allow_null=True, help_text="How the live key starts (shown once, whole)."
        ),
        "signing_secret": serializers.CharField(
            allow_null=True, help_text="Key managers only; null for everyone else."
        ),
        "last_signal_at": serializers.DateTimeField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
ACTIVATED = inline_serializer(
    "StrategyActivated",
    {"success": serializers.BooleanField(), "strategy": STRATEGY},
)


class ActivateInput(serializers.Serializer[dict[str, Any]]):
    strategy_id = serializers.IntegerField(min_value=1, max_value=10**18 - 1)
    active = serializers.BooleanField(
        default=True, help_text="false pauses it: its alerts are logged and refused."
    )


def _secrets_shown(request: Request) -> set[int]:
    """The workspaces whose signing secrets this request may read: the user
    manages their keys, and an API token (if one is used) is an admin token,
    since the secret signs alerts that trade."""
    token = request.auth
    if isinstance(token, ApiToken) and not scope_allows(token.scope, "admin"):
        return set()
    return set(
        workspaces_for(request.user, Perm.MANAGE_KEYS).values_list("pk", flat=True)
    )


def _strategy(
    strategy: Strategy, webhook_url: str, show_secret: bool
) -> dict[str, Any]:
    subscriptions = list(strategy.subscriptions.all())
    return {
        "id": strategy.pk,
        "name": strategy.name,
        "description": strategy.description,
        "status": strategy.status,
        "active": strategy.status == Strategy.Status.ACTIVE,
        "base_name": strategy.base_name,
        "timeframe": strategy.timeframe,
        "manual_approval": strategy.manual_approval,
        "followers": sum(1 for s in subscriptions if s.enabled),
        "accounts": [s.account_id for s in subscriptions],
        "webhook_url": webhook_url,
        "key_prefix": getattr(strategy, "key_prefix", None),
        "signing_secret": strategy.signing_secret if show_secret else None,
        "last_signal_at": strategy.last_signal_at,
        "created_at": strategy.created_at,
    }


class _Rendering:
    """Each strategy's body for one request: its workspace's webhook origin (a
    white-label domain or this site) looked up once per workspace."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.shown = _secrets_shown(request)
        self.urls: dict[int, str] = {}

    def body(self, strategy: Strategy) -> dict[str, Any]:
        workspace_id = strategy.workspace_id
        if workspace_id not in self.urls:
            origin = webhook_site(self.request, workspace_id)
            self.urls[workspace_id] = origin + reverse("webhook-tradingview")
        return _strategy(strategy, self.urls[workspace_id], workspace_id in self.shown)


class StrategyList(APIView):
    """`GET /api/strategies` (seed 002): the workspaces' strategies with their
    status, followers and webhook URL; signing secrets to key managers only."""

    @extend_schema(
        responses={200: serializers.ListSerializer(child=STRATEGY), 401: ERROR}
    )
    def get(self, request: Request) -> Response:
        rendering = _Rendering(request)
        strategies = strategies_listed_for_user(request.user)
        return Response([rendering.body(strategy) for strategy in strategies])


class StrategyActivate(APIView):
    """`POST /api/strategies/activate` {"strategy_id", "active"} (seed 002):
    activate a strategy, or pause it with `"active": false`. Admins only (a
    viewer 403, an outsider 404); activating past the plan's strategies is a
    403 `plan-limit:strategies`."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=ActivateInput,
        responses={
            200: ACTIVATED,
            **refusals(400, 401, 403, 404),
        },
    )
    def post(self, request: Request) -> Response:
        data = ActivateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        strategy = strategy_for_user_or_404(
            request.user, values["strategy_id"], Perm.MANAGE_ACCOUNTS
        )
        try:
            strategy_activate(strategy=strategy, active=values["active"])
        except TargetError as exc:
            raise Refused(exc.code, exc.message, status.HTTP_400_BAD_REQUEST) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        listed = strategies_listed_for_user(request.user).get(pk=strategy.pk)
        return Response({"success": True, "strategy": _Rendering(request).body(listed)})
