from __future__ import annotations

from django.contrib import admin

from risk.models import RiskConfig


@admin.register(RiskConfig)
class RiskConfigAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "max_order_quantity",
        "max_position_per_symbol",
        "max_contracts",
    ]
    raw_id_fields = ["account"]
