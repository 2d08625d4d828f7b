from __future__ import annotations

from django.contrib import admin

from webhooks.models import (
    AccountGroup,
    ApiKey,
    Execution,
    Signal,
    Strategy,
    Subscription,
)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "account",
        "strategy",
        "group",
        "workspace",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    search_fields = ["prefix", "account__name", "strategy__name", "workspace__name"]
    # Only a hash is stored; nothing here can reveal a key.
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    raw_id_fields = ["account", "strategy", "group", "workspace", "created_by"]


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    raw_id_fields = ["account"]
    extra = 0


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "strategy",
        "account",
        "enabled",
        "multiplier",
        "max_quantity",
        "allowed_sides",
    ]
    list_filter = ["enabled", "allowed_sides"]
    search_fields = ["strategy__name", "account__name"]
    raw_id_fields = ["strategy", "account"]


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "workspace",
        "status",
        "manual_approval",
        "heartbeat_minutes",
        "last_signal_at",
        "heartbeat_missed_at",
    ]
    list_filter = ["status", "manual_approval"]
    search_fields = ["name", "workspace__name"]
    raw_id_fields = ["workspace"]
    # The signing secret is encrypted at rest and never shown.
    exclude = ["signing_secret"]
    inlines = [SubscriptionInline]


@admin.register(AccountGroup)
class AccountGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_at"]
    search_fields = ["name", "workspace__name"]
    raw_id_fields = ["workspace", "accounts"]
    exclude = ["signing_secret"]


EXECUTION_FIELDS = (
    "account",
    "status",
    "error_code",
    "error_message",
    "started_at",
    "sent_at",
    "filled_at",
)


class ExecutionInline(admin.TabularInline):
    model = Execution
    fields = EXECUTION_FIELDS
    readonly_fields = EXECUTION_FIELDS
    extra = 0
    can_delete = False


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "received_at",
        "workspace",
        "account",
        "strategy",
        "broker",
        "status",
        "http_status",
        "error_code",
    ]
    list_filter = ["status", "broker", "error_code"]
    search_fields = ["raw_body", "error_code", "source_ip"]
    date_hierarchy = "received_at"
    raw_id_fields = ["account", "workspace", "api_key", "strategy", "group"]
    readonly_fields = [
        "raw_body",
        "payload",
        "received_at",
        "queued_at",
        "started_at",
        "finished_at",
    ]
    inlines = [ExecutionInline]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "signal", "account", "status", "error_code", "created_at"]
    list_filter = ["status", "error_code"]
    raw_id_fields = ["signal", "account", "workspace", "orders", "decided_by"]
    readonly_fields = [
        "plan",
        "created_at",
        "started_at",
        "risk_checked_at",
        "sent_at",
        "acknowledged_at",
        "filled_at",
        "finished_at",
    ]
