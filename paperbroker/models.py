"""The simulated venue's own books: accounts, orders, fills, positions, quotes."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from brokers.fields import MoneyField, QuantityField
from brokers.models import BrokerAccount, OrderType, Side


class PaperAccount(models.Model):
    """The venue-side account behind a `paper` BrokerAccount."""

    broker_account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="paper"
    )
    initial_balance = MoneyField()
    cash_balance = MoneyField()
    currency = models.CharField(max_length=3, default="USD")
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
        REJECTED = "rejected", "Rejected"

    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="orders"
    )
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    quantity = QuantityField()
    limit_price = MoneyField(null=True, blank=True)
    stop_price = MoneyField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    filled_quantity = QuantityField(default=Decimal(0))
    avg_fill_price = MoneyField(null=True, blank=True)
    reject_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    filled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                name="paper_order_client_id_unique",
            )
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
    filled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-filled_at"]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price}"


class PaperPosition(models.Model):
    account = models.ForeignKey(
        PaperAccount, on_delete=models.CASCADE, related_name="positions"
    )
    symbol = models.CharField(max_length=32)
    quantity = QuantityField(default=Decimal(0))
    avg_price = MoneyField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"], name="paper_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.quantity}"


class Quote(models.Model):
    """The last known price of a symbol, whoever reported it."""

    class Source(models.TextChoices):
        ALERT = "alert", "Alert"
        BROKER = "broker", "Broker"
        SYNTHETIC = "synthetic", "Synthetic"
        MANUAL = "manual", "Manual"

    symbol = models.CharField(max_length=32, unique=True)
    last = MoneyField()
    bid = MoneyField(null=True, blank=True)
    ask = MoneyField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.symbol} {self.last}"
