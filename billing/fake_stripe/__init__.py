"""A faithful, stateful fake of the Stripe API, over real HTTP on loopback.

stripe-python and dj-stripe talk to it as they talk to Stripe: point
`stripe.api_base` at it (`FakeStripe.installed()`), give them any `sk_test_`
key. It speaks Stripe's wire format: form-encoded bodies and queries
(`a[b][0]=c`, `expand[]=x` or `expand[0]=x`), `Authorization: Bearer sk_test_...`
(401 without one), JSON answers in the shapes of the API version dj-stripe sends
(`djstripe_settings.STRIPE_API_VERSION`, a "dahlia" version: subscription
periods live on the items, an invoice names its subscription under
`parent.subscription_details`, a line item its price under `pricing`),
`expand[]` (ids to objects, `data.` on lists, includable fields such as a
Checkout Session's `line_items`), cursor pagination (`limit`,
`starting_after`, `ending_before`), `Idempotency-Key` replays, and errors in
Stripe's shape: 404 `resource_missing` "No such customer: 'cus_x'", 400
`parameter_missing` / `parameter_unknown` (every endpoint names the parameters
it takes and refuses the rest, so a typo fails here as it would at Stripe).

    with FakeStripe.running() as fake, fake.installed():
        session = stripe.checkout.Session.create(...)   # session.url on the fake
        events = fake.complete_checkout(session.id)     # what paying does
        fake.deliver(events)                            # signed, to deliver_to

What it serves (all under /v1): `account`; `customers` (create, retrieve,
update, delete, list by `email`); `products` (+ `/{id}/features`, empty);
`prices` (list by `lookup_keys[]`, `active`, `product`, `type`, `currency`;
lookup keys are unique, `transfer_lookup_key` moves one); `checkout/sessions`
(subscription mode only; `/{id}/line_items`, `/{id}/expire`);
`billing_portal/sessions`; `subscriptions` (retrieve, list, update: items,
`proration_behavior`, `cancel_at_period_end`, metadata; DELETE cancels);
`subscription_items`; `invoices` (+ `/{id}/lines`); `events`. Beside the API, the
hosted pages a browser goes through: `/checkout/{id}` (Pay, Decline, Back),
`/portal/{id}` (cancel at period end, keep, switch price) and `/invoice/{id}`.

Test helpers act as Stripe would and return the events they made, in order:
`complete_checkout`, `fail_payment`, `pay`, `change_price`,
`cancel_at_period_end`, `keep_subscription`, `end_period`. Events made by API
calls (customer.created, customer.subscription.updated, ...) wait in `outbox`
until `flush()` delivers them. Delivery (`deliver`) signs each body as Stripe
does (`Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.body")`) and hands it
to `deliver_to(body, headers)` or POSTs it to `webhook_url`. Knobs:
`fail_next(...)`, `latency`; `requests` logs every (method, path).

Every call is all or nothing (a refused update changes nothing). The pages
deliver from a worker thread before they redirect, so a browser lands on
`success_url` with the webhooks handled; point them at a live server through
`webhook_url` (a `deliver_to` that touches a test's database would run off its
thread there). dj-stripe itself wants a key of 24 or more letters and digits
after `sk_test_` (its API_KEY_REGEX); the fake takes any `sk_test_`/`rk_test_`.
What it does not model it refuses with a 400 rather than pretend (payment and
setup mode, `price_data`, metered prices, `flow_data`, ...).

Assumptions, not Stripe's documented word: the wording of errors other than
the resource_missing / parameter ones; a renewal (`fail_payment`, `pay` on a
paid subscription) starts the next period at the current one's end whatever
the clock says; `change_price` makes no invoice (prorations are Stripe's
business: the behaviour asked for is kept in `proration_behaviors`) and a
change of interval restarts the period now; optional related objects
(payment_intent, default_payment_method, discounts, schedule, ...) stay null.
"""

from __future__ import annotations

from .endpoints import ROUTES
from .server import FakeStripe
from .wire import StripeError, parse_form

__all__ = ["ROUTES", "FakeStripe", "StripeError", "parse_form"]
