"""Stripe: a Checkout Session to subscribe, the Customer Portal to manage, a plan
change in place, and the plans' products and prices.

Every call goes through stripe-python with the secret key of the mode and the
API version dj-stripe pins; `stripe.api_base` (dj-stripe's STRIPE_API_HOST)
points it at Stripe, or at the suite's fake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.urls import reverse
from djstripe.settings import djstripe_settings

from accounts.models import Membership, Role, Workspace
from billing.models import BillingAccount, Interval, Plan
from billing.selectors import (
    LIMIT_FIELDS,
    USAGE,
    billing_account_of,
    billing_enabled,
)
from billing.sync import customer_sync, stripe_id, subscription_apply
from brokers.models import BrokerAccount, Venue

log = logging.getLogger(__name__)
LIVE = (BillingAccount.Status.ACTIVE, BillingAccount.Status.PAST_DUE)


class BillingError(Exception):
    """A billing request refused: its code, sentence and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class CheckoutResult:
    """Where the trader goes next: Stripe's page, or nowhere (changed in place)."""

    url: str | None
    changed: bool = False


def stripe_options() -> dict[str, Any]:
    return {
        "api_key": djstripe_settings.STRIPE_SECRET_KEY,
        "stripe_version": djstripe_settings.STRIPE_API_VERSION,
    }


def plan_change_blockers(*, workspace_id: int, plan: Plan) -> list[tuple[str, str]]:
    """What must go before the workspace fits `plan`: (kind, sentence) pairs."""
    blockers = []
    for kind, field_name in LIMIT_FIELDS.items():
        limit = getattr(plan, field_name)
        used = USAGE[kind](workspace_id) if kind in USAGE else 0
        if limit is not None and used > limit:
            blockers.append(
                (
                    kind,
                    f"The {plan.name} plan holds {limit} {kind} and this workspace "
                    f"has {used}: remove {used - limit} first.",
                )
            )
    if not plan.live_brokers:
        live = BrokerAccount.objects.filter(workspace_id=workspace_id).exclude(
            venue=Venue.PAPER
        )
        if live.exists():
            blockers.append(
                (
                    "venues",
                    f"The {plan.name} plan trades the paper broker only: remove the "
                    f"{live.count()} live broker account(s) first.",
                )
            )
    return blockers


def checkout_start(
    *,
    workspace: Workspace,
    plan: Plan,
    interval: str,
    site: str,
) -> CheckoutResult:
    """Subscribe the workspace to `plan`: a new Checkout Session, or, when it
    already pays, the subscription's price changed in place (Stripe prorates).
    `site`: the origin the trader came from, where Stripe sends them back.

    Raises BillingError: billing off, the plan unpriced, usage above the plan.
    """
    price = _price_of(plan, interval)
    blockers = plan_change_blockers(workspace_id=workspace.pk, plan=plan)
    if blockers:
        sentences = " ".join(sentence for _, sentence in blockers)
        raise BillingError(f"plan-limit:{blockers[0][0]}", sentences)
    billing = billing_account_of(workspace.pk)
    if billing.status in LIVE and billing.stripe_subscription_id:
        _change_in_place(billing, price)
        return CheckoutResult(url=None, changed=True)
    customer = customer_ensure(workspace=workspace)
    _expire_open_sessions(customer)
    reference = {"workspace_id": str(workspace.pk), "plan": plan.code}
    session = _call(
        stripe.checkout.Session.create,
        mode="subscription",
        customer=customer,
        client_reference_id=str(workspace.pk),
        line_items=[{"price": price, "quantity": 1}],
        success_url=f"{site}{reverse('billing-return')}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{site}{reverse('pricing')}",
        metadata=reference,
        subscription_data={"metadata": reference},
        allow_promotion_codes=True,
    )
    return CheckoutResult(url=str(session["url"]))


def _expire_open_sessions(customer: str) -> None:
    """A Checkout left open in another tab could be paid too: two subscriptions.
    Only the newest session stays payable."""
    found = _call(
        stripe.checkout.Session.list, customer=customer, status="open", limit=10
    )
    for session in found.data:
        _call(stripe.checkout.Session.expire, session["id"])


def _require_enabled() -> None:
    if not billing_enabled():
        raise BillingError(
            "billing-disabled",
            "Billing is off on this instance (no Stripe keys): every feature is "
            "already unlimited.",
        )


def _price_of(plan: Plan, interval: str) -> str:
    _require_enabled()
    if interval not in Interval.values:
        raise BillingError(
            "invalid-interval", "The interval is `month` or `year`.", status=400
        )
    price = plan.stripe_price(interval)
    if not price:
        raise BillingError(
            "plan-not-priced",
            f"The {plan.name} plan has no {interval}ly price in Stripe yet: staff "
            "run `manage.py billing_sync_plans`.",
        )
    return price


