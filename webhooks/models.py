"""Ingest keys and the log of every signal received, accepted or not."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from accounts.scoping import WorkspaceScopedQuerySet
from brokers.models import BrokerAccount, Order


class ApiKey(models.Model):
    """A webhook ingest key: submits signals to one account, nothing else.

    Only a SHA-256 of the key is stored (the key has 256 bits of entropy, so a fast
    hash is enough); the key itself is shown once, when it is issued.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="api_keys"
    )
    account = models.ForeignKey(
        BrokerAccount, on_delete=models.CASCADE, related_name="api_keys"
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

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.account})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Signal(models.Model):
    """One received webhook request and everything that became of it.

    Kept whether it was accepted or not: the raw body, where it came from, the parsed
    intent, the outcome with its code, and the time of each phase.
    """

    class Status(models.TextChoices):
        REJECTED = "rejected", "Rejected at intake"
        DUPLICATE = "duplicate", "Duplicate"
        QUEUED = "queued", "Queued"
        EXECUTING = "executing", "Executing"
        FILLED = "filled", "Filled"
        WORKING = "working", "Working at venue"
        FAILED = "failed", "Failed"

    FINAL = frozenset({Status.REJECTED, Status.DUPLICATE, Status.FILLED, Status.FAILED})

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
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
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
    risk_checked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="signal_status_queued")
        ]

    def __str__(self) -> str:
        return f"signal {self.pk} ({self.status})"

    @property
    def client_order_id(self) -> str:
        """Deterministic per (signal, account, leg): a retry finds the same order."""
        return f"tf-{self.pk}-{self.account_id}-0"
