from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from brokers.models import BrokerAccount, Fill, Order, Position, PositionClose


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "venue",
        "workspace",
        "mode",
        "enabled",
        "status",
        "balance",
        "last_sync_at",
        "removed_at",
    ]
    # Removed accounts too (the default manager): staff look after their history,
    # and clear `removed_at` to give one back.
    list_filter = ["venue", "mode", "enabled", "status", "removed_at"]
    search_fields = ["name", "external_id", "workspace__name"]
    # Credentials are encrypted at rest and never shown, not even to staff.
    exclude = ["credentials"]
    readonly_fields = [
        "balance",
        "equity",
        "last_sync_at",
        "error_code",
        "error_message",
        "error_at",
        "created_at",
    ]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "client_order_id",
        "account",
        "side",
        "quantity",
        "symbol",
        "order_type",
        "status",
        "avg_fill_price",
        "created_at",
    ]
    list_filter = ["status", "side", "order_type"]
    search_fields = ["client_order_id", "venue_order_id", "symbol"]
    raw_id_fields = ["account", "workspace"]


@admin.register(Fill)
class FillAdmin(admin.ModelAdmin):
    list_display = [
        "venue_fill_id",
        "account",
        "side",
        "quantity",
        "symbol",
        "price",
        "filled_at",
    ]
    search_fields = ["venue_fill_id", "symbol"]
    raw_id_fields = ["account", "order", "workspace"]


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["account", "symbol", "quantity", "avg_price", "updated_at"]
    search_fields = ["symbol", "account__name"]
    raw_id_fields = ["account", "workspace"]


@admin.register(PositionClose)
class PositionCloseAdmin(admin.ModelAdmin):
    """What our exits closed at a hedging venue, by position id: a record, read
    by the adapter to never close twice, so staff may look and not touch."""

    list_display = [
        "client_order_id",
        "account",
        "position_id",
        "side",
        "quantity",
        "held",
        "created_at",
    ]
    search_fields = ["client_order_id", "position_id", "account__name"]
    raw_id_fields = ["account"]

    def has_change_permission(
        self, request: HttpRequest, obj: PositionClose | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: PositionClose | None = None
    ) -> bool:
        return False
