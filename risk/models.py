"""Risk rules per broker account, prop-firm presets as data, the account's risk
state between checks, and the violations that were caught."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from brokers.fields import MoneyField, QuantityField
from brokers.models import BrokerAccount


class DailyLossAction(models.TextChoices):
    BLOCK = "block", "Block new entries for the session"
    FLATTEN = "flatten", "Flatten"
    FLATTEN_LOCK = "flatten_lock", "Flatten and lock for the session"


class MaxLossMode(models.TextChoices):
    EOD = "eod", "Trails the end-of-day balance"
    INTRADAY = "intraday", "Trails the intraday equity high"


class RiskPreset(models.Model):
    """A prop firm's published rules for one program and size, with its source.

    Loaded from risk/presets.json; staff edit them in the admin. Picking one copies
    its values into an account's RiskConfig, which the trader may then adjust.
    """

    key = models.SlugField(max_length=40, unique=True)
    firm = models.CharField(max_length=40, blank=True)
    program = models.CharField(max_length=60)
    size = MoneyField(null=True, blank=True, help_text="Starting balance.")
    rules = models.JSONField(default=dict, help_text="RiskConfig field values.")
    source = models.CharField(max_length=300)
    as_of = models.DateField(help_text="When the source was read.")

    class Meta:
        ordering = ["firm", "program", "size"]

    def __str__(self) -> str:
        size = f" {self.size:,.0f}" if self.size else ""
        return f"{self.firm} {self.program}{size}".strip()


class RiskConfig(models.Model):
    """The limits an account's orders are checked against. Empty means no limit."""

    account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="risk_config"
    )
    preset = models.ForeignKey(
        RiskPreset, null=True, blank=True, on_delete=models.SET_NULL
    )
    starting_balance = MoneyField(null=True, blank=True)
    max_order_quantity = QuantityField(null=True, blank=True)
    max_position_per_symbol = QuantityField(null=True, blank=True)
    max_contracts = QuantityField(
        null=True,
        blank=True,
        help_text="Total open quantity across all symbols, in full-size contracts.",
    )
    micros_per_contract = models.PositiveSmallIntegerField(
        default=1, help_text="How many micro contracts count as one (10: 10 MNQ = 1)."
    )
    daily_loss_limit = MoneyField(
        null=True, blank=True, help_text="Realized + unrealized, per trading session."
    )
    daily_loss_action = models.CharField(
        max_length=12, choices=DailyLossAction.choices, default=DailyLossAction.BLOCK
    )
    max_loss_limit = MoneyField(
        null=True, blank=True, help_text="Distance of the trailing floor."
    )
    max_loss_mode = models.CharField(
        max_length=8, choices=MaxLossMode.choices, default=MaxLossMode.EOD
    )
    trail_stops_at_start = models.BooleanField(
        default=True,
        help_text="The floor stops trailing once it reaches the starting balance.",
    )
    profit_target = MoneyField(null=True, blank=True)
    stop_at_profit_target = models.BooleanField(default=False)
    max_trades_per_day = models.PositiveIntegerField(null=True, blank=True)
    allowed_symbols = models.JSONField(
        default=list, blank=True, help_text='Roots, e.g. ["MNQ", "MES"]; empty: any.'
    )
    allowed_sides = models.CharField(
        max_length=5,
        choices=[("both", "Long and short"), ("long", "Long"), ("short", "Short")],
        default="both",
    )
    max_risk_per_trade = MoneyField(
        null=True, blank=True, help_text="Stop distance x tick value x quantity."
    )
    risk_action = models.CharField(
        max_length=6,
        choices=[("reject", "Reject the order"), ("resize", "Resize it down")],
        default="reject",
        help_text="When an order risks more than the per-trade maximum.",
    )
    consistency_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    minimum_days = models.PositiveSmallIntegerField(null=True, blank=True)
    timezone = models.CharField(
        max_length=40, default="America/Chicago", help_text="For windows and times."
    )
    trading_windows = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per weekday, e.g. {"mon": [["08:30", "15:00"]]}; empty: any time.',
    )
    exits_outside_window = models.BooleanField(default=True)
    flatten_at = models.TimeField(
        null=True, blank=True, help_text="Flatten every day at this time (e.g. 15:55)."
    )
    news_blackout_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="No entries this many minutes around events."
    )
    news_min_impact = models.CharField(
        max_length=6,
        choices=[("high", "High"), ("medium", "Medium and high"), ("low", "All")],
        default="high",
    )
    news_flatten_before = models.BooleanField(default=False)
    cooldown_losses = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="After this many losing trades in a row…"
    )
    cooldown_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="…no entries for this many minutes."
    )

    def __str__(self) -> str:
        return f"Risk for {self.account}"


class RiskState(models.Model):
    """What the rules need between checks: the session's start, the trailing
    floor, today's count; locked with the account row during a check."""

    account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="risk_state"
    )
    trading_day = models.DateField(null=True, blank=True)
    day_start_balance = MoneyField(null=True, blank=True)
    high_balance = MoneyField(
        null=True, blank=True, help_text="The high the floor trails (EOD or intraday)."
    )
    floor = MoneyField(null=True, blank=True)
    equity = MoneyField(null=True, blank=True, help_text="As last measured.")
    trades_today = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    target_reached_at = models.DateTimeField(null=True, blank=True)
    losing_streak = models.PositiveSmallIntegerField(default=0)
    last_flat_balance = MoneyField(
        null=True, blank=True, help_text="Balance when last flat: a trade's result."
    )
    cooldown_until = models.DateTimeField(null=True, blank=True)
    flattened_for = models.DateField(
        null=True, blank=True, help_text="The day the daily flatten time last ran."
    )
    daily_results = models.JSONField(
        default=dict, help_text="Closed sessions: {day: P&L}, for consistency and days."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Risk state of {self.account}"


class Violation(models.Model):
    """A rule that was broken (or about to be) and what TradeFlow did about it."""

    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="violations"
    )
    rule = models.CharField(max_length=40)
    detail = models.CharField(max_length=500)
    numbers = models.JSONField(default=dict)
    action = models.CharField(max_length=40)
    trading_day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One record per rule and session: the monitor runs every few seconds.
            models.UniqueConstraint(
                fields=["account", "rule", "trading_day"], name="violation_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.account} ({self.created_at:%Y-%m-%d})"


class EconomicEvent(models.Model):
    """A scheduled release (FOMC, CPI, NFP…): entries are blocked around it.

    Staff fill the calendar in the admin or import an iCalendar file
    (`manage.py economic_calendar_import FILE`); `uid` makes imports idempotent.
    """

    class Impact(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    uid = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, blank=True, help_text="USD, EUR…")
    impact = models.CharField(max_length=6, choices=Impact.choices, default="high")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.at:%Y-%m-%d %H:%M} UTC)"
