"""Risk rules per broker account."""

from __future__ import annotations

from django.db import models

from brokers.fields import QuantityField
from brokers.models import BrokerAccount


class RiskConfig(models.Model):
    """The limits an account's orders are checked against. Empty means no limit."""

    account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="risk_config"
    )
    max_order_quantity = QuantityField(null=True, blank=True)
    max_position_per_symbol = QuantityField(null=True, blank=True)
    max_contracts = QuantityField(
        null=True,
        blank=True,
        help_text="Total open quantity across all symbols.",
    )

    def __str__(self) -> str:
        return f"Risk for {self.account}"
