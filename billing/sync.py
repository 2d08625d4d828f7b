"""A workspace's plan from its Stripe subscription.

Stripe's events are triggers, not state: on each, the customer's subscriptions
are read again from Stripe and the one that matters is applied. Replayed,
late or out-of-order events therefore all end in the state Stripe holds now.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import stripe
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from djstripe.settings import djstripe_settings

from accounts.models import User
from billing.models import BillingAccount, Plan
from billing.selectors import plan_for_price

log = logging.getLogger(__name__)
LIVE = ("active", "trialing", "past_due", "unpaid")
ENDED = ("canceled", "incomplete_expired", "paused")
STATUS = {
    "active": BillingAccount.Status.ACTIVE,
    "trialing": BillingAccount.Status.ACTIVE,
    "past_due": BillingAccount.Status.PAST_DUE,
    "unpaid": BillingAccount.Status.PAST_DUE,
}


def stripe_id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def billing_of(*, customer_id: str) -> BillingAccount | None:
    """The billing row of a Stripe customer. Only the customer id, which
    TradeFlow wrote down when it made the customer (before any Checkout), says
    whose it is: a workspace id in an event's metadata or client_reference_id
    could come from another instance on the same Stripe account, or a link."""
    if not customer_id:
        return None
    return BillingAccount.objects.filter(stripe_customer_id=customer_id).first()


def subscription_apply(*, data: dict[str, Any]) -> BillingAccount | None:
    """Move the subscription's workspace to the state Stripe gives it.

    Unpaid checkouts (`incomplete`) change nothing; an ended subscription ends
    the plan only if it is the workspace's own one or the workspace has none
    (not an old one, and not a checkout that expired unpaid). Guarded by the
    row lock; idempotent.
    """
    billing = billing_of(customer_id=stripe_id(data.get("customer")))
    if billing is None:
        log.warning("stripe subscription %s: no workspace has its customer", data["id"])
        return None
    status = str(data.get("status", ""))
    with transaction.atomic():
        billing = BillingAccount.objects.select_for_update().get(pk=billing.pk)
        if status in ENDED:
            current = billing.stripe_subscription_id
            if current == data["id"] or (
                not current and status != "incomplete_expired"
            ):
                billing.stripe_subscription_id = str(data["id"])
                billing.status = BillingAccount.Status.CANCELED
                billing.cancel_at_period_end = False
                billing.past_due_since = None
                billing.updated_at = timezone.now()
                billing.save()
            return billing
        if status not in STATUS:
            return billing  # incomplete: a checkout not yet paid
        _apply_live(billing, data, STATUS[status])
    return billing


def _plan_item(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Plan, str]] | None:
    """The subscription's item that sells a plan, and the plan with its interval."""
    for item in (data.get("items") or {}).get("data") or []:
        price = item.get("price")
        sold = plan_for_price(price) if isinstance(price, dict) else None
        if sold is not None:
            return item, sold
    return None


def _apply_live(billing: BillingAccount, data: dict[str, Any], status: str) -> None:
    found = _plan_item(data)
    if found is None:
        log.warning("stripe subscription %s sells no plan: ignored", data["id"])
        return
    item, (billing.plan, billing.interval) = found
    if status == BillingAccount.Status.PAST_DUE:
        billing.past_due_since = billing.past_due_since or timezone.now()
    else:
        billing.past_due_since = None
    billing.status = status
    billing.stripe_subscription_id = str(data["id"])
    billing.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    billing.current_period_end = _when(
        item.get("current_period_end") or data.get("current_period_end")
    )
    billing.updated_at = timezone.now()
    billing.save()


def customer_sync(*, customer_id: str) -> BillingAccount | None:
    """Read the customer's subscriptions from Stripe and apply the one that
    matters: of those that sell a plan, the newest live one, else the newest."""
    if billing_of(customer_id=customer_id) is None:
        log.info("stripe customer %s belongs to no workspace: ignored", customer_id)
        return None
    found = stripe.Subscription.list(
        customer=customer_id,
        status="all",
        limit=20,
        api_key=djstripe_settings.STRIPE_SECRET_KEY,
        stripe_version=djstripe_settings.STRIPE_API_VERSION,
    )
    # Oldest first. Stripe lists the newest first: reversed, the sort keeps
    # subscriptions made in the same second in the order they were made.
    subscriptions = sorted(
        (s.to_dict() for s in reversed(found.data) if _plan_item(s.to_dict())),
        key=lambda s: s.get("created", 0),
    )
    if not subscriptions:
        return None
    live = [s for s in subscriptions if s.get("status") in LIVE]
    if len(live) > 1:
        _tell_staff_of_double(customer_id, [str(s["id"]) for s in live])
    return subscription_apply(data=(live or subscriptions)[-1])


def _tell_staff_of_double(customer_id: str, subscriptions: list[str]) -> None:
    """Two live plan subscriptions on one customer (a second Checkout paid from
    an old link): the newest is applied, the other still bills. Staff decide
    which to refund; TradeFlow cancels nothing on its own."""
    log.warning("stripe customer %s pays for %s", customer_id, ", ".join(subscriptions))
    staff = list(
        User.objects.filter(is_staff=True, is_active=True).values_list(
            "email", flat=True
        )
    )
    if not staff:
        return
    text = (
        f"Stripe customer {customer_id} has {len(subscriptions)} live TradeFlow "
        f"subscriptions: {', '.join(subscriptions)}. The newest sets the workspace's "
        "plan; cancel and refund the others in Stripe."
    )
    transaction.on_commit(
        lambda: send_mail(
            "TradeFlow: a customer pays twice", text, None, staff, fail_silently=True
        )
    )