def _change_in_place(billing: BillingAccount, price: str) -> None:
    subscription = _call(stripe.Subscription.retrieve, billing.stripe_subscription_id)
    item = subscription["items"]["data"][0]
    if item["price"]["id"] == price:
        raise BillingError("same-plan", "The workspace is on this plan already.")
    changed = _call(
        stripe.Subscription.modify,
        billing.stripe_subscription_id,
        items=[{"id": item["id"], "price": price}],
        proration_behavior="create_prorations",
        cancel_at_period_end=False,
    )
    subscription_apply(data=changed.to_dict())


def customer_ensure(*, workspace: Workspace) -> str:
    """The workspace's Stripe customer id, made once (its owner's e-mail)."""
    billing = billing_account_of(workspace.pk)
    if billing.stripe_customer_id:
        return billing.stripe_customer_id
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.ADMIN)
        .order_by("pk")
        .values_list("user__email", flat=True)
        .first()
    )
    customer = _call(
        stripe.Customer.create,
        email=owner or "",
        name=workspace.name,
        metadata={"workspace_id": str(workspace.pk)},
        # Two checkouts at once make one customer, not two (Stripe replays it).
        idempotency_key=f"tradeflow-customer-{workspace.pk}-{billing.pk}",
    )
    BillingAccount.objects.update_or_create(
        workspace=workspace, defaults={"stripe_customer_id": customer["id"]}
    )
    return str(customer["id"])


def portal_start(*, workspace: Workspace, site: str) -> str:
    """A Customer Portal session's URL: card, cancel, invoices."""
    _require_enabled()
    billing = billing_account_of(workspace.pk)
    if not billing.stripe_customer_id:
        raise BillingError(
            "no-subscription", "There is no subscription to manage yet: choose a plan."
        )
    session = _call(
        stripe.billing_portal.Session.create,
        customer=billing.stripe_customer_id,
        return_url=f"{site}{reverse('billing')}",
    )
    return str(session["url"])


def checkout_return(*, workspace: Workspace, session_id: str) -> None:
    """Back from Checkout: read the session now rather than wait for the
    webhook, so that the page the trader lands on shows the plan."""
    billing = billing_account_of(workspace.pk)
    if not session_id or not billing.stripe_customer_id:
        raise BillingError("not-found", "No such checkout session.", status=404)
    session = _call(stripe.checkout.Session.retrieve, session_id)
    if stripe_id(session.get("customer")) != billing.stripe_customer_id:
        raise BillingError("not-found", "No such checkout session.", status=404)
    customer_sync(customer_id=billing.stripe_customer_id)


def plans_sync_stripe() -> list[str]:
    """Make each plan's product and its two prices in Stripe (found again by
    lookup key, so running it twice makes nothing twice); returns what it did."""
    done = []
    for plan in Plan.objects.all():
        if not _product_exists(plan.stripe_product):  # none yet, or another mode's
            product = _call(
                stripe.Product.create, name=f"TradeFlow {plan.name}",
                metadata={"plan": plan.code},
            )  # fmt: skip
            plan.stripe_product = product["id"]
            done.append(f"{plan.code}: product {product['id']}")
        for interval in Interval.values:
            price_id = _price_ensure(plan, interval)
            setattr(plan, f"stripe_price_{interval}ly", price_id)
            done.append(f"{plan.code}: {interval}ly price {price_id}")
        plan.save()
    return done


def _product_exists(product_id: str) -> bool:
    """Whether Stripe (in this mode: test and live keep apart) has the product."""
    if not product_id:
        return False
    try:
        stripe.Product.retrieve(product_id, **stripe_options())
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return False
        raise BillingError("stripe-refused", f"Stripe refused: {exc}", 400) from None
    except stripe.StripeError:
        raise BillingError(
            "stripe-unavailable", "Stripe did not answer; nothing was changed.", 503
        ) from None
    return True


def _price_ensure(plan: Plan, interval: str) -> str:
    lookup = f"tradeflow-{plan.code}-{interval}"
    amount = int(plan.price(interval) * 100)
    found = _call(stripe.Price.list, lookup_keys=[lookup], active=True, limit=1)
    for price in found["data"]:
        if price["unit_amount"] == amount and price["currency"] == plan.currency:
            return str(price["id"])
    price = _call(
        stripe.Price.create,
        product=plan.stripe_product,
        unit_amount=amount,
        currency=plan.currency,
        recurring={"interval": interval},
        lookup_key=lookup,
        transfer_lookup_key=True,  # a new amount takes the key from the old price
        nickname=f"{plan.name} {Decimal(amount) / 100} per {interval}",
    )
    return str(price["id"])


def _call(method: Any, *args: Any, **params: Any) -> Any:
    """One Stripe call; its failure becomes a BillingError with Stripe's words."""
    try:
        return method(*args, **params, **stripe_options())
    except stripe.InvalidRequestError as exc:
        log.warning("stripe refused %s: %s", getattr(method, "__name__", ""), exc)
        raise BillingError(
            "stripe-refused", f"Stripe refused: {exc.user_message or exc}", 400
        ) from None
    except stripe.StripeError as exc:
        log.warning("stripe unavailable: %s", exc)
        raise BillingError(
            "stripe-unavailable",
            "Stripe did not answer; nothing was changed. Try again in a minute.",
            503,
        ) from None
