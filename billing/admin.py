from __future__ import annotations

from django.contrib import admin

from billing.models import BillingAccount


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = [
        "workspace",
        "plan",
        "trial_started_at",
        "trades_count",
        "stripe_customer_id",
    ]
    list_filter = ["plan"]
    search_fields = ["workspace__name", "stripe_customer_id"]
