"""The simulated venue's books: accounts, orders, fills, positions, trades, quotes."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from brokers.fields import MoneyField, QuantityField
from brokers.models import BrokerAccount, OrderType, Side


class TimeInForce(models.TextChoices):
    DAY = "DAY", "Day"
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"


class PaperAccount(models.Model):
    """The venue-side account behind a `paper` BrokerAccount, with its fill settings.

    Cash moves with realized P&L and costs; equity adds open P&L at the last price.
    `day_start_equity` is taken at the first update of each trading day, so that
    day P&L resets at the session boundary.
    """

    broker_account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="paper"
    )
    initial_balance = MoneyField()
    cash_balance = MoneyField()
    realized_pnl = MoneyField(default=Decimal(0))
    commissions_paid = MoneyField(default=Decimal(0))
    currency = models.CharField(max_length=3, default="USD")
    trading_day = models.DateField(null=True, blank=True)
    day_start_equity = MoneyField(null=True, blank=True)
    # Fill model settings (seed 003's defaults: $2.25 commission, $1.27 fees).
    spread_ticks = models.PositiveSmallIntegerField(default=1)
    slippage_ticks = models.PositiveSmallIntegerField(default=0)
    slippage_per_size = QuantityField(
        null=True,
        blank=True,
        help_text="One more tick of slippage per this many units.",
    )
    commission_per_unit = MoneyField(default=Decimal("2.25"))
    fee_per_unit = MoneyField(default=Decimal("1.27"))
    commission_bps = MoneyField(
        default=Decimal(10), help_text="Basis points of notional, stocks and crypto."
    )
    execution_delay_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    reset_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"paper:{self.pk} {self.broker_account.name}"


class PaperOrder(models.Model):
    """An order as the venue sees it; unique per client order id (idempotent place)."""

    class Status(models.TextChoices):
        WORKING = "working", "Working"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        REJECTED = "rejected", "Rejected"

    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="orders"
    )
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.DAY
    )
    quantity = QuantityField()
    limit_price = MoneyField(null=True, blank=True)
    stop_price = MoneyField(null=True, blank=True)
    trail_distance = MoneyField(null=True, blank=True)
    trail_anchor = MoneyField(null=True, blank=True)
    triggered = models.BooleanField(default=False)
    # Bracket: the entry carries the levels; its children are linked OCO siblings.
    stop_loss = MoneyField(null=True, blank=True)
    take_profit = MoneyField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    trading_day = models.DateField(null=True, blank=True)
    strategy = models.CharField(max_length=120, blank=True)
    comment = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    filled_quantity = QuantityField(default=Decimal(0))
    avg_fill_price = MoneyField(null=True, blank=True)
    reject_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    filled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                name="paper_order_client_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["symbol", "status"], name="paper_order_working"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} ({self.status})"


class PaperFill(models.Model):
    order = models.ForeignKey(
        PaperOrder, on_delete=models.CASCADE, related_name="fills"
    )
    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="fills"
    )
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = QuantityField()
    price = MoneyField()
    commission = MoneyField(default=Decimal(0))
    fees = MoneyField(default=Decimal(0))
    slippage = MoneyField(default=Decimal(0))
    filled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-filled_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price}"


class PaperPosition(models.Model):
    """Net position per symbol. `entry_costs` are the open part's commissions."""

    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="positions"
    )
    symbol = models.CharField(max_length=32)
    quantity = QuantityField(default=Decimal(0))
    avg_price = MoneyField(null=True, blank=True)
    entry_costs = MoneyField(default=Decimal(0))
    opened_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"], name="paper_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.quantity}"


class PaperTrade(models.Model):
    """A round trip: quantity opened and closed again, with its net P&L."""

    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="trades"
    )
    symbol = models.CharField(max_length=32)
    direction = models.CharField(max_length=5)  # long | short
    quantity = QuantityField()
    entry_price = MoneyField()
    exit_price = MoneyField()
    gross_pnl = MoneyField()
    costs = MoneyField()
    pnl = MoneyField()
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["closed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.direction} {self.quantity} {self.symbol}: {self.pnl}"


class Quote(models.Model):
    """The last known price of a symbol.

    Feed and broker prices are global (`account` empty). A price an alert reports is
    kept for that account only: one trader's alert never moves another's market.
    """

    class Source(models.TextChoices):
        ALERT = "alert", "Alert"
        BROKER = "broker", "Broker"
        SYNTHETIC = "synthetic", "Synthetic"
        MANUAL = "manual", "Manual"

    symbol = models.CharField(max_length=32)
    account = models.ForeignKey(
        PaperAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    last = MoneyField()
    bid = MoneyField(null=True, blank=True)
    ask = MoneyField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["symbol"],
                condition=models.Q(account__isnull=True),
                name="quote_global_unique",
            ),
            models.UniqueConstraint(
                fields=["symbol", "account"],
                condition=models.Q(account__isnull=False),
                name="quote_account_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.last}"
