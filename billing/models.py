"""Plans, the trial and each workspace's subscription. Stripe's own objects
(customers, subscriptions, invoices, events) live in dj-stripe's tables; these
rows hold what TradeFlow decides from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Plan(models.Model):
    """A tier a workspace can buy, with its two Stripe prices and its limits.

    Staff edit plans in the admin; the defaults come from
    `billing/fixtures/plans.json`. A blank limit is no limit.
    """

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    tagline = models.CharField(max_length=200, blank=True)
    rank = models.PositiveSmallIntegerField(
        default=0, help_text="Order on the pricing page; higher is an upgrade."
    )
    public = models.BooleanField(default=True, help_text="Shown on the pricing page.")
    trial = models.BooleanField(
        default=False, help_text="The plan whose limits a trial has (one at most)."
    )
    currency = models.CharField(max_length=3, default="usd")
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2)
    yearly_price = models.DecimalField(max_digits=10, decimal_places=2)
    stripe_product = models.CharField(max_length=64, blank=True)
    stripe_price_monthly = models.CharField(max_length=64, blank=True)
    stripe_price_yearly = models.CharField(max_length=64, blank=True)
    max_accounts = models.PositiveIntegerField(
        null=True, blank=True, help_text="Connected broker accounts."
    )
    max_strategies = models.PositiveIntegerField(null=True, blank=True)
    max_fanout = models.PositiveIntegerField(
        null=True, blank=True, help_text="Accounts one alert may open positions on."
    )
    live_brokers = models.BooleanField(
        default=True, help_text="Live venues; without, the paper broker only."
    )
    notifications = models.BooleanField(default=True)
    api_access = models.BooleanField(default=True, help_text="Personal API tokens.")
    white_label = models.BooleanField(default=False)

    class Meta:
        ordering = ["rank", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial"], condition=Q(trial=True), name="plan_one_trial"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def price(self, interval: str) -> Decimal:
        return self.yearly_price if interval == Interval.YEAR else self.monthly_price

    def stripe_price(self, interval: str) -> str:
        if interval == Interval.YEAR:
            return self.stripe_price_yearly
        return self.stripe_price_monthly


class BillingAccount(models.Model):
    """A workspace's plan, subscription state and usage.

    Trialing until a subscription starts: the trial ends after TRIAL_DAYS or
    TRIAL_TRADES filled trades. The subscription fields mirror the workspace's
    Stripe subscription as dj-stripe last synced it (billing.services).
    """

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment past due"
        CANCELED = "canceled", "Ended"

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="billing"
    )
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRIALING
    )
    interval = models.CharField(max_length=8, choices=Interval.choices, blank=True)
    trial_started_at = models.DateTimeField(default=timezone.now)
    trades_count = models.PositiveIntegerField(default=0)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["stripe_customer_id"], name="billing_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} ({self.plan or self.get_status_display()})"

    @property
    def trial_ends_at(self) -> datetime:
        return self.trial_started_at + timedelta(days=settings.TRIAL_DAYS)

    @property
    def grace_ends_at(self) -> datetime | None:
        if self.past_due_since is None:
            return None
        return self.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


class WhiteLabel(models.Model):
    """An Elite workspace's brand: its name, logo and colours on the pages, and
    its own domain in the webhook URL it gives TradingView."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="white_label"
    )
    brand_name = models.CharField(max_length=64, blank=True)
    logo_url = models.URLField(max_length=500, blank=True)
    primary_color = models.CharField(max_length=7, blank=True)
    accent_color = models.CharField(max_length=7, blank=True)
    custom_domain = models.CharField(max_length=253, blank=True)
    # The domain serves webhooks only once it answers this token at
    # /.well-known/tradeflow-domain (it reaches this instance).
    domain_token = models.CharField(max_length=64, blank=True)
    domain_verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["custom_domain"],
                condition=~Q(custom_domain=""),
                name="white_label_domain_unique",
            )
        ]

    def __str__(self) -> str:
        return self.brand_name or f"{self.workspace} brand"
