"""Seed-002 reads: the user's broker accounts and open positions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers

from accounts.api import WorkspaceScopedMixin
from brokers.models import BrokerAccount, Position, Venue

BROKER_PARAMETER = OpenApiParameter(
    "broker",
    str,
    enum=Venue.values,
    description="Only accounts at this venue. Absent: every venue. A value with a "
    "NUL character is a 400.",
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
        return queryset.filter(venue=broker) if broker else queryset


@extend_schema_view(get=extend_schema(parameters=[BROKER_PARAMETER]))
class PositionList(WorkspaceScopedMixin, generics.ListAPIView[Position]):
    """`GET /api/positions[?broker=paper]`: open positions."""

    queryset = Position.objects.select_related("account")
    serializer_class = PositionSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset().exclude(quantity=0)
        broker = self.request.query_params.get("broker")
        return queryset.filter(account__venue=broker) if broker else queryset
