from __future__ import annotations

from django.contrib import admin

from risk.models import EconomicEvent, RiskConfig, RiskPreset, RiskState, Violation


@admin.register(RiskPreset)
class RiskPresetAdmin(admin.ModelAdmin):
    """Staff keep the firms' rules current here; each change names its source."""

    list_display = ["__str__", "key", "size", "as_of", "source"]
    list_filter = ["firm", "program"]
    search_fields = ["key", "firm", "program", "source"]


@admin.register(RiskConfig)
class RiskConfigAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "preset",
        "daily_loss_limit",
        "max_loss_limit",
        "max_loss_mode",
        "max_contracts",
    ]
    raw_id_fields = ["account"]


@admin.register(RiskState)
class RiskStateAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "trading_day",
        "equity",
        "floor",
        "day_start_balance",
        "trades_today",
        "locked_until",
    ]
    raw_id_fields = ["account"]
    readonly_fields = ["updated_at"]


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "rule", "action", "detail"]
    list_filter = ["rule", "action"]
    raw_id_fields = ["account"]
    date_hierarchy = "created_at"


@admin.register(EconomicEvent)
class EconomicEventAdmin(admin.ModelAdmin):
    """The news calendar: staff add events here or import an iCalendar file."""

    list_display = ["at", "name", "currency", "impact"]
    list_filter = ["impact", "currency"]
    search_fields = ["name", "uid"]
    date_hierarchy = "at"
