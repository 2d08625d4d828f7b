"""The fake Stripe, driven by stripe-python and dj-stripe as they drive Stripe."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import stripe
from django.test import RequestFactory
from djstripe import models as djstripe

from billing.fake_stripe import FakeStripe, parse_form
from brokers.venues.fakes import serve_on_loopback

# dj-stripe refuses keys that are not `(sk|rk|pk)_(test|live)_` + 24 or more
# letters and digits (djstripe/models/api.py API_KEY_REGEX): "sk_test_fake" is one.
KEY = "sk_test_" + "fake" * 6
SUCCESS = "http://testserver/billing/done?session={CHECKOUT_SESSION_ID}"
CANCEL = "http://testserver/billing/plans"


@pytest.fixture
def fake(settings, clock, monkeypatch) -> Iterator[FakeStripe]:
    settings.STRIPE_TEST_SECRET_KEY = KEY
    settings.STRIPE_LIVE_MODE = False
    monkeypatch.setattr(stripe, "api_key", KEY)
    with FakeStripe.running() as server, server.installed():
        yield server


@pytest.fixture
def http(fake) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=fake.base_url, headers=auth, timeout=5) as client:
        yield client


@pytest.fixture
def endpoint(fake, db) -> djstripe.WebhookEndpoint:
    return djstripe.WebhookEndpoint.objects.create(
        id="we_test",
        secret=fake.webhook_secret,
        url="http://testserver/api/billing/webhook",
        enabled_events=["*"],
        status="enabled",
        api_version=fake.api_version,
        livemode=False,
    )


def receiver(fake: FakeStripe, endpoint) -> dict[str, list[tuple[str, str]]]:
    """Deliveries go through dj-stripe's own webhook handling; what it fetched
    from the fake while processing each event type is returned (and grows)."""
    fetched: dict[str, list[tuple[str, str]]] = {}
    factory = RequestFactory()

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        seen = len(fake.requests)
        request = factory.post(
            "/api/billing/webhook",
            data=body,
            content_type=headers["Content-Type"],
            headers={"Stripe-Signature": headers["Stripe-Signature"]},
        )
        trigger = djstripe.WebhookEventTrigger.from_request(
            request, webhook_endpoint=endpoint
        )
        fetched.setdefault(json.loads(body)["type"], []).extend(fake.requests[seen:])
        return 200 if trigger.valid and trigger.processed else 400

    fake.deliver_to = deliver
    return fetched


def plans(fake: FakeStripe) -> tuple[stripe.Price, stripe.Price]:
    product = stripe.Product.create(name="Pro")
    monthly = stripe.Price.create(
        product=product.id,
        unit_amount=2900,
        currency="usd",
        recurring={"interval": "month"},
        lookup_key="pro_monthly",
        nickname="Pro monthly",
    )
    yearly = stripe.Price.create(
        product=product.id,
        unit_amount=29000,
        currency="usd",
        recurring={"interval": "year"},
        lookup_key="pro_yearly",
    )
    return monthly, yearly


def checkout(price: stripe.Price, **extra: Any) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        success_url=SUCCESS,
        cancel_url=CANCEL,
        client_reference_id="workspace-7",
        metadata={"workspace": "7"},
        subscription_data={"metadata": {"workspace": "7"}},
        allow_promotion_codes=True,
        **extra,
    )


def subscribed(fake: FakeStripe) -> tuple[str, stripe.Price, stripe.Price]:
    monthly, yearly = plans(fake)
    customer = stripe.Customer.create(email="owner@example.com")
    session = checkout(monthly, customer=customer.id)
    events = fake.complete_checkout(session.id)
    return events[1]["data"]["object"]["id"], monthly, yearly


# --- stripe-python against the API ---------------------------------------------


def test_stripe_python_creates_the_objects_and_lists_prices_by_lookup_key(fake):
    monthly, yearly = plans(fake)
    customer = stripe.Customer.create(email="owner@example.com", metadata={"ws": "7"})
    session = checkout(monthly, customer=customer.id)

    assert customer.id.startswith("cus_") and customer.livemode is False
    assert customer.metadata.to_dict() == {"ws": "7"} and customer.created == int(
        datetime.now(UTC).timestamp()
    )
    assert monthly.recurring.interval == "month" and monthly.unit_amount == 2900
    assert session.url == f"{fake.base_url}/checkout/{session.id}"
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.customer == customer.id and session.amount_total == 2900
    assert session.client_reference_id == "workspace-7"
    assert session.allow_promotion_codes is True
    found = stripe.Price.list(lookup_keys=["pro_yearly"], expand=["data.product"])
    assert [p.id for p in found.data] == [yearly.id]
    assert found.data[0].product.name == "Pro"
    assert [p.id for p in stripe.Price.list(active=True)] == [yearly.id, monthly.id]
    assert stripe.Customer.list(email="owner@example.com").data[0].id == customer.id
    assert stripe.Customer.list(email="other@example.com").data == []


def test_a_checkout_session_lists_its_line_items_and_expands_them(fake):
    monthly, _ = plans(fake)
    session = checkout(monthly)
    items = stripe.checkout.Session.list_line_items(session.id)
    assert [(i.price.id, i.quantity, i.amount_total) for i in items] == [
        (monthly.id, 1, 2900)
    ]
    again = stripe.checkout.Session.retrieve(
        session.id, expand=["line_items", "total_details.breakdown"]
    )
    assert again.line_items.data[0].description == "Pro"
    assert again.total_details.breakdown.discounts == []


def test_a_billing_portal_session_answers_a_url_on_the_fake(fake):
    customer = stripe.Customer.create(email="owner@example.com")
    portal = stripe.billing_portal.Session.create(
        customer=customer.id, return_url="http://testserver/billing"
    )
    assert portal.url == f"{fake.base_url}/portal/{portal.id}"
    assert portal.id.startswith("bps_") and portal.customer == customer.id


def test_lists_page_with_cursors_as_stripe_does(fake):
    ids = [stripe.Customer.create(email=f"c{n}@example.com").id for n in range(3)]
    first = stripe.Customer.list(limit=2)
    assert [c.id for c in first.data] == ids[::-1][:2] and first.has_more
    assert [c.id for c in stripe.Customer.list(limit=2).auto_paging_iter()] == (
        ids[::-1]
    )
    newer = stripe.Customer.list(limit=1, ending_before=ids[0])
    assert [c.id for c in newer.data] == [ids[1]] and newer.has_more


def test_without_a_key_the_answer_is_401(fake):
    answer = httpx.get(f"{fake.base_url}/v1/customers")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in answer.json()["error"]["message"]


def test_an_unknown_id_is_a_404_in_stripes_shape(http):
    answer = http.get("/v1/customers/cus_x")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["message"] == "No such customer: 'cus_x'"
    assert error["param"] == "id"


def test_stripe_python_raises_its_own_errors_for_bad_params(fake):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe.Customer.create(email="a@example.com", emial="typo")
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "emial"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.checkout.Session.create(mode="subscription")
    assert missing.value.code == "parameter_missing"
    assert missing.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as absent:
        stripe.checkout.Session.create(
            mode="subscription", line_items=[{"price": "price_x", "quantity": 1}]
        )
    assert absent.value.http_status == 404
    assert absent.value.param == "line_items[0][price]"


def test_a_lookup_key_belongs_to_one_price_until_it_is_transferred(fake):
    monthly, _ = plans(fake)
    with pytest.raises(stripe.InvalidRequestError, match="already uses that lookup"):
        stripe.Price.create(
            product=monthly.product,
            unit_amount=3900,
            currency="usd",
            recurring={"interval": "month"},
            lookup_key="pro_monthly",
        )
    newer = stripe.Price.create(
        product=monthly.product,
        unit_amount=3900,
        currency="usd",
        recurring={"interval": "month"},
        lookup_key="pro_monthly",
        transfer_lookup_key=True,
    )
    assert [p.id for p in stripe.Price.list(lookup_keys=["pro_monthly"])] == [newer.id]


def test_fail_next_answers_the_next_call_with_stripes_error(fake):
    fake.fail_next(402, "card_error", "Your card was declined.", code="card_declined")
    with pytest.raises(stripe.CardError) as declined:
        stripe.Customer.create(email="a@example.com")
    assert declined.value.code == "card_declined"
    assert stripe.Customer.create(email="a@example.com").email == "a@example.com"


def test_a_retried_post_with_its_idempotency_key_is_replayed(http):
    headers = {"Idempotency-Key": "k-1"}
    first = http.post("/v1/customers", data={"email": "a@x.io"}, headers=headers)
    again = http.post("/v1/customers", data={"email": "a@x.io"}, headers=headers)
    other = http.post("/v1/customers", data={"email": "b@x.io"}, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"


def test_latency_and_the_request_log(fake, http):
    fake.latency = 0.05
    http.get("/v1/customers", params={"email": "a@x.io"})
    assert fake.requests[-1] == ("GET", "/v1/customers")


def test_the_form_encoding_parses_as_stripe_reads_it():
    raw = (
        "line_items[0][price]=price_1&line_items[0][quantity]=1"
        "&line_items[1][price]=price_2&expand[]=a&expand[]=b.c"
        "&metadata[k]=v&subscription_data[metadata][w]=7&mode=subscription"
    )
    assert parse_form(raw) == {
        "line_items": [
            {"price": "price_1", "quantity": "1"},
            {"price": "price_2"},
        ],
        "expand": ["a", "b.c"],
        "metadata": {"k": "v"},
        "subscription_data": {"metadata": {"w": "7"}},
        "mode": "subscription",
    }


# --- The helpers and the state they leave ----------------------------------------


def test_completing_checkout_makes_an_active_subscription_paid_for_a_period(fake):
    monthly, _ = plans(fake)
    session = checkout(monthly, customer_email="new@example.com")

    events = fake.complete_checkout(session.id)

    assert [e["type"] for e in events] == [
        "customer.created",
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    done = stripe.checkout.Session.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    subscription = stripe.Subscription.retrieve(done.subscription)
    assert subscription.status == "active" and subscription.customer == done.customer
    assert subscription.metadata.to_dict() == {"workspace": "7"}
    (item,) = subscription["items"].data
    now = int(datetime.now(UTC).timestamp())
    assert item.price.id == monthly.id and item.current_period_start == now
    end = datetime.fromtimestamp(item.current_period_end, UTC)
    assert (end - datetime.fromtimestamp(now, UTC)).days in (28, 29, 30, 31)
    invoice = stripe.Invoice.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 2900)
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert stripe.Customer.retrieve(done.customer).email == "new@example.com"
    for event in events:
        assert event["api_version"] == fake.api_version
        assert stripe.Event.retrieve(event["id"]).type == event["type"]


def test_a_yearly_price_makes_a_yearly_period(fake):
    _, yearly = plans(fake)
    events = fake.complete_checkout(checkout(yearly).id)
    item = events[2]["data"]["object"]["items"]["data"][0]
    start = datetime.fromtimestamp(item["current_period_start"], UTC)
    end = datetime.fromtimestamp(item["current_period_end"], UTC)
    assert end == start.replace(year=start.year + 1)


def test_failing_then_paying_moves_through_past_due_back_to_active(fake):
    subscription_id, _, _ = subscribed(fake)

    failed = fake.fail_payment(subscription_id)
    assert [e["type"] for e in failed] == [
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert failed[1]["data"]["previous_attributes"]["status"] == "active"
    assert stripe.Subscription.retrieve(subscription_id).status == "past_due"
    invoice = stripe.Invoice.retrieve(failed[0]["data"]["object"]["id"])
    assert (invoice.status, invoice.attempted, invoice.amount_paid) == ("open", True, 0)

    paid = fake.pay(subscription_id)
    assert [e["type"] for e in paid] == [
        "invoice.paid",
        "customer.subscription.updated",
    ]
    assert paid[0]["data"]["object"]["id"] == invoice.id
    assert stripe.Subscription.retrieve(subscription_id).status == "active"


def test_an_api_update_changes_the_price_and_queues_the_event(fake):
    subscription_id, _, yearly = subscribed(fake)
    item_id = stripe.Subscription.retrieve(subscription_id)["items"].data[0].id

    updated = stripe.Subscription.modify(
        subscription_id,
        items=[{"id": item_id, "price": yearly.id}],
        proration_behavior="none",
    )

    assert updated["items"].data[0].price.id == yearly.id
    assert updated["items"].data[0].id == item_id
    assert fake.proration_behaviors[subscription_id] == "none"
    (event,) = [e for e in fake.outbox if e["type"].startswith("customer.sub")]
    assert event["type"] == "customer.subscription.updated"
    assert event["request"]["idempotency_key"]
    assert "items" in event["data"]["previous_attributes"]


def test_a_refused_update_changes_nothing(fake):
    subscription_id, _, yearly = subscribed(fake)
    item_id = stripe.Subscription.retrieve(subscription_id)["items"].data[0].id
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.Subscription.modify(
            subscription_id,
            items=[{"id": item_id, "price": yearly.id}, {"price": "price_gone"}],
        )
    assert refused.value.param == "items[1][price]"
    after = stripe.Subscription.retrieve(subscription_id)
    assert [i.price.lookup_key for i in after["items"].data] == ["pro_monthly"]
    assert "customer.subscription.updated" not in [e["type"] for e in fake.outbox]


def test_cancelling_at_period_end_then_ending_the_period(fake):
    subscription_id, _, _ = subscribed(fake)

    (updated,) = fake.cancel_at_period_end(subscription_id)
    assert updated["data"]["object"]["cancel_at_period_end"] is True
    assert updated["data"]["previous_attributes"]["cancel_at_period_end"] is False
    (deleted,) = fake.end_period(subscription_id)

    assert deleted["type"] == "customer.subscription.deleted"
    ended = stripe.Subscription.retrieve(subscription_id)
    assert ended.status == "canceled" and ended.ended_at is not None
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription"):
        stripe.Subscription.cancel(subscription_id)


# --- Delivery and signatures -----------------------------------------------------


def test_deliveries_are_signed_as_stripe_signs_them(fake):
    got: list[tuple[bytes, dict[str, str]]] = []
    fake.deliver_to = lambda body, headers: got.append((body, headers)) or 200
    monthly, _ = plans(fake)

    assert fake.deliver(fake.complete_checkout(checkout(monthly).id)) == [200] * 4

    body, headers = got[1]
    assert json.loads(body)["type"] == "checkout.session.completed"
    assert stripe.WebhookSignature.verify_header(
        body.decode(), headers["Stripe-Signature"], "whsec_test", tolerance=300
    )
    forged = fake.sign(body, secret="whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, forged, "whsec_test")


# --- dj-stripe processing the events ---------------------------------------------


def sub_row(subscription_id: str) -> djstripe.Subscription:
    return djstripe.Subscription.objects.get(id=subscription_id)


@pytest.mark.django_db
def test_djstripe_syncs_an_active_subscription_from_a_completed_checkout(
    fake, endpoint
):
    fetched = receiver(fake, endpoint)
    monthly, _ = plans(fake)
    fake.flush()  # product.created, price.created
    customer = stripe.Customer.create(email="owner@example.com")
    session = checkout(monthly, customer=customer.id)
    assert fake.flush() == [200]  # customer.created

    assert fake.deliver(fake.complete_checkout(session.id)) == [200, 200, 200]

    subscription_id = stripe.checkout.Session.retrieve(session.id).subscription
    row = sub_row(subscription_id)
    assert row.status == "active" and row.customer.id == customer.id
    assert row.customer.email == "owner@example.com"
    (item,) = row.items.all()
    assert item.price.id == monthly.id and item.price.product.name == "Pro"
    assert item.stripe_data["current_period_end"] > item.stripe_data["created"]
    # At this API version the period lives on the items and an invoice names its
    # subscription under parent: dj-stripe 2.11's Subscription.current_period_end
    # and Invoice.subscription read the old places, and are empty (as with Stripe).
    assert row.current_period_end is None
    synced = djstripe.Session.objects.get(id=session.id)
    assert synced.subscription == row and synced.status == "complete"
    invoice = djstripe.Invoice.objects.get(customer=row.customer)
    assert invoice.status == "paid" and invoice.amount_due == 2900
    assert invoice.subscription is None
    assert invoice.stripe_data["parent"]["subscription_details"]["subscription"] == (
        subscription_id
    )
    assert djstripe.WebhookEventTrigger.objects.filter(valid=True).count() == 7
    assert ("GET", f"/v1/subscriptions/{subscription_id}") in fetched[
        "checkout.session.completed"
    ]


@pytest.mark.django_db
def test_djstripe_follows_a_failed_payment_a_price_change_and_the_end(fake, endpoint):
    fetched = receiver(fake, endpoint)
    subscription_id, _, yearly = subscribed(fake)
    fake.outbox.clear()
    created = [e for e in fake.events if e["type"] != "customer.created"][-3:]
    assert fake.deliver(created) == [200, 200, 200]

    assert fake.deliver(fake.fail_payment(subscription_id)) == [200, 200]
    assert sub_row(subscription_id).status == "past_due"
    assert fake.deliver(fake.pay(subscription_id)) == [200, 200]
    assert sub_row(subscription_id).status == "active"

    assert fake.deliver(fake.change_price(subscription_id, yearly.id)) == [200]
    assert sub_row(subscription_id).items.get().price.id == yearly.id
    fake.deliver(fake.cancel_at_period_end(subscription_id))
    assert sub_row(subscription_id).cancel_at_period_end is True
    assert fake.deliver(fake.end_period(subscription_id)) == [200]
    assert sub_row(subscription_id).status == "canceled"
    # Once synced, each event costs dj-stripe one GET of its object.
    assert fetched["customer.subscription.deleted"] == [
        ("GET", f"/v1/subscriptions/{subscription_id}")
    ]


@pytest.mark.django_db
def test_a_forged_signature_fails_djstripes_verification(fake, endpoint):
    monthly, _ = plans(fake)
    event = fake.complete_checkout(checkout(monthly).id)[1]
    body = json.dumps(event).encode()
    request = RequestFactory().post(
        "/api/billing/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": fake.sign(body, secret="whsec_forged")},
    )

    trigger = djstripe.WebhookEventTrigger.from_request(
        request, webhook_endpoint=endpoint
    )

    assert trigger.valid is False and trigger.processed is False
    assert not djstripe.Event.objects.exists()


# --- The hosted pages, in a browser's place --------------------------------------


@pytest.fixture
def webhook_site(fake) -> Iterator[list[tuple[bytes, dict[str, str]]]]:
    """A site on loopback taking the fake's webhook POSTs."""
    got: list[tuple[bytes, dict[str, str]]] = []

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        got.append((body, {k.decode(): v.decode() for k, v in scope["headers"]}))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve_on_loopback(app, "the webhook site") as base:
        fake.webhook_url = f"{base}/api/billing/webhook"
        yield got


