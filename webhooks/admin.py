from __future__ import annotations

from django.contrib import admin

from webhooks.models import ApiKey, Signal


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "account",
        "workspace",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    search_fields = ["prefix", "account__name", "workspace__name"]
    # Only a hash is stored; nothing here can reveal a key.
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    raw_id_fields = ["account", "workspace", "created_by"]


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "received_at",
        "workspace",
        "account",
        "broker",
        "status",
        "http_status",
        "error_code",
    ]
    list_filter = ["status", "broker", "error_code"]
    search_fields = ["raw_body", "error_code", "source_ip"]
    date_hierarchy = "received_at"
    raw_id_fields = ["account", "workspace", "api_key", "order"]
    readonly_fields = [
        "raw_body",
        "payload",
        "received_at",
        "queued_at",
        "started_at",
        "risk_checked_at",
        "sent_at",
        "acknowledged_at",
        "filled_at",
    ]
