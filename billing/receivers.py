"""The workspace's trial starts with it; Stripe's events (processed by dj-stripe,
which syncs their objects first) move its plan."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from djstripe.signals import WEBHOOK_SIGNALS

from accounts.models import Workspace
from accounts.scoping import admin_emails
from billing.services import billing_account_ensure
from billing.sync import billing_of, customer_sync, stripe_id

log = logging.getLogger(__name__)
# The events that move a plan; each is a trigger to read the customer again.
PLAN_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)


@receiver(post_save, sender=Workspace)
def start_trial(sender: Any, instance: Workspace, created: bool, **kwargs: Any) -> None:
    if created:
        billing_account_ensure(workspace=instance)


def plan_event(sender: Any, event: Any, **kwargs: Any) -> None:
    """One of PLAN_EVENTS, already verified and stored once by dj-stripe (a
    replayed event id never arrives here twice)."""
    data: dict[str, Any] = (event.data or {}).get("object") or {}
    customer = stripe_id(data.get("customer"))
    billing = billing_of(customer_id=customer)
    if billing is None:
        return  # not a workspace of this instance: 200, ignored
    was_past_due = billing.past_due_since is not None
    billing = customer_sync(customer_id=customer)
    if billing is not None and billing.past_due_since and not was_past_due:
        workspace_id, ends = billing.workspace_id, billing.grace_ends_at
        transaction.on_commit(lambda: _tell_payment_failed(workspace_id, ends))


def _tell_payment_failed(workspace_id: int, grace_ends: datetime | None) -> None:
    """Once, when the workspace goes past due (after the webhook commits)."""
    to = admin_emails(workspace_id)
    if not to:
        return
    until = f"until {grace_ends:%Y-%m-%d %H:%M} UTC" if grace_ends else "for now"
    send_mail(
        "TradeFlow: your payment failed",
        f"Stripe could not take the last payment. New positions keep opening "
        f"{until}; update the card in Billing before then. Exits, flattening "
        "and the kill switch always work.",
        None,
        to,
        fail_silently=True,
    )
    log.info("workspace %s: payment failed, %s told", workspace_id, len(to))


for _name in PLAN_EVENTS:
    WEBHOOK_SIGNALS[_name].connect(plan_event, dispatch_uid=f"billing-{_name}")
