"""Seed-002 reads: the user's broker accounts and open positions; what an
alert's symbol would trade on an account."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import WorkspaceScopedMixin
from brokers.models import BrokerAccount, Position, Venue, venues_named
from brokers.selectors import account_for_user_or_404
from brokers.symbols import symbol_lookup
from common.api import error_body, error_fields, refusals

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


@extend_schema_view(
    get=extend_schema(
        parameters=[BROKER_PARAMETER],
        responses={200: BrokerAccountSerializer(many=True), **refusals(400, 401)},
    )
)
class BrokerAccountList(WorkspaceScopedMixin, generics.ListAPIView[BrokerAccount]):
    """`GET /api/user/brokers[?broker=paper]`"""

    queryset = BrokerAccount.objects.all()
    serializer_class = BrokerAccountSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset()
        broker = self.request.query_params.get("broker")
        return queryset.filter(venue__in=venues_named(broker)) if broker else queryset


@extend_schema_view(
    get=extend_schema(
        parameters=[BROKER_PARAMETER],
        responses={200: PositionSerializer(many=True), **refusals(400, 401)},
    )
)
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


OVERRIDE = inline_serializer(
    "SymbolOverride", {"from": serializers.CharField(), "to": serializers.CharField()}
)
INSTRUMENT = inline_serializer(
    "LookupInstrument",
    {
        "symbol": serializers.CharField(),
        "name": serializers.CharField(),
        "asset_class": serializers.CharField(),
    },
)


def _lookup_fields() -> dict[str, serializers.Field]:
    """`Lookup.as_dict()`'s fields (fresh each call: a field has one parent)."""

    def text() -> serializers.CharField:
        return serializers.CharField(allow_null=True)

    return {
        "account_id": serializers.IntegerField(),
        "broker": serializers.CharField(),
        "alert_symbol": serializers.CharField(),
        "mapped_symbol": text(),
        "override": type(OVERRIDE)(allow_null=True),
        "instrument": type(INSTRUMENT)(allow_null=True),
        "contract": text(),
        "expiry": serializers.DateField(allow_null=True),
        "symbol": text(),
        "venue_symbol": text(),
        "ok": serializers.BooleanField(),
        "code": text(),
        "detail": text(),
    }


LOOKUP = inline_serializer(
    "SymbolLookup", {"success": serializers.BooleanField(), **_lookup_fields()}
)
LOOKUP_REFUSED = inline_serializer(
    "SymbolLookupRefused",
    {
        **error_fields(),
        "lookup": inline_serializer("SymbolLookupAsFar", _lookup_fields()),
    },
)


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
        responses={
            200: LOOKUP,
            **refusals(400, 401, 404),
            **{code: LOOKUP_REFUSED for code in (409, 422, 424, 429)},
        },
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
