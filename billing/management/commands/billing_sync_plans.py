"""Make each plan's Stripe product and monthly and yearly prices (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.checkout import BillingError, plans_sync_stripe
from billing.selectors import billing_enabled


class Command(BaseCommand):
    help = "Create the plans' products and prices in Stripe and store their ids."

    def handle(self, *args: Any, **options: Any) -> None:
        if not billing_enabled():
            raise CommandError("Set STRIPE_TEST_SECRET_KEY or STRIPE_LIVE_SECRET_KEY.")
        try:
            done = plans_sync_stripe()
        except BillingError as exc:
            raise CommandError(exc.message) from None
        for line in done:
            self.stdout.write(line)
