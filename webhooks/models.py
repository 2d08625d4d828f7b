"""Ingest keys and the log of every signal received, accepted or not."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from accounts.scoping import WorkspaceScopedQuerySet
from brokers.fields import EncryptedTextField, QuantityField
from brokers.models import BrokerAccount, Order

# TradingView's webhook senders (shared/reference/tradingview.md): a preset.
TRADINGVIEW_IPS = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")


class Timeframe(models.TextChoices):
    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H6 = "6h"
    D1 = "1d"
    D3 = "3d"


class Strategy(models.Model):
    """A named signal source (seed 004 "bot"): one URL, many subscribed accounts."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"  # alerts are logged and refused
        STOPPED = "stopped", "Stopped"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="strategies"
    )
    name = models.CharField(
        max_length=64, help_text="The bot name alerts use (`botname`, `strategy`)."
    )
    description = models.CharField(max_length=255, blank=True)
    base_name = models.CharField(
        max_length=32, blank=True, help_text="The instrument it trades (seed 004)."
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, blank=True, help_text="Chart period."
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    manual_approval = models.BooleanField(
        default=False, help_text="Signals wait on the dashboard for approve or reject."
    )
    heartbeat_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Expect an alert at least this often."
    )
    signing_secret = EncryptedTextField(
        blank=True, help_text="Verifies X-TradingView-Signature (HMAC-SHA256)."
    )
    last_signal_at = models.DateTimeField(null=True, blank=True)
    heartbeat_missed_at = models.DateTimeField(null=True, blank=True)
    accounts: models.ManyToManyField[BrokerAccount, Subscription] = (
        models.ManyToManyField(
            BrokerAccount, through="Subscription", related_name="strategies"
        )
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"
        # A signed alert names its strategy without a workspace.
        indexes = [models.Index(fields=["name"], name="strategy_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="strategy_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """An account following a strategy, with its own overrides (copy trading)."""

    class Sides(models.TextChoices):
        BOTH = "both", "Long and short"
        LONG = "long", "Long only"
        SHORT = "short", "Short only"

    strategy = models.ForeignKey(
        Strategy, on_delete=models.CASCADE, related_name="subscriptions"
    )
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="subscriptions"
    )
    enabled = models.BooleanField(default=True)
    multiplier = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(1)
    )
    max_quantity = QuantityField(null=True, blank=True)
    allowed_sides = models.CharField(
        max_length=5, choices=Sides.choices, default=Sides.BOTH
    )
    symbol_map = models.JSONField(
        default=dict, blank=True, help_text='Root mapping, e.g. {"NQ": "MNQ"}.'
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["strategy_id", "account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "account"], name="subscription_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} follows {self.strategy}"


class AccountGroup(models.Model):
    """A named set of accounts (seed 004 "group"), usable as a signal target."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="account_groups"
    )
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    accounts = models.ManyToManyField(
        BrokerAccount, blank=True, related_name="account_groups"
    )
    # Group risk settings (seed 004), in percent; enforced by the risk engine.
    max_drawdown = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    target_monthly_roi = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    risk_limit = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    signing_secret = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="account_group_name_unique"
            )
        ]
        indexes = [models.Index(fields=["name"], name="account_group_name")]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A webhook ingest key: submits signals to one target, nothing else.

    The target is one account, one strategy or one account group. Only a SHA-256 of
    the key is stored (the key has 256 bits of entropy, so a fast hash is enough);
    the key itself is shown once, when it is issued.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="api_keys"
    )
    account = models.ForeignKey(
        BrokerAccount,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    strategy = models.ForeignKey(
        Strategy,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    group = models.ForeignKey(
        AccountGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    allowed_ips = models.JSONField(
        default=list,
        blank=True,
        help_text="Addresses or networks allowed to use the key; empty: any.",
    )
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(
        max_length=16, help_text="The key's first characters, for recognition."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        account__isnull=False,
                        strategy__isnull=True,
                        group__isnull=True,
                    )
                    | models.Q(
                        account__isnull=True,
                        strategy__isnull=False,
                        group__isnull=True,
                    )
                    | models.Q(
                        account__isnull=True,
                        strategy__isnull=True,
                        group__isnull=False,
                    )
                ),
                name="api_key_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.target})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def target(self) -> BrokerAccount | Strategy | AccountGroup:
        target = self.account or self.strategy or self.group
        assert target is not None
        return target


class Signal(models.Model):
    """One received webhook request and everything that became of it.

    Kept whether it was accepted or not: the raw body, where it came from, the parsed
    intent, the outcome with its code, and the time of each phase.
    """

    class Status(models.TextChoices):
        # Refused at intake (http_status 4xx) or by every account it reached.
        REJECTED = "rejected", "Rejected"
        DUPLICATE = "duplicate", "Duplicate"
        QUEUED = "queued", "Queued"
        EXECUTING = "executing", "Executing"
        AWAITING = "awaiting", "Awaiting approval"
        FILLED = "filled", "Filled"
        WORKING = "working", "Working at venue"
        DONE = "done", "Done"  # nothing to fill: cancelled, already flat, at target
        PARTIAL = "partial", "Partly executed"
        FAILED = "failed", "Failed"

    FINAL = frozenset(
        {
            Status.REJECTED,
            Status.DUPLICATE,
            Status.FILLED,
            Status.DONE,
            Status.PARTIAL,
            Status.FAILED,
        }
    )

    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="signals",
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
    )
    account = models.ForeignKey(
        BrokerAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
    )
    strategy = models.ForeignKey(
        Strategy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
    )
    group = models.ForeignKey(
        AccountGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
    )
    broker = models.CharField(
        max_length=16, blank=True, help_text="The venue named in the URL."
    )
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    raw_body = models.TextField(blank=True)
    payload = models.JSONField(null=True, blank=True, help_text="The parsed intent.")
    dedupe_key = models.CharField(max_length=160, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="signal_status_queued")
        ]

    def __str__(self) -> str:
        return f"signal {self.pk} ({self.status})"

    @property
    def target_label(self) -> str:
        if self.strategy_id:
            return f"strategy {self.strategy}"
        if self.group_id:
            return f"group {self.group}"
        return str(self.account or "")


class Execution(models.Model):
    """What one signal did on one target account: its legs, outcome and timings.

    The orders it records before any venue call are the order intents: each has a
    client order id derived from (signal, account, leg), unique per account, so a
    retried execution finds them instead of placing new ones.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AWAITING = "awaiting", "Awaiting approval"
        EXECUTING = "executing", "Executing"
        FILLED = "filled", "Filled"
        WORKING = "working", "Working at venue"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    OPEN = frozenset({Status.PENDING, Status.AWAITING, Status.EXECUTING})

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="executions"
    )
    signal = models.ForeignKey(
        Signal, on_delete=models.CASCADE, related_name="executions"
    )
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="executions"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    plan = models.JSONField(default=list, blank=True, help_text="The legs, in order.")
    orders = models.ManyToManyField(Order, blank=True, related_name="executions")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    risk_checked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["signal_id", "account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["signal", "account"], name="execution_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="execution_status")
        ]

    def __str__(self) -> str:
        return f"signal {self.signal_id} on {self.account_id} ({self.status})"

    def client_order_id(self, leg: int) -> str:
        """Deterministic per (signal, account, leg): a retry finds the same order."""
        return f"tf-{self.signal_id}-{self.account_id}-{leg}"
