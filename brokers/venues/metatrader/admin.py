from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from brokers.venues.metatrader.models import Command, Terminal


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    """An account's Expert Advisor as it last reported. Staff may change what an
    order does while it is offline; the token is a hash nobody can use."""

    list_display = [
        "account",
        "platform",
        "login",
        "server",
        "last_heartbeat_at",
        "offline_at",
        "offline_policy",
    ]
    list_filter = ["platform", "offline_policy"]
    search_fields = ["account__name", "login", "server", "broker", "token_prefix"]
    raw_id_fields = ["account"]
    exclude = ["token_hash", "session"]
    readonly_fields = [
        field.name
        for field in Terminal._meta.get_fields()
        if getattr(field, "concrete", False)
        and field.name
        not in {"id", "token_hash", "session", "offline_policy", "queue_seconds"}
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Command)
class CommandAdmin(admin.ModelAdmin):
    """The commands given to the EAs and what they answered: a record, read-only
    (the EA executes each once by its id; a changed row would lie to it)."""

    list_display = [
        "pk",
        "account",
        "action",
        "symbol",
        "side",
        "volume",
        "status",
        "retcode_text",
        "created_at",
        "acked_at",
    ]
    list_filter = ["status", "action"]
    search_fields = ["client_order_id", "account__name", "symbol", "result_ticket"]
    raw_id_fields = ["account", "after"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Command | None = None
    ) -> bool:
        return False
