"""Our record of each venue: accounts, orders, fills and positions."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from accounts.scoping import WorkspaceScopedQuerySet
from brokers.fields import EncryptedTextField, MoneyField, QuantityField


class Venue(models.TextChoices):
    PAPER = "paper", "Paper"
    PROJECTX = "projectx", "TopstepX / ProjectX"
    TRADOVATE = "tradovate", "Tradovate"
    TRADELOCKER = "tradelocker", "TradeLocker"
    MT4 = "mt4", "MetaTrader 4"
    MT5 = "mt5", "MetaTrader 5"


# Names a webhook URL or a `?broker=` filter may give venues by: seed 002's
# `/webhook/topstep`, and `truforex` (an MT5 broker) or `mtx` for MetaTrader.
VENUE_ALIASES: dict[str, tuple[str, ...]] = {
    "topstep": ("projectx",),
    "topstepx": ("projectx",),
    "mtx": ("mt4", "mt5"),
    "metatrader": ("mt4", "mt5"),
    "truforex": ("mt4", "mt5"),
}


def venues_named(broker: str) -> tuple[str, ...]:
    """The venues a name stands for: itself, or what it is an alias of."""
    return VENUE_ALIASES.get(broker.lower(), (broker,))


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"
    STOP = "stop", "Stop"
    STOP_LIMIT = "stop_limit", "Stop limit"
    TRAILING_STOP = "trailing_stop", "Trailing stop"


class AccountQuerySet(WorkspaceScopedQuerySet["BrokerAccount"]):
    """Broker accounts, scoped by `for_user` / `for_workspace`."""


_AccountManager = models.Manager.from_queryset(AccountQuerySet)


class _LiveAccounts(_AccountManager["BrokerAccount"]):
    """The accounts a trader has: a removed one is not among them (it is
    history: its signals, orders and fills stay, and reach it)."""

    def get_queryset(self) -> AccountQuerySet:
        live = AccountQuerySet(self.model, using=self._db)
        return live.filter(removed_at__isnull=True)


class BrokerAccount(models.Model):
    """A trader's account at one venue. Credentials are encrypted, never shown.

    `objects` holds the accounts the trader has; one removed for good (seed
    004's DELETE, once it has traded: webhooks.removal) keeps its row for its
    history, with `removed_at` set, and is only in `all_objects`, the default
    manager (the admin, backups and the framework's lookups see it: staff do).
    """

    class Mode(models.TextChoices):
        DEMO = "demo", "Demo"
        LIVE = "live", "Live"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSE_ONLY = "close_only", "Close only"
        ERROR = "error", "Error"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="broker_accounts"
    )
    venue = models.CharField(max_length=16, choices=Venue.choices)
    name = models.CharField(max_length=120)
    external_id = models.CharField(
        max_length=64, blank=True, help_text="The venue's account id."
    )
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.DEMO)
    currency = models.CharField(max_length=3, default="USD")
    enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    credentials = EncryptedTextField(blank=True, default="")
    symbol_overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text='Futures roots to trade instead of the alert\'s: {"NQ": "MNQ"}.',
    )
    venue_symbols = models.JSONField(
        default=dict,
        blank=True,
        help_text='The venue\'s own names for our instruments: {"XAUUSD": "GOLD"}.',
    )
    balance = MoneyField(null=True, blank=True)
    equity = MoneyField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # What the venue last said that the trader must act on (a captcha to solve, a
    # login refused, a sign-in ended), until a sync succeeds again.
    error_code = models.CharField(max_length=48, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="Removed by the trader; kept for history."
    )

    objects = _LiveAccounts()
    all_objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        default_manager_name = "all_objects"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_venue_display()})"


class Order(models.Model):
    """An order we sent (or mean to send) to a venue.

    `client_order_id` is derived from what caused the order (signal, account, leg), and
    is unique per account: a retried task finds its order instead of placing another.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # recorded, not yet acknowledged by the venue
        WORKING = "working", "Working"
        FILLED = "filled", "Filled"
        PARTIALLY_FILLED = "partially_filled", "Partially filled"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"

    FINAL = frozenset({Status.FILLED, Status.CANCELLED, Status.REJECTED})

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="orders"
    )
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="orders"
    )
    client_order_id = models.CharField(max_length=64)
    venue_order_id = models.CharField(max_length=64, blank=True)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    quantity = QuantityField()
    limit_price = MoneyField(null=True, blank=True)
    stop_price = MoneyField(null=True, blank=True)
    # The protective stop attached to the fill (a bracket), if any: what the
    # position this order opens risks is measured to it.
    stop_loss = MoneyField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    filled_quantity = QuantityField(default=Decimal(0))
    avg_fill_price = MoneyField(null=True, blank=True)
    reject_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    filled_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="order_client_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} ({self.status})"


class Fill(models.Model):
    """One execution at the venue; `venue_fill_id` makes recording it idempotent."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="fills"
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="fills"
    )
    venue_fill_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = QuantityField()
    price = MoneyField()
    commission = MoneyField(default=Decimal(0))
    filled_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-filled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "venue_fill_id"], name="fill_venue_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price}"


class Position(models.Model):
    """Net position per account and symbol: quantity is signed (short < 0)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="positions"
    )
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="positions"
    )
    symbol = models.CharField(max_length=32)
    quantity = QuantityField(default=Decimal(0))
    avg_price = MoneyField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["account_id", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"], name="position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.quantity} @ {self.avg_price}"

    @property
    def side(self) -> str:
        return "long" if self.quantity > 0 else "short" if self.quantity < 0 else "flat"


class PositionClose(models.Model):
    """A venue position, by its id, that an order of ours closes (or part of it).

    A hedging venue (TradeLocker) does not net an opposite order against a
    position: it opens another. Our exits close positions by id instead, and a
    close carries no id of ours to look it up by. So it is written down here
    before it is sent: a retry after a lost answer or a crash finds it, sees from
    the position whether it happened, and never closes twice.
    """

    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="position_closes"
    )
    client_order_id = models.CharField(max_length=64)
    position_id = models.CharField(max_length=64)
    side = models.CharField(
        max_length=4, choices=Side.choices, help_text="The close's."
    )
    quantity = QuantityField(help_text="How much of it this order closes.")
    held = QuantityField(help_text="Its size when the close was decided.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id", "position_id"],
                name="position_close_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id}: close {self.quantity} of {self.position_id}"