def test_paying_on_the_checkout_page_delivers_and_redirects(fake, webhook_site):
    monthly, _ = plans(fake)
    session = checkout(monthly, customer_email="buyer@example.com")
    with httpx.Client(base_url=fake.base_url, timeout=10) as browser:
        page = browser.get(f"/checkout/{session.id}")
        assert page.status_code == 200 and "$29.00 / month" in page.text
        assert "Pay $29.00" in page.text and CANCEL in page.text
        declined = browser.post(f"/checkout/{session.id}/decline")
        assert "Your card was declined." in declined.text

        paid = browser.post(
            f"/checkout/{session.id}/pay", data={"email": "buyer@example.com"}
        )

    assert paid.status_code == 303
    assert paid.headers["location"] == SUCCESS.replace(
        "{CHECKOUT_SESSION_ID}", session.id
    )
    types = [json.loads(body)["type"] for body, _ in webhook_site]
    assert types == [
        "customer.created",
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    body, headers = webhook_site[0]
    assert stripe.WebhookSignature.verify_header(
        body.decode(), headers["stripe-signature"], "whsec_test"
    )


def test_the_portal_page_switches_price_and_cancels(fake, webhook_site):
    subscription_id, _, yearly = subscribed(fake)
    customer = stripe.Subscription.retrieve(subscription_id).customer
    portal = stripe.billing_portal.Session.create(
        customer=customer, return_url="http://testserver/billing"
    )
    with httpx.Client(base_url=fake.base_url, timeout=10) as browser:
        page = browser.get(f"/portal/{portal.id}")
        assert "Pro monthly" in page.text and "Cancel at period end" in page.text
        assert "Switch to Pro (year)" in page.text
        switched = browser.post(
            f"/portal/{portal.id}/switch",
            data={"subscription": subscription_id, "price": yearly.id},
        )
        cancelled = browser.post(
            f"/portal/{portal.id}/cancel", data={"subscription": subscription_id}
        )

    assert switched.status_code == cancelled.status_code == 303
    assert switched.headers["location"] == "http://testserver/billing"
    latest = [json.loads(body)["data"]["object"] for body, _ in webhook_site]
    assert latest[0]["items"]["data"][0]["price"]["id"] == yearly.id
    assert latest[1]["cancel_at_period_end"] is True


@pytest.mark.django_db
def test_djstripe_syncs_api_made_changes_from_the_outbox(
    fake, endpoint, django_user_model
):
    fetched = receiver(fake, endpoint)
    user = django_user_model.objects.create_user(
        email="owner@example.com", password="x"
    )
    monthly, yearly = plans(fake)
    customer = stripe.Customer.create(email="owner@example.com")
    session = checkout(monthly, customer=customer.id)
    subscriber = {"djstripe_subscriber": str(user.pk)}
    stripe.Customer.modify(
        customer.id, email="billing@example.com", metadata=subscriber
    )
    events = fake.complete_checkout(session.id)
    assert all(status == 200 for status in fake.flush() + fake.deliver(events))
    row = djstripe.Customer.objects.get(id=customer.id)
    assert row.email == "billing@example.com" and row.subscriber == user

    subscription = djstripe.Subscription.objects.get(customer=row)
    item = subscription.items.get()
    stripe.Subscription.modify(
        subscription.id,
        items=[{"id": item.id, "price": yearly.id}],
        proration_behavior="create_prorations",
    )
    assert fake.flush() == [200]
    assert subscription.items.get().price.id == yearly.id

    subscription.cancel()  # dj-stripe's own DELETE /v1/subscriptions/<id>
    assert sub_row(subscription.id).status == "canceled"
    assert fake.flush() == [200]
    assert ("DELETE", f"/v1/subscriptions/{subscription.id}") in fake.requests
    assert fetched["customer.updated"]
