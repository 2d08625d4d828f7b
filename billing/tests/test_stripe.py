"""Stripe end to end against the fake (billing/fake_stripe/): Checkout →
signed webhook → plan active; a failed payment → grace → entries refused and
exits allowed; cancel at period end; replayed and out-of-order events; bad
signatures; plan changes in place; the portal; Stripe down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.test import Client
from djstripe.models import Event, WebhookEventTrigger
from djstripe.models import Subscription as StripeSubscription

import testkit
from billing.checkout import customer_ensure, plans_sync_stripe, stripe_options
from billing.fake_stripe import FakeStripe
from billing.models import BillingAccount, Plan
from paperbroker.services import quote_record
from testkit import api_client_for as api
from testkit.factories import UserFactory
from webhooks.intake.keys import account_register

pytestmark = pytest.mark.usefixtures("clock")
BUY = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100"}
SECRET = "whsec_test"


@pytest.fixture
def fake(world, settings, billing_on) -> Iterator[FakeStripe]:
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    with (
        FakeStripe.running(webhook_secret=SECRET) as stripe_fake,
        stripe_fake.installed(),
    ):
        webhook = Client()
        stripe_fake.deliver_to = lambda body, headers: (
            webhook.post(
                "/api/billing/webhook",
                data=body,
                content_type="application/json",
                headers={"Stripe-Signature": headers["Stripe-Signature"]},
            ).status_code
        )
        plans_sync_stripe()
        yield stripe_fake


def billing(world) -> BillingAccount:
    return BillingAccount.objects.select_related("plan").get(workspace=world.workspace)


def checkout(world, plan: str = "pro", interval: str = "month") -> str:
    """The owner asks for Checkout; returns the session id from its URL."""
    body = api(world.owner).post(
        "/api/billing/checkout", {"plan": plan, "interval": interval}, format="json"
    )
    assert body.status_code == 200, body.content
    url = body.json()["url"]
    return urlsplit(url).path.rsplit("/", 1)[-1]


def subscribed(world, fake: FakeStripe, **kwargs) -> str:
    session = checkout(world, **kwargs)
    assert set(fake.deliver(fake.complete_checkout(session))) == {200}
    assert set(fake.flush()) <= {200}
    return billing(world).stripe_subscription_id


def test_checkout_then_the_webhook_makes_the_plan_active(world, fake):
    session = checkout(world, "pro", "year")
    assert billing(world).status == "trialing"
    events = fake.complete_checkout(session)
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert fake.deliver(events) == [200, 200, 200]
    row = billing(world)
    assert (row.status, row.plan.code, row.interval) == ("active", "pro", "year")
    assert row.current_period_end is not None and not row.cancel_at_period_end
    synced = StripeSubscription.objects.get(id=row.stripe_subscription_id)
    assert synced.status == "active"
    status = api(world.owner).get("/api/billing/status").json()
    assert (status["plan"], status["can_trade"], status["trial_trades_remaining"]) == (
        "pro",
        True,
        None,
    )


def test_back_from_checkout_the_page_shows_the_plan_before_any_webhook(world, fake):
    session = checkout(world, "elite")
    fake.complete_checkout(session)  # the events are not delivered
    page = Client()
    page.force_login(world.owner)
    response = page.get(f"/billing/return/?session_id={session}", follow=True)
    assert "Welcome to Elite" in response.content.decode()
    assert billing(world).plan.code == "elite"


def test_someone_elses_checkout_session_is_not_found(world, fake):
    session = checkout(world)
    fake.complete_checkout(session)
    page = Client()
    page.force_login(world.outsider)
    response = page.get(f"/billing/return/?session_id={session}", follow=True)
    assert "No such checkout session" in response.content.decode()
    assert BillingAccount.objects.get(workspace=world.other_workspace).plan is None


def test_a_failed_payment_warns_then_stops_entries_and_never_exits(
    world, fake, clock, django_capture_on_commit_callbacks
):
    subscription = subscribed(world, fake)
    testkit.alert(world.api_key, BUY)
    with django_capture_on_commit_callbacks(execute=True):
        fake.deliver(fake.fail_payment(subscription))
    row = billing(world)
    assert (row.status, row.past_due_since) == ("past_due", clock.now())
    assert [m.subject for m in mail.outbox] == ["TradeFlow: your payment failed"]
    assert "until" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        fake.deliver(fake.fail_payment(subscription))  # Stripe's retry fails too
    assert len(mail.outbox) == 1  # told once
    status = api(world.owner).get("/api/billing/status").json()
    assert status["can_trade"] and "update the card within 7 days" in status["warning"]
    clock.advance(days=7, seconds=1)
    entry = testkit.alert(world.api_key, {**BUY, "id": "late"})
    assert (entry.status, entry.error_code) == ("rejected", "payment-past-due")
    exit_ = testkit.alert(world.api_key, {"action": "exit", "symbol": "BTCUSDT"})
    assert exit_.status == "filled"
    fake.deliver(fake.pay(subscription))
    assert billing(world).status == "active" and billing(world).past_due_since is None
    assert testkit.alert(world.api_key, {**BUY, "id": "paid"}).status == "filled"


def test_cancel_at_period_end_keeps_the_plan_until_the_period_ends(world, fake):
    subscription = subscribed(world, fake)
    fake.deliver(fake.cancel_at_period_end(subscription))
    row = billing(world)
    assert (row.status, row.cancel_at_period_end) == ("active", True)
    assert testkit.alert(world.api_key, BUY).status == "filled"
    fake.deliver(fake.end_period(subscription))
    assert billing(world).status == "canceled"
    entry = testkit.alert(world.api_key, {**BUY, "id": "after"})  # one is open
    assert (entry.status, entry.error_code) == ("rejected", "subscription-ended")
    status = api(world.owner).get("/api/billing/status").json()
    assert status["code"] == "subscription-ended"


def test_a_replayed_event_changes_nothing_the_second_time(world, fake):
    session = checkout(world)
    events = fake.complete_checkout(session)
    fake.deliver(events)
    triggers, stored = WebhookEventTrigger.objects.count(), Event.objects.count()
    before = billing(world)
    assert fake.deliver(events) == [200, 200, 200]
    assert Event.objects.count() == stored  # dj-stripe keeps an event once, by id
    assert WebhookEventTrigger.objects.count() == triggers + 3
    after = billing(world)
    assert (after.status, after.plan_id, after.updated_at) == (
        before.status,
        before.plan_id,
        before.updated_at,
    )


def test_events_out_of_order_end_in_the_state_stripe_holds(world, fake):
    session = checkout(world)
    paid = fake.complete_checkout(session)
    created = next(e for e in paid if e["type"] == "customer.subscription.created")
    sub_id = created["data"]["object"]["id"]
    failed = fake.fail_payment(sub_id)
    ended = fake.end_period(sub_id)
    # The newest first, the oldest last: each event re-reads the subscription.
    fake.deliver(ended + failed + paid)
    assert billing(world).status == "canceled"


def test_a_bad_signature_is_a_400_and_changes_nothing(world, fake):
    session = checkout(world)
    event = fake.complete_checkout(session)[0]
    body = json.dumps(event)
    client = Client()
    forged = client.post(
        "/api/billing/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": fake.sign(body, secret="whsec_wrong")},
    )
    assert (forged.status_code, forged.json()["code"]) == (400, "bad-signature")
    unsigned = client.post(
        "/api/billing/webhook", data=body, content_type="application/json"
    )
    assert unsigned.status_code == 400
    stale = client.post(
        "/api/billing/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": fake.sign(body, at=1_000_000)},
    )
    assert stale.status_code == 400  # outside the tolerance: a replay attack
    assert WebhookEventTrigger.objects.count() == 0 and Event.objects.count() == 0
    assert billing(world).status == "trialing"


def test_the_webhook_is_closed_without_its_secret(world, fake, settings):
    settings.DJSTRIPE_WEBHOOK_SECRET = ""
    response = Client().post(
        "/api/billing/webhook", data="{}", content_type="text/plain"
    )
    assert (response.status_code, response.json()["code"]) == (404, "billing-disabled")


def test_an_upgrade_changes_the_subscription_in_place_and_prorates(world, fake):
    subscription = subscribed(world, fake, plan="pro")
    body = api(world.owner).post(
        "/api/billing/checkout", {"plan": "elite"}, format="json"
    )
    assert body.json() == {"success": True, "url": None, "changed": True}
    assert fake.proration_behaviors[subscription] == "create_prorations"
    assert billing(world).plan.code == "elite"
    fake.flush()
    assert billing(world).plan.code == "elite"


def test_a_downgrade_below_usage_says_what_must_go_first(world, fake):
    subscribed(world, fake, plan="pro")
    for n in range(2):
        account_register(
            workspace=world.workspace, user=world.owner, venue="paper", name=f"x{n}"
        )
    response = api(world.owner).post(
        "/api/billing/checkout", {"plan": "starter"}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (409, "plan-limit:accounts")
    assert "holds 2 accounts and this workspace has 3: remove 1 first" in body["detail"]
    assert billing(world).plan.code == "pro"


def test_the_portal_opens_for_a_customer_only(world, fake):
    response = api(world.owner).post("/api/billing/portal")
    assert (response.status_code, response.json()["code"]) == (409, "no-subscription")
    subscribed(world, fake)
    url = api(world.owner).post("/api/billing/portal").json()["url"]
    assert url.startswith(f"{fake.base_url}/portal/")


def test_stripe_down_is_a_503_that_changes_nothing(world, fake):
    fake.fail_next(500, "api_error", "Stripe is down", should_retry=False, times=5)
    response = api(world.owner).post(
        "/api/billing/checkout", {"plan": "pro"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (
        503,
        "stripe-unavailable",
    )
    assert billing(world).status == "trialing"


def test_bad_checkout_requests_are_4xx_with_a_code(world, fake):
    owner = api(world.owner)
    cases = [
        ({"plan": "platinum"}, 400, "unknown-plan"),
        ({"plan": "pro", "interval": "week"}, 400, "validation-error"),
        ({}, 400, "validation-error"),
    ]
    for data, status, code in cases:
        response = owner.post("/api/billing/checkout", data, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code)
    Plan.objects.filter(code="pro").update(stripe_price_yearly="")
    response = owner.post(
        "/api/billing/checkout", {"plan": "pro", "interval": "year"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "plan-not-priced")


def test_syncing_the_plans_twice_makes_each_price_once(world, fake):
    before = {p.code: p.stripe_price_monthly for p in Plan.objects.all()}
    call_command("billing_sync_plans", verbosity=0)
    assert {p.code: p.stripe_price_monthly for p in Plan.objects.all()} == before
    Plan.objects.filter(code="pro").update(monthly_price=Decimal("65.00"))
    call_command("billing_sync_plans", verbosity=0)
    assert Plan.objects.get(code="pro").stripe_price_monthly != before["pro"]


def test_an_event_naming_this_workspace_for_someone_elses_customer_moves_nothing(
    world, fake
):
    """Another instance on the same Stripe account, or a payment link: only the
    customer TradeFlow made says whose an event is."""
    stranger = stripe.Customer.create(email="x@example.com", **stripe_options())
    pro = Plan.objects.get(code="pro")
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=stranger["id"],
        client_reference_id=str(world.workspace.pk),
        metadata={"workspace_id": str(world.workspace.pk)},
        subscription_data={"metadata": {"workspace_id": str(world.workspace.pk)}},
        line_items=[{"price": pro.stripe_price_monthly, "quantity": 1}],
        success_url="https://example.com/ok",
        cancel_url="https://example.com/no",
        **stripe_options(),
    )
    assert set(fake.deliver(fake.complete_checkout(session["id"]))) == {200}
    row = billing(world)
    assert (row.status, row.stripe_customer_id) == ("trialing", "")


def test_a_subscription_that_sells_no_plan_does_not_move_the_plan(world, fake):
    subscribed(world, fake, plan="pro")
    addon = stripe.Product.create(name="Signals add-on", **stripe_options())
    price = stripe.Price.create(
        product=addon["id"], unit_amount=900, currency="usd",
        recurring={"interval": "month"}, **stripe_options(),
    )  # fmt: skip
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=billing(world).stripe_customer_id,
        line_items=[{"price": price["id"], "quantity": 1}],
        success_url="https://example.com/ok",
        cancel_url="https://example.com/no",
        **stripe_options(),
    )
    events = fake.complete_checkout(session["id"])
    fake.deliver(events)
    created = next(e for e in events if e["type"] == "customer.subscription.created")
    fake.deliver(fake.fail_payment(created["data"]["object"]["id"]))
    row = billing(world)
    assert (row.status, row.plan.code) == ("active", "pro")


def test_a_new_checkout_closes_the_one_left_open(world, fake):
    first = checkout(world, "pro", "month")
    second = checkout(world, "pro", "year")
    assert stripe.checkout.Session.retrieve(first, **stripe_options())["status"] == (
        "expired"
    )
    assert stripe.checkout.Session.retrieve(second, **stripe_options())["status"] == (
        "open"
    )


def test_syncing_plans_against_another_mode_makes_their_products_again(world, fake):
    """Test-mode products do not exist with live keys (or after a Stripe reset)."""
    Plan.objects.update(stripe_product="prod_from_test_mode")
    call_command("billing_sync_plans", verbosity=0)
    products = set(Plan.objects.values_list("stripe_product", flat=True))
    assert "prod_from_test_mode" not in products and len(products) == 3


def test_a_customer_paying_twice_is_told_to_staff_and_the_newest_applies(
    world, fake, django_capture_on_commit_callbacks
):
    UserFactory.create(email="staff@example.com", is_staff=True)
    subscribed(world, fake, plan="pro")
    elite = Plan.objects.get(code="elite")
    session = stripe.checkout.Session.create(  # an old link paid after all
        mode="subscription",
        customer=billing(world).stripe_customer_id,
        line_items=[{"price": elite.stripe_price_monthly, "quantity": 1}],
        success_url="https://example.com/ok",
        cancel_url="https://example.com/no",
        **stripe_options(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        fake.deliver(fake.complete_checkout(session["id"]))
    assert billing(world).plan.code == "elite"
    told = [m for m in mail.outbox if m.to == ["staff@example.com"]]
    assert told and "pays twice" in told[0].subject


def test_two_checkouts_at_once_make_one_customer(world, fake):
    first = customer_ensure(workspace=world.workspace)
    BillingAccount.objects.filter(workspace=world.workspace).update(
        stripe_customer_id=""  # the second request read the row before the first wrote
    )
    assert customer_ensure(workspace=world.workspace) == first
