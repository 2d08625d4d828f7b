"""Seed-002 reads: the user's broker accounts and open positions; what an
alert's symbol would trade on an account."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import WorkspaceScopedMixin
from brokers.models import BrokerAccount, Position, Venue, venues_named
from brokers.selectors import account_for_user_or_404
from brokers.symbols import symbol_lookup
from common.api import error_body

BROKER_PARAMETER = OpenApiParameter(
    "broker",
    str,
    enum=[*Venue.values, "topstep", "mtx", "truforex"],
    description="Only accounts at this venue (topstep: projectx; mtx and "
    "truforex: MetaTrader 4 and 5). Absent: every venue. A value with a NUL "
    "character is a 400.",
)


class BrokerAccountSerializer(serializers.ModelSerializer[BrokerAccount]):
    broker = serializers.CharField(source="venue")

    class Meta:
        model = BrokerAccount
        # `credentials` is never serialized.
        fields = [
            "id",
            "broker",
            "name",
            "mode",
            "currency",
            "enabled",
            "status",
            "balance",
            "equity",
            "last_sync_at",
            "created_at",
        ]


class PositionSerializer(serializers.ModelSerializer[Position]):
    broker = serializers.CharField(source="account.venue")
    side = serializers.CharField()

    class Meta:
        model = Position
        fields = [
            "id",
            "account_id",
            "broker",
            "symbol",
            "side",
            "quantity",
            "avg_price",
            "updated_at",
        ]


@extend_schema_view(get=extend_schema(parameters=[BROKER_PARAMETER]))
class BrokerAccountList(WorkspaceScopedMixin, generics.ListAPIView[BrokerAccount]):
    """`GET /api/user/brokers[?broker=paper]`"""

    queryset = BrokerAccount.objects.all()
    serializer_class = BrokerAccountSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset()
        broker = self.request.query_params.get("broker")
        return queryset.filter(venue__in=venues_named(broker)) if broker else queryset


@extend_schema_view(get=extend_schema(parameters=[BROKER_PARAMETER]))
class PositionList(WorkspaceScopedMixin, generics.ListAPIView[Position]):
    """`GET /api/positions[?broker=paper]`: open positions."""

    queryset = Position.objects.select_related("account")
    serializer_class = PositionSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset().exclude(quantity=0)
        broker = self.request.query_params.get("broker")
        if not broker:
            return queryset
        return queryset.filter(account__venue__in=venues_named(broker))


# A refusal is the caller's to act on (4xx): a symbol to fix, a map to add, or a
# venue to ask again later (424: the lookup depended on the venue's answer).
LOOKUP_STATUS = {
    "too-many-lookups": status.HTTP_429_TOO_MANY_REQUESTS,
    "venue-unavailable": status.HTTP_424_FAILED_DEPENDENCY,
    "credentials-missing": status.HTTP_409_CONFLICT,
}


class SymbolLookup(APIView):
    """`GET /api/accounts/{id}/symbols/lookup?symbol=NQ1!`: what an alert's symbol
    would trade on the account now (its override, the contract, the venue's name
    for it). Nothing is sent. A refusal is the one error shape with the lookup as
    far as it got under `lookup`: 422 for a symbol, 424 when the venue could not
    be asked, 429 past the lookups a minute."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "symbol", str, required=True, description="As an alert sends it."
            )
        ],
        responses={200: OpenApiTypes.OBJECT, 422: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk)
        symbol = str(request.query_params.get("symbol", ""))
        if not symbol.strip():
            raise ValidationError({"symbol": ["The alert's symbol, e.g. NQ1!."]})
        lookup = symbol_lookup(account=account, alert_symbol=symbol)
        if lookup.ok:
            return Response({"success": True, **lookup.as_dict()})
        body = {**error_body(lookup.code, lookup.message), "lookup": lookup.as_dict()}
        return Response(body, status=LOOKUP_STATUS.get(lookup.code, 422))
