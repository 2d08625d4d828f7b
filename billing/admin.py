from __future__ import annotations

from django.contrib import admin

from billing.models import BillingAccount, Plan, WhiteLabel


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Plans are data: prices, Stripe price ids and limits are edited here."""

    list_display = [
        "name",
        "code",
        "rank",
        "public",
        "trial",
        "monthly_price",
        "yearly_price",
        "max_accounts",
        "max_strategies",
        "max_fanout",
        "live_brokers",
        "api_access",
        "white_label",
    ]
    list_editable = ["public", "monthly_price", "yearly_price"]
    fieldsets = [
        (None, {"fields": ["code", "name", "tagline", "rank", "public", "trial"]}),
        ("Prices", {"fields": ["currency", "monthly_price", "yearly_price"]}),
        (
            "Stripe (filled by `manage.py billing_sync_plans`)",
            {
                "fields": [
                    "stripe_product",
                    "stripe_price_monthly",
                    "stripe_price_yearly",
                ]
            },
        ),
        (
            "Limits (blank: none)",
            {
                "fields": [
                    "max_accounts",
                    "max_strategies",
                    "max_fanout",
                    "live_brokers",
                    "notifications",
                    "api_access",
                    "white_label",
                ]
            },
        ),
    ]


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """A workspace's plan. Staff may grant a plan by hand (status active with no
    subscription); a Stripe subscription's next event overwrites it."""

    list_display = [
        "workspace",
        "plan",
        "status",
        "interval",
        "trades_count",
        "trial_started_at",
        "current_period_end",
        "stripe_customer_id",
    ]
    list_filter = ["status", "plan"]
    list_select_related = ["workspace", "plan"]
    search_fields = ["workspace__name", "stripe_customer_id", "stripe_subscription_id"]
    readonly_fields = ["stripe_customer_id", "stripe_subscription_id", "updated_at"]


@admin.register(WhiteLabel)
class WhiteLabelAdmin(admin.ModelAdmin):
    list_display = ["workspace", "brand_name", "custom_domain", "updated_at"]
    search_fields = ["workspace__name", "brand_name", "custom_domain"]
