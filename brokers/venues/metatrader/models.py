"""The Expert Advisor of a MetaTrader account, and the commands queued for it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from brokers.fields import MoneyField, QuantityField
from brokers.models import BrokerAccount


class Terminal(models.Model):
    """One account's EA: its token (a hash), its session, what it last reported."""

    class OfflinePolicy(models.TextChoices):
        QUEUE = "queue", "Queue the order, then expire it"
        REJECT = "reject", "Reject the order at once"

    account = models.OneToOneField(
        BrokerAccount, on_delete=models.CASCADE, related_name="terminal"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=16)
    token_issued_at = models.DateTimeField(default=timezone.now)
    offline_policy = models.CharField(
        max_length=8, choices=OfflinePolicy.choices, default=OfflinePolicy.QUEUE
    )
    queue_seconds = models.PositiveIntegerField(
        default=60, help_text="How long an order waits for an offline EA."
    )
    # Bound by the first hello: a token pasted into another terminal is refused.
    login = models.CharField(max_length=32, blank=True)
    server = models.CharField(max_length=120, blank=True)
    broker = models.CharField(max_length=120, blank=True)
    platform = models.CharField(max_length=8, blank=True)
    build = models.PositiveIntegerField(null=True, blank=True)
    ea_version = models.CharField(max_length=32, blank=True)
    magic = models.BigIntegerField(null=True, blank=True)
    suffix = models.CharField(max_length=16, blank=True)
    hedging = models.BooleanField(null=True, blank=True)
    leverage = models.PositiveIntegerField(null=True, blank=True)
    session = models.CharField(max_length=40, blank=True)
    hello_at = models.DateTimeField(null=True, blank=True)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set once when heartbeats stop (marked and told), cleared by the next one.
    offline_at = models.DateTimeField(null=True, blank=True)
    # The terminal's clock minus ours at its last hello or heartbeat, in seconds.
    skew_seconds = models.IntegerField(default=0)
    connected = models.BooleanField(
        default=False, help_text="The terminal is connected to its broker."
    )
    trade_allowed = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, blank=True)
    balance = MoneyField(null=True, blank=True)
    equity = MoneyField(null=True, blank=True)
    margin = MoneyField(null=True, blank=True)
    free_margin = MoneyField(null=True, blank=True)
    positions = models.JSONField(default=list, blank=True)
    orders = models.JSONField(default=list, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    reports = models.PositiveIntegerField(
        default=0, help_text="How many reports moved the account's state."
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"EA of {self.account}"

    def online(self, now: datetime | None = None) -> bool:
        """Polling and beating now: a command reaches it within a second."""
        now = now or timezone.now()
        beat = timedelta(
            seconds=settings.EA_HEARTBEAT_SECONDS + settings.EA_GRACE_SECONDS
        )
        poll = timedelta(
            seconds=settings.EA_POLL_WAIT_SECONDS + settings.EA_GRACE_SECONDS
        )
        return bool(
            self.session
            and self.last_heartbeat_at is not None
            and now - self.last_heartbeat_at <= beat
            and self.last_poll_at is not None
            and now - self.last_poll_at <= poll
        )

    @property
    def state(self) -> str:
        """`never` (no hello yet), `online` or `offline`."""
        if self.hello_at is None:
            return "never"
        return "online" if self.online() else "offline"


class Command(models.Model):
    """One thing for the EA to do, given out until acknowledged, never after."""

    class Action(models.TextChoices):
        OPEN = "open", "Open"
        CLOSE = "close", "Close"
        CANCEL = "cancel", "Cancel"
        FLATTEN = "flatten", "Flatten"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DELIVERED = "delivered", "Given to the EA"
        ACCEPTED = "accepted", "Pending at the broker"
        FILLED = "filled", "Filled"
        PARTIALLY_FILLED = "partially_filled", "Partly filled"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    OUTSTANDING = frozenset({Status.QUEUED, Status.DELIVERED})

    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="ea_commands"
    )
    client_order_id = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=Action.choices)
    symbol = models.CharField(max_length=32, blank=True, help_text="Ours.")
    venue_symbol = models.CharField(
        max_length=32, blank=True, help_text="With the account's symbol map."
    )
    side = models.CharField(max_length=4, blank=True)
    order_type = models.CharField(max_length=8, default="market")
    volume = QuantityField(default=0)
    price = MoneyField(null=True, blank=True)
    stop_loss = MoneyField(null=True, blank=True)
    take_profit = MoneyField(null=True, blank=True)
    ticket = models.CharField(max_length=32, blank=True, help_text="To cancel.")
    comment = models.CharField(max_length=31, blank=True)
    after = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    # A flatten waits until done; everything else expires unacknowledged.
    expires_at = models.DateTimeField(null=True, blank=True)
    # Why it was queued for an EA that was not there (`ea-offline`), if it was.
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    leased_to = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    retcode = models.IntegerField(null=True, blank=True)
    retcode_text = models.CharField(max_length=64, blank=True)
    result_ticket = models.CharField(max_length=32, blank=True)
    filled_volume = QuantityField(default=0)
    fill_price = MoneyField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # The report (Terminal.reports) that first held its fill: from that report
    # on, the fill no longer moves the position read from it.
    reported_in = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="ea_command_coid_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"c{self.pk} {self.action} {self.volume} {self.symbol} ({self.status})"

    @property
    def wire_id(self) -> str:
        return f"c{self.pk}"
