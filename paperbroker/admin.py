from __future__ import annotations

from django.contrib import admin

from paperbroker.models import (
    PaperAccount,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperTrade,
    Quote,
)


@admin.register(PaperAccount)
class PaperAccountAdmin(admin.ModelAdmin):
    list_display = [
        "broker_account",
        "initial_balance",
        "cash_balance",
        "currency",
        "created_at",
    ]
    raw_id_fields = ["broker_account"]


@admin.register(PaperOrder)
class PaperOrderAdmin(admin.ModelAdmin):
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
    list_filter = ["status", "order_type"]
    search_fields = ["client_order_id", "symbol"]
    raw_id_fields = ["account"]


@admin.register(PaperFill)
class PaperFillAdmin(admin.ModelAdmin):
    list_display = ["order", "side", "quantity", "symbol", "price", "filled_at"]
    raw_id_fields = ["order", "account"]


@admin.register(PaperPosition)
class PaperPositionAdmin(admin.ModelAdmin):
    list_display = ["account", "symbol", "quantity", "avg_price", "updated_at"]
    raw_id_fields = ["account"]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["symbol", "last", "bid", "ask", "source", "updated_at"]
    search_fields = ["symbol"]


@admin.register(PaperTrade)
class PaperTradeAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "symbol",
        "direction",
        "quantity",
        "entry_price",
        "exit_price",
        "pnl",
        "closed_at",
    ]
    list_filter = ["direction"]
    search_fields = ["symbol"]
    raw_id_fields = ["account"]
