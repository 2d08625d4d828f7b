"""Plans, the trial and usage per workspace. Stripe objects live in dj-stripe."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class Plan(models.TextChoices):
    TRIAL = "trial", "Trial"
    STARTER = "starter", "Starter"
    PRO = "pro", "Pro"
    ELITE = "elite", "Elite"


class BillingAccount(models.Model):
    """A workspace's plan and usage. The trial ends after N days or N trades."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="billing"
    )
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.TRIAL)
    trial_started_at = models.DateTimeField(default=timezone.now)
    trades_count = models.PositiveIntegerField(default=0)
    stripe_customer_id = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.workspace} ({self.plan})"

    @property
    def trial_ends_at(self) -> datetime:
        return self.trial_started_at + timedelta(days=settings.TRIAL_DAYS)
