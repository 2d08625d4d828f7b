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

import asyncio
import base64
import calendar
import copy
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import string
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from djstripe.settings import djstripe_settings

from brokers.venues.fakes import serve_on_loopback

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
Deliver = Callable[[bytes, dict[str, str]], int]

_ALPHABET = string.ascii_letters + string.digits
_DAY = 86_400
_RETRY_SECONDS = 3 * _DAY  # when a failed invoice is tried again (Smart Retries)
_PRORATIONS = ("always_invoice", "create_prorations", "none")
_INTERVALS = ("day", "month", "week", "year")
_NOUNS = {  # object -> how "No such ...: 'id'" names it
    "checkout.session": "checkout.session",
    "billing_portal.session": "billing_portal.session",
    "subscription_item": "subscription item",
}
_UPDATED = {  # object -> the event its update makes
    "customer": "customer.updated",
    "price": "price.updated",
    "product": "product.updated",
    "subscription": "customer.subscription.updated",
}
# Stripe's line descriptions read "1 <multiplication sign> Pro (at $29.00 / month)".
_TIMES = " \u00d7 "
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


class StripeError(Exception):
    """An error answered in Stripe's shape: `{"error": {...}}` with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: Obj = {"message": message, "type": error_type}
        if code:
            self.error["code"] = code
            self.error["doc_url"] = (
                f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
            )
        if param:
            self.error["param"] = param


def _missing(name: str) -> StripeError:
    return StripeError(
        400,
        f"Missing required param: {name}.",
        code="parameter_missing",
        param=name,
    )


def _no_such(kind: str, id_: str, param: str = "id") -> StripeError:
    noun = _NOUNS.get(kind, kind)
    return StripeError(
        404, f"No such {noun}: '{id_}'", code="resource_missing", param=param
    )


@dataclass
class _Failure:
    """What `fail_next` queued: the next `times` API calls answer this."""

    error: StripeError
    times: int
    should_retry: bool | None


@dataclass(frozen=True)
class _Request:
    """The API call being served: its id and idempotency key name its events."""

    id: str
    idempotency_key: str | None


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer: JSON from the API, HTML or a redirect from a page."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _now() -> int:
    # Read at call time: tests freeze and move the clock with time-machine.
    return int(time.time())


def _new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _add_interval(ts: int, interval: str, count: int) -> int:
    """`ts` moved on by `count` intervals; months clamp to the month's end."""
    if interval in ("day", "week"):
        return ts + count * _DAY * (7 if interval == "week" else 1)
    at = datetime.fromtimestamp(ts, UTC)
    months = at.month - 1 + count * (12 if interval == "year" else 1)
    year, month = at.year + months // 12, months % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return int(at.replace(year=year, month=month, day=day).timestamp())


def parse_form(raw: str) -> Obj:
    """Stripe's form encoding to nested values: `a[b][0]=c` -> {"a": {"b":
    ["c"]}}, `expand[]=x&expand[]=y` -> {"expand": ["x", "y"]}."""
    root: Obj = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if match is None:
            raise StripeError(400, f"Invalid parameter name: {key}", param=key)
        parts = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        node = root
        for position, part in enumerate(parts):
            name = part or str(len(node))  # "[]" appends
            if position == len(parts) - 1:
                node[name] = value
                break
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise StripeError(400, f"Invalid array or hash: {key}", param=key)
            node = child
    listed = _listify(root)
    if not isinstance(listed, dict):
        raise StripeError(400, "Invalid parameter names: indexes at the top level")
    return listed


def _listify(value: Any) -> Any:
    """Hashes whose keys are all indexes become arrays, in index order."""
    if not isinstance(value, dict):
        return value
    items = {key: _listify(sub) for key, sub in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _allow(params: Obj, allowed: Iterable[str], prefix: str = "") -> None:
    known = set(allowed)
    for key in params:
        if key not in known and not (key == "expand" and not prefix):
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )


def _int(value: Any, name: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(
            400,
            f"Invalid integer: {value}",
            code="parameter_invalid_integer",
            param=name,
        ) from None
    if number < minimum:
        raise StripeError(
            400,
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=name,
        )
    return number


def _bool(value: Any, name: str) -> bool:
    if value in ("true", "false"):
        return bool(value == "true")
    raise StripeError(
        400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
    )


def _choice(value: Any, choices: Iterable[str], name: str) -> str:
    options = sorted(choices)
    if value not in options:
        listed = ", ".join(options[:-1]) + f", or {options[-1]}"
        raise StripeError(400, f"Invalid {name}: must be one of {listed}", param=name)
    return str(value)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {value!r}", param=name)
    return value


def _metadata(current: Obj, update: Any, name: str = "metadata") -> Obj:
    """Stripe's metadata update: keys merge, "" unsets a key or the whole."""
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise StripeError(400, "Invalid object", param=name)
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = _text(value, f"{name}[{key}]")
    return merged


def _expand_paths(params: Obj) -> list[str]:
    value = params.get("expand", [])
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise StripeError(400, "Invalid array", param="expand")
    return paths


def _nulls(names: str) -> Obj:
    """Fields that are null until something sets them."""
    return dict.fromkeys(names.split())


def _shape(id_: str, kind: str, **fields: Any) -> Obj:
    """An object as Stripe writes it: id, object, then its fields by name."""
    return {"id": id_, "object": kind, **dict(sorted(fields.items()))}


def _list_of(data: list[Obj], url: str, *, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _money(amount: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    value = f"{amount / 100:,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def _page(title: str, body: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;
padding:0 1rem;line-height:1.5}}
button{{font-size:1rem;padding:.75rem 1rem;width:100%;margin:.25rem 0}}
input{{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box}}
[role=alert]{{color:#b00020}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>""".encode()


def _html(status: int, title: str, body: str) -> _Answer:
    return _Answer(status, _page(title, body), "text/html; charset=utf-8")


def _see_other(location: str) -> _Answer:
    return _Answer(303, b"", "text/plain", (("location", location),))


def _back(url: str | None) -> str:
    return f'<p><a href="{html.escape(url)}">Back</a></p>' if url else ""


def _form(action: str, label: str, **fields: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return (
        f'<form method="post" action="{html.escape(action)}">{hidden}'
        f"<button>{html.escape(label)}</button></form>"
    )


class FakeStripe:
    """The fake: the objects it holds, its API, its hosted pages and the test
    helpers. Thread-safe: the server runs in a thread, tests call in from
    theirs; one re-entrant lock guards the store."""

    def __init__(
        self,
        *,
        api_version: str | None = None,
        webhook_secret: str = "whsec_test",  # noqa: S107 (a test double's)
        account_name: str = "TradeFlow (test)",
    ) -> None:
        self.api_version = api_version or djstripe_settings.STRIPE_API_VERSION
        self.base_url = ""  # http://127.0.0.1:PORT, set by running()
        self.webhook_secret = webhook_secret
        self.deliver_to: Deliver | None = None
        self.webhook_url: str | None = None
        self.latency = 0.0
        self.requests: list[tuple[str, str]] = []
        self.events: list[Obj] = []  # every event, oldest first
        self.outbox: list[Obj] = []  # events API calls made, not yet delivered
        self.deliveries: list[tuple[str, int]] = []  # (event id, HTTP status)
        self.proration_behaviors: dict[str, str] = {}  # subscription -> last asked
        self._lock = threading.RLock()
        self._objects: dict[str, Obj] = {}  # id -> object, in creation order
        self._session_lines: dict[str, list[tuple[str, str, int]]] = {}
        self._session_subscription_data: dict[str, Obj] = {}
        self._idempotent: dict[str, tuple[str, _Answer]] = {}
        self._failures: list[_Failure] = []
        self._request: _Request | None = None
        self.account: Obj = self._account(account_name)

    # --- Running --------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls, **options: Any) -> Iterator[FakeStripe]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls(**options)
        with serve_on_loopback(fake.app, "the fake Stripe") as base:
            fake.base_url = base
            yield fake

    @contextmanager
    def installed(self) -> Iterator[None]:
        """stripe-python (and so dj-stripe) calls this fake for the block."""
        before = stripe.api_base
        stripe.api_base = self.base_url
        try:
            yield
        finally:
            stripe.api_base = before

    # --- Knobs and delivery ---------------------------------------------------

    def fail_next(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        times: int = 1,
        should_retry: bool | None = None,
    ) -> None:
        """The next `times` API calls answer `status` with this error. Note that
        stripe-python retries 409s and 5xx (`stripe.max_network_retries`, 2)
        unless `should_retry` is False (the `Stripe-Should-Retry` header)."""
        error = StripeError(status, message, error_type=error_type, code=code)
        with self._lock:
            self._failures.append(_Failure(error, times, should_retry))

    def sign(
        self, body: bytes | str, secret: str | None = None, at: int | None = None
    ) -> str:
        """The `Stripe-Signature` header Stripe sends with `body`."""
        text = body.decode() if isinstance(body, bytes) else body
        timestamp = _now() if at is None else at
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, f"{timestamp}.{text}".encode(), hashlib.sha256)
        return f"t={timestamp},v1={digest.hexdigest()}"

    def deliver(self, events: Iterable[Obj]) -> list[int]:
        """Each event, signed, to `deliver_to` (or POSTed to `webhook_url`), in
        order; their HTTP statuses. Stripe would retry a non-2xx later: here
        the caller decides (`deliveries` keeps what each answered)."""
        statuses = []
        for event in events:
            body = json.dumps(event, indent=2).encode()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": self.sign(body),
            }
            if self.deliver_to is not None:
                status = self.deliver_to(body, headers)
            elif self.webhook_url:
                status = httpx.post(
                    self.webhook_url, content=body, headers=headers, timeout=30
                ).status_code
            else:
                raise RuntimeError("Set deliver_to or webhook_url to deliver events")
            with self._lock:
                self.deliveries.append((event["id"], status))
            statuses.append(status)
        return statuses

    def flush(self) -> list[int]:
        """Deliver the events API calls made (the outbox), then empty it."""
        with self._lock:
            events, self.outbox = self.outbox, []
        return self.deliver(events)

    def _deliver_or_queue(self, events: list[Obj]) -> None:
        if self.deliver_to is None and not self.webhook_url:
            with self._lock:
                self.outbox.extend(events)
            return
        self.deliver(events)

    # --- Test helpers: what Stripe does on its own ------------------------------

    def complete_checkout(
        self, session_id: str, *, email: str | None = None
    ) -> list[Obj]:
        """The buyer pays: a customer if the session had none (its email:
        `email`, the session's `customer_email`, or buyer@example.com), an
        active subscription on the session's prices, its first invoice paid,
        the session complete. Events: [customer.created,]
        checkout.session.completed, customer.subscription.created, invoice.paid."""
        with self._atomic():
            session = self._get("checkout.session", session_id)
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            events = []
            customer_id = session["customer"]
            if customer_id is None:
                mail = email or session["customer_email"] or "buyer@example.com"
                customer = self._new_customer({"email": mail})
                customer_id = customer["id"]
                events.append(self._emit("customer.created", customer))
            customer = self._get("customer", customer_id)
            lines = [(p, q) for _, p, q in self._session_lines[session_id]]
            data = self._session_subscription_data[session_id]
            subscription = self._new_subscription(customer, lines, data)
            invoice = self._new_invoice(subscription, "subscription_create", paid=True)
            session.update(
                status="complete",
                payment_status="paid",
                customer=customer_id,
                subscription=subscription["id"],
                invoice=invoice["id"],
                customer_details=self._customer_details(customer),
            )
            events.append(self._emit("checkout.session.completed", session))
            events.append(self._emit("customer.subscription.created", subscription))
            events.append(self._emit("invoice.paid", invoice))
            return events

    def fail_payment(self, subscription_id: str) -> list[Obj]:
        """A payment fails: the open invoice's next attempt, or else the next
        period's renewal invoice; the subscription goes past_due. Events:
        invoice.payment_failed, customer.subscription.updated."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            before = self._render(subscription)
            invoice = self._open_invoice(subscription)
            if invoice is None:
                invoice = self._renew(subscription, paid=False)
            else:
                invoice["attempt_count"] += 1
                invoice["next_payment_attempt"] = _now() + _RETRY_SECONDS
            subscription["status"] = "past_due"
            return [
                self._emit("invoice.payment_failed", invoice),
                self._updated(subscription, before),
            ]

    def pay(self, subscription_id: str) -> list[Obj]:
        """A payment succeeds: the open invoice, or else the next period's
        renewal invoice, is paid; the subscription is active. Events:
        invoice.paid, customer.subscription.updated."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            before = self._render(subscription)
            invoice = self._open_invoice(subscription)
            if invoice is None:
                invoice = self._renew(subscription, paid=True)
            else:
                invoice["attempt_count"] += 1
                self._mark_paid(invoice)
            subscription["status"] = "active"
            return [
                self._emit("invoice.paid", invoice),
                self._updated(subscription, before),
            ]

    def change_price(
        self,
        subscription_id: str,
        price_id: str,
        *,
        proration_behavior: str = "create_prorations",
    ) -> list[Obj]:
        """The subscription's (first) item moves to `price_id`, as the portal or
        an API update does. Event: customer.subscription.updated."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            item_id = subscription["items"]["data"][0]
            return self._update_subscription(
                subscription,
                {
                    "items": [{"id": item_id, "price": price_id}],
                    "proration_behavior": proration_behavior,
                },
            )

    def cancel_at_period_end(self, subscription_id: str) -> list[Obj]:
        """The subscription will end with its period. Event:
        customer.subscription.updated."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            return self._update_subscription(
                subscription, {"cancel_at_period_end": "true"}
            )

    def keep_subscription(self, subscription_id: str) -> list[Obj]:
        """Undo `cancel_at_period_end`. Event: customer.subscription.updated."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            return self._update_subscription(
                subscription, {"cancel_at_period_end": "false"}
            )

    def end_period(self, subscription_id: str) -> list[Obj]:
        """The subscription ends now (its period is over): canceled, with
        `ended_at`. Event: customer.subscription.deleted."""
        with self._atomic():
            subscription = self._live_subscription(subscription_id)
            return [self._cancel(subscription)]

    # --- Objects ----------------------------------------------------------------

    def _account(self, name: str) -> Obj:
        branding = _nulls("icon logo primary_color secondary_color")
        return _shape(
            _new_id("acct", 16),
            "account",
            business_profile={"name": name, "support_email": None, "url": None},
            business_type="company",
            capabilities={"card_payments": "active", "transfers": "active"},
            charges_enabled=True,
            country="US",
            created=_now(),
            default_currency="usd",
            details_submitted=True,
            email="billing@example.com",
            metadata={},
            payouts_enabled=True,
            settings={
                "branding": branding,
                "dashboard": {"display_name": name, "timezone": "Etc/UTC"},
            },
            type="standard",
        )

    def _store(self, obj: Obj) -> Obj:
        self._objects[obj["id"]] = obj
        return obj

    def _get(self, kind: str, id_: Any, param: str = "id") -> Obj:
        found = self._objects.get(id_) if isinstance(id_, str) else None
        if found is None or found["object"] != kind or found.get("deleted"):
            raise _no_such(kind, str(id_), param)
        return found

    def _new_customer(self, params: Obj) -> Obj:
        prefix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
        customer = _shape(
            _new_id("cus", 14),
            "customer",
            **_nulls(
                "address currency default_source description discount email name"
                " phone shipping test_clock"
            ),
            balance=0,
            created=_now(),
            delinquent=False,
            invoice_prefix=prefix,
            invoice_settings=_nulls(
                "custom_fields default_payment_method footer rendering_options"
            ),
            livemode=False,
            metadata={},
            next_invoice_sequence=1,
            preferred_locales=[],
            tax_exempt="none",
        )
        self._set_customer(customer, params)
        return self._store(customer)

    def _set_customer(self, customer: Obj, params: Obj) -> None:
        for key in ("email", "name", "description", "phone"):
            if key in params:
                customer[key] = _text(params[key], key) or None
        if "preferred_locales" in params:
            customer["preferred_locales"] = params["preferred_locales"] or []
        if "metadata" in params:
            customer["metadata"] = _metadata(customer["metadata"], params["metadata"])

    def _new_product(self, params: Obj) -> Obj:
        now = _now()
        product_id = params.get("id") or _new_id("prod", 14)
        if product_id in self._objects:
            raise StripeError(
                400,
                f"Product already exists with the id: {product_id}",
                code="resource_already_exists",
                param="id",
            )
        product = _shape(
            product_id,
            "product",
            **_nulls(
                "default_price description package_dimensions shippable"
                " statement_descriptor tax_code unit_label url"
            ),
            active=True,
            created=now,
            images=[],
            livemode=False,
            marketing_features=[],
            metadata={},
            name="",
            type="service",
            updated=now,
        )
        self._set_product(product, params)
        return self._store(product)

    def _set_product(self, product: Obj, params: Obj) -> None:
        for key in ("name", "description", "statement_descriptor", "unit_label", "url"):
            if key in params:
                product[key] = _text(params[key], key) or None
        if "name" in params and not product["name"]:
            raise StripeError(400, "Invalid string: name is empty", param="name")
        if "active" in params:
            product["active"] = _bool(params["active"], "active")
        if "metadata" in params:
            product["metadata"] = _metadata(product["metadata"], params["metadata"])
        product["updated"] = _now()

    def _new_price(self, params: Obj) -> Obj:
        product = self._price_product(params)
        currency = params.get("currency")
        if not currency:
            raise _missing("currency")
        if "unit_amount" not in params:
            raise _missing("unit_amount")
        amount = _int(params["unit_amount"], "unit_amount")
        recurring = self._recurring(params.get("recurring"))
        price = _shape(
            _new_id("price", 24),
            "price",
            **_nulls(
                "custom_unit_amount lookup_key nickname tiers_mode transform_quantity"
            ),
            active=True,
            billing_scheme="per_unit",
            created=_now(),
            currency=str(currency).lower(),
            livemode=False,
            metadata={},
            product=product["id"],
            recurring=recurring,
            tax_behavior="unspecified",
            type="one_time" if recurring is None else "recurring",
            unit_amount=amount,
            unit_amount_decimal=str(amount),
        )
        self._set_price(price, params)
        return self._store(price)

    def _price_product(self, params: Obj) -> Obj:
        if "product" in params:
            return self._get("product", params["product"], "product")
        data = params.get("product_data")
        if data is None:
            raise StripeError(
                400,
                "You must specify either `product` or `product_data` when creating"
                " a price.",
                param="product",
            )
        if not isinstance(data, dict):
            raise StripeError(400, "Invalid object", param="product_data")
        _allow(data, ("name", "active", "metadata", "unit_label"), "product_data")
        if not data.get("name"):
            raise _missing("product_data[name]")
        return self._new_product(data)

    def _recurring(self, value: Any) -> Obj | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise StripeError(400, "Invalid object", param="recurring")
        _allow(value, ("interval", "interval_count", "usage_type"), "recurring")
        if "interval" not in value:
            raise _missing("recurring[interval]")
        interval = _choice(value["interval"], _INTERVALS, "recurring[interval]")
        count = _int(
            value.get("interval_count", 1), "recurring[interval_count]", minimum=1
        )
        usage = value.get("usage_type", "licensed")
        if usage != "licensed":
            raise StripeError(
                400, "The fake Stripe models licensed prices only.", param="recurring"
            )
        return {
            "interval": interval,
            "interval_count": count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }

    def _set_price(self, price: Obj, params: Obj) -> None:
        if "nickname" in params:
            price["nickname"] = _text(params["nickname"], "nickname") or None
        if "active" in params:
            price["active"] = _bool(params["active"], "active")
        if "metadata" in params:
            price["metadata"] = _metadata(price["metadata"], params["metadata"])
        if "lookup_key" in params:
            key = _text(params["lookup_key"], "lookup_key") or None
            transfer = _bool(
                params.get("transfer_lookup_key", "false"), "transfer_lookup_key"
            )
            holder = self._price_by_lookup_key(key) if key else None
            if holder is not None and holder is not price:
                if not transfer:
                    raise StripeError(
                        400,
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                        param="lookup_key",
                    )
                holder["lookup_key"] = None
            price["lookup_key"] = key

    def _price_by_lookup_key(self, key: str) -> Obj | None:
        for obj in self._objects.values():
            if obj["object"] == "price" and obj["lookup_key"] == key:
                return obj
        return None

    def _new_session(self, params: Obj) -> Obj:
        customer_id, email = self._session_customer(params)
        lines = self._session_line_items(params.get("line_items"))
        subscription_data = self._subscription_data(params.get("subscription_data"))
        prices = [self._objects[price_id] for _, price_id, _ in lines]
        total = sum(
            p["unit_amount"] * q for p, (_, _, q) in zip(prices, lines, strict=True)
        )
        session_id = _new_id("cs_test", 58)
        now = _now()
        promotion_codes = params.get("allow_promotion_codes")
        session = _shape(
            session_id,
            "checkout.session",
            **_nulls(
                "after_expiration client_secret consent consent_collection"
                " currency_conversion customer_creation customer_details invoice"
                " invoice_creation payment_intent payment_link"
                " payment_method_configuration_details recovered_from"
                " saved_payment_method_options setup_intent"
                " shipping_address_collection shipping_cost submit_type subscription"
            ),
            allow_promotion_codes=(
                None
                if promotion_codes is None
                else _bool(promotion_codes, "allow_promotion_codes")
            ),
            amount_subtotal=total,
            amount_total=total,
            automatic_tax={"enabled": False, **_nulls("liability provider status")},
            billing_address_collection=params.get("billing_address_collection"),
            cancel_url=params.get("cancel_url"),
            client_reference_id=params.get("client_reference_id"),
            created=now,
            currency=prices[0]["currency"],
            custom_fields=[],
            custom_text=_nulls(
                "after_submit shipping_address submit terms_of_service_acceptance"
            ),
            customer=customer_id,
            customer_email=email,
            discounts=[],
            expires_at=now + _DAY,
            livemode=False,
            locale=params.get("locale"),
            metadata=_metadata({}, params.get("metadata", {})),
            mode="subscription",
            payment_method_collection="always",
            payment_method_options={"card": {"request_three_d_secure": "automatic"}},
            payment_method_types=params.get("payment_method_types") or ["card"],
            payment_status="unpaid",
            phone_number_collection={"enabled": False},
            shipping_options=[],
            status="open",
            success_url=params.get("success_url"),
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            ui_mode="hosted",
            url=f"{self.base_url}/checkout/{session_id}",
        )
        self._session_lines[session_id] = lines
        self._session_subscription_data[session_id] = subscription_data
        return self._store(session)

    def _session_customer(self, params: Obj) -> tuple[str | None, str | None]:
        mode = params.get("mode")
        if mode is None:
            raise _missing("mode")
        if (
            _choice(mode, ("payment", "setup", "subscription"), "mode")
            != "subscription"
        ):
            raise StripeError(
                400, "The fake Stripe serves subscription mode only.", param="mode"
            )
        customer_id, email = params.get("customer"), params.get("customer_email")
        if customer_id and email:
            raise StripeError(
                400,
                "You may only specify one of these parameters: customer,"
                " customer_email.",
                param="customer_email",
            )
        if customer_id:
            self._get("customer", customer_id, "customer")
        return customer_id, email

    @staticmethod
    def _subscription_data(value: Any) -> Obj:
        data = {} if value is None else value
        if not isinstance(data, dict):
            raise StripeError(400, "Invalid object", param="subscription_data")
        _allow(data, ("metadata", "description"), "subscription_data")
        name = "subscription_data[metadata]"
        return {
            "metadata": _metadata({}, data.get("metadata", {}), name),
            "description": data.get("description"),
        }

    def _session_line_items(self, value: Any) -> list[tuple[str, str, int]]:
        if not value:
            raise _missing("line_items")
        if not isinstance(value, list):
            raise StripeError(400, "Invalid array", param="line_items")
        lines = []
        for index, line in enumerate(value):
            name = f"line_items[{index}]"
            if not isinstance(line, dict):
                raise StripeError(400, "Invalid object", param=name)
            _allow(line, ("price", "quantity"), name)
            if "price" not in line:
                raise _missing(f"{name}[price]")
            if "quantity" not in line:
                raise _missing(f"{name}[quantity]")
            price = self._get("price", line["price"], f"{name}[price]")
            if not price["active"]:
                raise StripeError(
                    400,
                    "The price specified is inactive. This field only accepts active"
                    " prices.",
                    param=f"{name}[price]",
                )
            quantity = _int(line["quantity"], f"{name}[quantity]", minimum=1)
            lines.append((_new_id("li", 24), price["id"], quantity))
        prices = [self._objects[price_id] for _, price_id, _ in lines]
        if not any(price["type"] == "recurring" for price in prices):
            raise StripeError(
                400,
                "You must provide at least one recurring price in `subscription` mode"
                " when using prices.",
                param="line_items",
            )
        if len({price["currency"] for price in prices}) > 1:
            raise StripeError(
                400, "All prices must be in the same currency.", param="line_items"
            )
        return lines

    def _customer_details(self, customer: Obj) -> Obj:
        return {
            "address": None,
            "email": customer["email"],
            "name": customer["name"],
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }

    def _new_subscription(
        self, customer: Obj, lines: list[tuple[str, int]], data: Obj
    ) -> Obj:
        now = _now()
        subscription_id = _new_id("sub", 24)
        items = [self._new_item(subscription_id, p, q, now) for p, q in lines]
        currency = self._objects[lines[0][0]]["currency"]
        customer["currency"] = customer["currency"] or currency
        subscription = _shape(
            subscription_id,
            "subscription",
            **_nulls(
                "application application_fee_percent billing_cycle_anchor_config"
                " billing_thresholds cancel_at canceled_at days_until_due"
                " default_payment_method default_source ended_at latest_invoice"
                " next_pending_invoice_item_invoice on_behalf_of pause_collection"
                " pending_invoice_item_interval pending_setup_intent pending_update"
                " schedule test_clock transfer_data trial_end trial_start"
            ),
            automatic_tax={
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
            },
            billing_cycle_anchor=now,
            billing_mode={"flexible": None, "type": "classic", "updated_at": None},
            cancel_at_period_end=False,
            cancellation_details=_nulls("comment feedback reason"),
            collection_method="charge_automatically",
            created=now,
            currency=currency,
            customer=customer["id"],
            default_tax_rates=[],
            description=data.get("description"),
            discounts=[],
            invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
            # Item ids here; `_render` puts the items themselves in.
            items={
                "object": "list",
                "data": [item["id"] for item in items],
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            livemode=False,
            metadata=dict(data.get("metadata", {})),
            payment_settings={
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            start_date=now,
            status="active",
            trial_settings={
                "end_behavior": {"missing_payment_method": "create_invoice"}
            },
        )
        return self._store(subscription)

    def _new_item(
        self, subscription_id: str, price_id: str, quantity: int, start: int
    ) -> Obj:
        item = _shape(
            _new_id("si", 14),
            "subscription_item",
            billing_thresholds=None,
            created=start,
            current_period_end=self._period_end(price_id, start),
            current_period_start=start,
            discounts=[],
            metadata={},
            price=price_id,  # `_render` puts the price (and its plan) in
            quantity=quantity,
            subscription=subscription_id,
            tax_rates=[],
        )
        return self._store(item)

    def _period_end(self, price_id: str, start: int) -> int:
        recurring = self._objects[price_id]["recurring"]
        return _add_interval(start, recurring["interval"], recurring["interval_count"])

    def _items(self, subscription: Obj) -> list[Obj]:
        return [self._objects[item_id] for item_id in subscription["items"]["data"]]

    def _new_invoice(
        self,
        subscription: Obj,
        reason: str,
        *,
        paid: bool,
        period: tuple[int, int] | None = None,
    ) -> Obj:
        """The subscription's invoice for its items' current periods. `period`
        is the invoice's own: the period that ended, for a renewal; Stripe
        gives a first invoice an empty one, at its creation."""
        now = _now()
        customer = self._objects[subscription["customer"]]
        invoice_id = _new_id("in", 24)
        items = self._items(subscription)
        lines = [self._line(invoice_id, subscription, item) for item in items]
        total = sum(line["amount"] for line in lines)
        sequence = customer["next_invoice_sequence"]
        customer["next_invoice_sequence"] += 1
        start, end = period or (now, now)
        invoice = _shape(
            invoice_id,
            "invoice",
            **_nulls(
                "account_tax_ids application automatically_finalizes_at"
                " custom_fields customer_address customer_phone customer_shipping"
                " default_payment_method default_source description due_date"
                " footer from_invoice last_finalization_error latest_revision"
                " on_behalf_of receipt_number rendering shipping_cost"
                " shipping_details statement_descriptor test_clock threshold_reason"
            ),
            **dict.fromkeys(("amount_overpaid", "amount_shipping", "amount_paid"), 0),
            **dict.fromkeys(("ending_balance", "starting_balance"), 0),
            **dict.fromkeys(
                ("post_payment_credit_notes_amount", "pre_payment_credit_notes_amount"),
                0,
            ),
            **dict.fromkeys(("amount_due", "amount_remaining", "subtotal"), total),
            **dict.fromkeys(("subtotal_excluding_tax", "total"), total),
            total_excluding_tax=total,
            account_country=self.account["country"],
            account_name=self.account["business_profile"]["name"],
            attempt_count=1,
            attempted=True,
            auto_advance=True,
            automatic_tax={
                "disabled_reason": None,
                "enabled": False,
                **_nulls("liability provider status"),
            },
            billing_reason=reason,
            collection_method="charge_automatically",
            created=now,
            currency=subscription["currency"],
            customer=customer["id"],
            customer_email=customer["email"],
            customer_name=customer["name"],
            customer_tax_exempt="none",
            customer_tax_ids=[],
            default_tax_rates=[],
            discounts=[],
            total_discount_amounts=[],
            total_pretax_credit_amounts=[],
            total_taxes=[],
            effective_at=now,
            hosted_invoice_url=f"{self.base_url}/invoice/{invoice_id}",
            invoice_pdf=f"{self.base_url}/invoice/{invoice_id}",
            issuer={"type": "self"},
            lines={
                **_list_of(lines, f"/v1/invoices/{invoice_id}/lines"),
                "total_count": len(lines),
            },
            livemode=False,
            metadata={},
            next_payment_attempt=now + _RETRY_SECONDS,
            number=f"{customer['invoice_prefix']}-{sequence:04d}",
            parent={
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            },
            payment_settings=_nulls(
                "default_mandate payment_method_options payment_method_types"
            ),
            period_end=end,
            period_start=start,
            status="open",
            status_transitions={
                "finalized_at": now,
                **_nulls("marked_uncollectible_at paid_at voided_at"),
            },
            webhooks_delivered_at=now,
        )
        if paid:
            self._mark_paid(invoice)
        subscription["latest_invoice"] = invoice_id
        return self._store(invoice)

    def _line(self, invoice_id: str, subscription: Obj, item: Obj) -> Obj:
        price = self._objects[item["price"]]
        product = self._objects[price["product"]]
        each = _money(price["unit_amount"], price["currency"])
        interval = price["recurring"]["interval"]
        return _shape(
            _new_id("il", 24),
            "line_item",
            amount=price["unit_amount"] * item["quantity"],
            currency=price["currency"],
            description=(
                f"{item['quantity']}{_TIMES}{product['name']} (at {each} / {interval})"
            ),
            discount_amounts=[],
            discountable=True,
            discounts=[],
            invoice=invoice_id,
            livemode=False,
            metadata={},
            parent={
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription["id"],
                    "subscription_item": item["id"],
                },
                "type": "subscription_item_details",
            },
            period={
                "end": item["current_period_end"],
                "start": item["current_period_start"],
            },
            pretax_credit_amounts=[],
            pricing={
                "price_details": {"price": price["id"], "product": product["id"]},
                "type": "price_details",
                "unit_amount_decimal": price["unit_amount_decimal"],
            },
            quantity=item["quantity"],
            subscription=subscription["id"],
            taxes=[],
        )

    def _mark_paid(self, invoice: Obj) -> None:
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            auto_advance=False,
            next_payment_attempt=None,
        )
        invoice["status_transitions"]["paid_at"] = _now()

    def _open_invoice(self, subscription: Obj) -> Obj | None:
        latest = self._objects.get(subscription["latest_invoice"] or "")
        return latest if latest is not None and latest["status"] == "open" else None

    def _renew(self, subscription: Obj, *, paid: bool) -> Obj:
        """The next period begins (at the current one's end) and is invoiced."""
        items = self._items(subscription)
        ended = (items[0]["current_period_start"], items[0]["current_period_end"])
        for item in items:
            start = item["current_period_end"]
            item["current_period_start"] = start
            item["current_period_end"] = self._period_end(item["price"], start)
        return self._new_invoice(
            subscription, "subscription_cycle", paid=paid, period=ended
        )

    def _live_subscription(self, subscription_id: str) -> Obj:
        subscription = self._get("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and"
                " metadata.",
            )
        return subscription

    def _update_subscription(self, subscription: Obj, params: Obj) -> list[Obj]:
        before = self._render(subscription)
        if "proration_behavior" in params:
            behavior = _choice(
                params["proration_behavior"], _PRORATIONS, "proration_behavior"
            )
            self.proration_behaviors[subscription["id"]] = behavior
        if "items" in params:
            self._update_items(subscription, params["items"])
        if "cancel_at_period_end" in params:
            ending = _bool(params["cancel_at_period_end"], "cancel_at_period_end")
            period_end = self._items(subscription)[0]["current_period_end"]
            subscription.update(
                cancel_at_period_end=ending,
                cancel_at=period_end if ending else None,
                canceled_at=_now() if ending else None,
            )
            subscription["cancellation_details"]["reason"] = (
                "cancellation_requested" if ending else None
            )
        if "metadata" in params:
            subscription["metadata"] = _metadata(
                subscription["metadata"], params["metadata"]
            )
        if "description" in params:
            subscription["description"] = (
                _text(params["description"], "description") or None
            )
        if self._render(subscription) == before:
            return []
        return [self._updated(subscription, before)]

    def _update_items(self, subscription: Obj, value: Any) -> None:
        """`items[n]`: {id, price} swaps an item's price, {id, deleted} drops
        it, {price} without id adds an item (as Stripe does: a second item)."""
        if not isinstance(value, list):
            raise StripeError(400, "Invalid array", param="items")
        ids = subscription["items"]["data"]
        for index, change in enumerate(value):
            name = f"items[{index}]"
            if not isinstance(change, dict):
                raise StripeError(400, "Invalid object", param=name)
            _allow(change, ("id", "price", "quantity", "deleted", "metadata"), name)
            item_id = change.get("id")
            if item_id is not None and item_id not in ids:
                raise _no_such("subscription_item", str(item_id), f"{name}[id]")
            if item_id is not None and change.get("deleted") == "true":
                ids.remove(item_id)
                continue
            price_id = change.get("price")
            if price_id is not None:
                self._check_subscription_price(subscription, price_id, f"{name}[price]")
            if item_id is None:
                if price_id is None:
                    raise _missing(f"{name}[price]")
                start = self._items(subscription)[0]["current_period_start"]
                quantity = _int(
                    change.get("quantity", 1), f"{name}[quantity]", minimum=1
                )
                ids.append(
                    self._new_item(subscription["id"], price_id, quantity, start)["id"]
                )
                continue
            item = self._objects[item_id]
            if price_id is not None:
                self._swap_price(subscription, item, price_id)
            if "quantity" in change:
                item["quantity"] = _int(
                    change["quantity"], f"{name}[quantity]", minimum=1
                )
        if not ids:
            raise StripeError(
                400, "A subscription must have at least one item.", param="items"
            )
        subscription["items"]["total_count"] = len(ids)

    def _check_subscription_price(
        self, subscription: Obj, price_id: Any, name: str
    ) -> None:
        price = self._get("price", price_id, name)
        if not price["active"] or price["type"] != "recurring":
            raise StripeError(
                400, "The price specified is inactive or not recurring.", param=name
            )
        if price["currency"] != subscription["currency"]:
            raise StripeError(
                400,
                f"The price specified is in {price['currency']}, but the subscription"
                f" is in {subscription['currency']}.",
                param=name,
            )

    def _swap_price(self, subscription: Obj, item: Obj, price_id: str) -> None:
        old = self._objects[item["price"]]["recurring"]
        new = self._objects[price_id]["recurring"]
        item["price"] = price_id
        if (old["interval"], old["interval_count"]) != (
            new["interval"],
            new["interval_count"],
        ):
            # A new interval restarts the billing cycle now.
            now = _now()
            subscription["billing_cycle_anchor"] = now
            for each in self._items(subscription):
                each["current_period_start"] = now
                each["current_period_end"] = self._period_end(each["price"], now)

    def _cancel(self, subscription: Obj) -> Obj:
        now = _now()
        subscription.update(
            status="canceled",
            ended_at=now,
            canceled_at=subscription["canceled_at"] or now,
        )
        if subscription["cancellation_details"]["reason"] is None:
            subscription["cancellation_details"]["reason"] = "cancellation_requested"
        return self._emit("customer.subscription.deleted", subscription)

    # --- Rendering, expansion and events --------------------------------------

    def _render(self, obj: Obj) -> Obj:
        """A copy of `obj` as Stripe shows it: a subscription with its items,
        an item with its price and plan."""
        out = copy.deepcopy(obj)
        if out["object"] == "subscription":
            out["items"]["data"] = [self._render(item) for item in self._items(obj)]
        elif out["object"] == "subscription_item":
            price = self._render(self._objects[obj["price"]])
            out["price"] = price
            out["plan"] = self._plan(price)
        return out

    @staticmethod
    def _plan(price: Obj) -> Obj:
        recurring = price["recurring"]
        return _shape(
            price["id"],
            "plan",
            **_nulls("meter tiers_mode transform_usage trial_period_days"),
            active=price["active"],
            amount=price["unit_amount"],
            amount_decimal=price["unit_amount_decimal"],
            billing_scheme="per_unit",
            created=price["created"],
            currency=price["currency"],
            interval=recurring["interval"],
            interval_count=recurring["interval_count"],
            livemode=False,
            metadata=dict(price["metadata"]),
            nickname=price["nickname"],
            product=price["product"],
            usage_type="licensed",
        )

    def _expanded(self, obj: Obj, paths: list[str]) -> Obj:
        out = self._render(obj) if obj.get("object") != "list" else obj
        for path in paths:
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, node: Obj, parts: list[str], path: str) -> None:
        key, rest = parts[0], parts[1:]
        if node.get("object") == "list" and key == "data":
            for each in node["data"]:
                if rest:
                    self._expand(each, rest, path)
            return
        if key not in node:
            node[key] = self._includable(node, key, path)
        value = node[key]
        if isinstance(value, str):
            found = self._objects.get(value)
            if found is None:
                raise StripeError(
                    400, f"This property cannot be expanded ({path}).", param="expand"
                )
            node[key] = value = self._render(found)
        elif isinstance(value, list):
            node[key] = value = [
                self._render(self._objects[v])
                if isinstance(v, str) and v in self._objects
                else v
                for v in value
            ]
        if rest:
            for each in value if isinstance(value, list) else [value]:
                if isinstance(each, dict):
                    self._expand(each, rest, path)

    def _includable(self, node: Obj, key: str, path: str) -> Any:
        """Fields Stripe leaves out unless they are expanded."""
        kind = node.get("object")
        if kind == "checkout.session" and key == "line_items":
            return self._session_items(node["id"])
        if kind == "customer" and key in ("sources", "tax_ids"):
            return _list_of([], f"/v1/customers/{node['id']}/{key}")
        if kind == "customer" and key == "subscriptions":
            subs = [
                self._render(o)
                for o in self._listed("subscription")
                if o["customer"] == node["id"] and o["status"] != "canceled"
            ]
            return _list_of(subs, f"/v1/customers/{node['id']}/subscriptions")
        if kind == "price" and key == "currency_options":
            return {
                node["currency"]: {
                    "custom_unit_amount": None,
                    "tax_behavior": "unspecified",
                    "unit_amount": node["unit_amount"],
                    "unit_amount_decimal": node["unit_amount_decimal"],
                }
            }
        if kind == "price" and key == "tiers":
            return None
        if kind == "item" and key in ("discounts", "taxes"):
            return []
        if kind is None and key == "breakdown" and "amount_tax" in node:
            return {"discounts": [], "taxes": []}
        raise StripeError(
            400, f"This property cannot be expanded ({path}).", param="expand"
        )

    def _session_items(self, session_id: str) -> Obj:
        items = []
        for line_id, price_id, quantity in self._session_lines[session_id]:
            price = self._render(self._objects[price_id])
            amount = price["unit_amount"] * quantity
            items.append(
                {
                    "id": line_id,
                    "object": "item",
                    "adjustable_quantity": None,
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": price["currency"],
                    "description": self._objects[price["product"]]["name"],
                    "metadata": {},
                    "price": price,
                    "quantity": quantity,
                }
            )
        return _list_of(items, f"/v1/checkout/sessions/{session_id}/line_items")

    def _emit(self, kind: str, obj: Obj, previous: Obj | None = None) -> Obj:
        data: Obj = {"object": self._render(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        request = self._request
        event = {
            "id": _new_id("evt", 24),
            "object": "event",
            "api_version": self.api_version,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {
                "id": request.id if request else None,
                "idempotency_key": request.idempotency_key if request else None,
            },
            "type": kind,
        }
        self._store(event)
        self.events.append(event)
        if request is not None:
            self.outbox.append(event)
        return copy.deepcopy(event)

    def _updated(self, obj: Obj, before: Obj) -> Obj:
        after = self._render(obj)
        previous = {
            key: value for key, value in before.items() if after.get(key) != value
        }
        kind = _UPDATED[obj["object"]]
        return self._emit(kind, obj, previous)

    def _listed(self, kind: str) -> list[Obj]:
        """Objects of a kind, newest first (as Stripe lists them)."""
        return [
            o
            for o in reversed(self._objects.values())
            if o["object"] == kind and not o.get("deleted")
        ]

    def _paginate(self, objs: list[Obj], params: Obj, url: str) -> Obj:
        limit = _int(params.get("limit", 10), "limit", minimum=1)
        if limit > 100:
            raise StripeError(
                400,
                "This value must be less than or equal to 100 (it currently is"
                f" '{limit}').",
                param="limit",
            )
        has_more = len(objs) > limit
        order = {id_: n for n, id_ in enumerate(self._objects)}
        if "starting_after" in params or "ending_before" in params:
            name = "starting_after" if "starting_after" in params else "ending_before"
            cursor = params[name]
            if cursor not in order:
                raise _no_such(objs[0]["object"] if objs else "object", cursor, name)
            # Newest first: "after" the cursor is older, "before" it newer.
            if name == "starting_after":
                objs = [o for o in objs if order[o["id"]] < order[cursor]]
                has_more = len(objs) > limit
            else:
                newer = [o for o in objs if order[o["id"]] > order[cursor]]
                objs, has_more = newer[-limit:], len(newer) > limit
        rendered = [self._render(o) for o in objs[:limit]]
        answer = _list_of(rendered, url, has_more=has_more)
        return self._expanded(answer, _expand_paths(params))

    # --- The API ------------------------------------------------------------------

    async def app(
        self,
        scope: Obj,
        receive: Callable[[], Awaitable[Obj]],
        send: Callable[[Obj], Awaitable[None]],
    ) -> None:
        """The ASGI app: the API under /v1, the hosted pages beside it."""
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"].upper(), scope["path"]
        with self._lock:
            self.requests.append((method, path))
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        if path.startswith("/v1/"):
            answer = self._api(method, path, query, raw.decode(), headers)
        else:
            answer = await self._hosted(method, path, raw.decode())
        response_headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", str(len(answer.body)).encode()),
            *[(k.encode(), v.encode()) for k, v in answer.headers],
        ]
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": response_headers,
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    def _api(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> _Answer:
        request_id = _new_id("req", 14)
        base = (
            ("request-id", request_id),
            ("stripe-version", headers.get("stripe-version", self.api_version)),
        )
        key = headers.get("idempotency-key") if method == "POST" else None
        try:
            with self._lock:
                self._fail_injected()
                self._authenticate(headers.get("authorization", ""))
                if key is not None and key in self._idempotent:
                    return self._replay(key, f"{method} {path} {body}")
                params = parse_form(query if method != "POST" else body or query)
                self._request = _Request(request_id, key)
                try:
                    with self._atomic():
                        status, obj = self._route(method, path, params)
                finally:
                    self._request = None
                answer = _Answer(
                    status, json.dumps(obj, indent=2).encode(), headers=base
                )
        except _InjectedError as injected:
            extra = (
                ()
                if injected.should_retry is None
                else (("stripe-should-retry", str(injected.should_retry).lower()),)
            )
            return _Answer(
                injected.error.status,
                json.dumps({"error": injected.error.error}).encode(),
                headers=base + extra,
            )
        except StripeError as error:
            answer = _Answer(
                error.status,
                json.dumps({"error": error.error}, indent=2).encode(),
                headers=base,
            )
            if error.status == 401:
                return answer
        except Exception as crash:  # a bug in the fake: loud, and not retried
            logger.exception("The fake Stripe failed on %s %s", method, path)
            failed = {
                "message": f"The fake Stripe failed: {crash!r}",
                "type": "api_error",
            }
            return _Answer(
                500,
                json.dumps({"error": failed}).encode(),
                headers=(*base, ("stripe-should-retry", "false")),
            )
        if key is not None:
            with self._lock:
                self._idempotent[key] = (f"{method} {path} {body}", answer)
            answer = _Answer(
                answer.status,
                answer.body,
                headers=(*answer.headers, ("idempotency-key", key)),
            )
        return answer

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """All or nothing, as a Stripe call is: a refused call changes nothing."""
        with self._lock:
            saved = copy.deepcopy(
                (self._objects, self.proration_behaviors, self._session_lines)
            )
            events, outbox = len(self.events), len(self.outbox)
            try:
                yield
            except BaseException:
                self._objects, self.proration_behaviors, self._session_lines = saved
                del self.events[events:], self.outbox[outbox:]
                raise

    def _fail_injected(self) -> None:
        if not self._failures:
            return
        failure = self._failures[0]
        failure.times -= 1
        if failure.times <= 0:
            self._failures.pop(0)
        raise _InjectedError(failure.error, failure.should_retry)

    @staticmethod
    def _authenticate(value: str) -> None:
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(token).decode(errors="replace")
            except ValueError:
                token = ""
            token = token.partition(":")[0]
        elif scheme.lower() != "bearer":
            token = ""
        if not token:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in"
                " the Authorization header, using Bearer auth (e.g. 'Authorization:"
                " Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication"
                " for details, or we can help at https://support.stripe.com/.",
            )
        if not token.startswith(("sk_test_", "rk_test_")):
            raise StripeError(
                401,
                f"Invalid API Key provided: {token[:8]}{'*' * 8}{token[-4:]}",
                code="api_key_invalid",
            )

    def _replay(self, key: str, signature: str) -> _Answer:
        seen, answer = self._idempotent[key]
        if seen != signature:
            error = StripeError(
                400,
                "Keys for idempotent requests can only be used with the same"
                " parameters they were first used with. Try using a key other than"
                f" '{key}' if you meant to execute a different request.",
                error_type="idempotency_error",
            )
            return _Answer(
                400, json.dumps({"error": error.error}).encode(), headers=answer.headers
            )
        return _Answer(
            answer.status,
            answer.body,
            headers=(*answer.headers, ("idempotent-replayed", "true")),
        )

    def _route(self, method: str, path: str, params: Obj) -> tuple[int, Obj]:
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                handler: Callable[..., Obj] = getattr(self, name)
                return 200, handler(params, *match.groups())
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see"
            " https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    def _one(self, kind: str, id_: str, params: Obj) -> Obj:
        _allow(params, ())
        return self._expanded(self._get(kind, id_), _expand_paths(params))

    def ep_account(self, params: Obj) -> Obj:
        _allow(params, ())
        return copy.deepcopy(self.account)

    def ep_customer_create(self, params: Obj) -> Obj:
        _allow(params, _CUSTOMER_PARAMS)
        customer = self._new_customer(params)
        self._emit("customer.created", customer)
        return self._expanded(customer, _expand_paths(params))

    def ep_customer_list(self, params: Obj) -> Obj:
        _allow(params, ("email", "limit", "starting_after", "ending_before"))
        customers = self._listed("customer")
        if "email" in params:
            customers = [c for c in customers if c["email"] == params["email"]]
        return self._paginate(customers, params, "/v1/customers")

    def ep_customer_get(self, params: Obj, customer_id: str) -> Obj:
        found = self._objects.get(customer_id)
        if found is not None and found.get("deleted"):
            return copy.deepcopy(found)
        return self._one("customer", customer_id, params)

    def ep_customer_update(self, params: Obj, customer_id: str) -> Obj:
        _allow(params, _CUSTOMER_PARAMS)
        customer = self._get("customer", customer_id)
        before = self._render(customer)
        self._set_customer(customer, params)
        if self._render(customer) != before:
            self._updated(customer, before)
        return self._expanded(customer, _expand_paths(params))

    def ep_customer_delete(self, params: Obj, customer_id: str) -> Obj:
        _allow(params, ())
        customer = self._get("customer", customer_id)
        self._emit("customer.deleted", customer)
        gone = {"id": customer_id, "object": "customer", "deleted": True}
        self._objects[customer_id] = gone
        return copy.deepcopy(gone)

    def ep_product_create(self, params: Obj) -> Obj:
        _allow(params, ("id", *_PRODUCT_PARAMS))
        if not params.get("name"):
            raise _missing("name")
        product = self._new_product(params)
        self._emit("product.created", product)
        return self._expanded(product, _expand_paths(params))

    def ep_product_list(self, params: Obj) -> Obj:
        _allow(params, ("active", "limit", "starting_after", "ending_before"))
        products = self._listed("product")
        if "active" in params:
            active = _bool(params["active"], "active")
            products = [p for p in products if p["active"] is active]
        return self._paginate(products, params, "/v1/products")

    def ep_product_get(self, params: Obj, product_id: str) -> Obj:
        return self._one("product", product_id, params)

    def ep_product_update(self, params: Obj, product_id: str) -> Obj:
        _allow(params, _PRODUCT_PARAMS)
        product = self._get("product", product_id)
        before = self._render(product)
        self._set_product(product, params)
        self._updated(product, before)
        return self._expanded(product, _expand_paths(params))

    def ep_product_features(self, params: Obj, product_id: str) -> Obj:
        _allow(params, ("limit", "starting_after", "ending_before"))
        self._get("product", product_id)
        return _list_of([], f"/v1/products/{product_id}/features")

    def ep_price_create(self, params: Obj) -> Obj:
        _allow(
            params,
            (
                "currency",
                "product",
                "product_data",
                "unit_amount",
                "recurring",
                "transfer_lookup_key",
                *_PRICE_PARAMS,
            ),
        )
        price = self._new_price(params)
        self._emit("price.created", price)
        return self._expanded(price, _expand_paths(params))

    def ep_price_list(self, params: Obj) -> Obj:
        _allow(
            params,
            (
                "active",
                "currency",
                "lookup_keys",
                "product",
                "type",
                "limit",
                "starting_after",
                "ending_before",
            ),
        )
        prices = self._listed("price")
        if "active" in params:
            active = _bool(params["active"], "active")
            prices = [p for p in prices if p["active"] is active]
        if "lookup_keys" in params:
            keys = params["lookup_keys"]
            if not isinstance(keys, list):
                raise StripeError(400, "Invalid array", param="lookup_keys")
            prices = [p for p in prices if p["lookup_key"] in keys]
        for key in ("currency", "product", "type"):
            if key in params:
                prices = [p for p in prices if p[key] == params[key]]
        return self._paginate(prices, params, "/v1/prices")

    def ep_price_get(self, params: Obj, price_id: str) -> Obj:
        return self._one("price", price_id, params)

    def ep_price_update(self, params: Obj, price_id: str) -> Obj:
        _allow(params, ("transfer_lookup_key", *_PRICE_PARAMS))
        price = self._get("price", price_id)
        before = self._render(price)
        self._set_price(price, params)
        self._updated(price, before)
        return self._expanded(price, _expand_paths(params))

    def ep_session_create(self, params: Obj) -> Obj:
        _allow(params, _SESSION_PARAMS)
        return self._expanded(self._new_session(params), _expand_paths(params))

    def ep_session_list(self, params: Obj) -> Obj:
        _allow(
            params,
            (
                "customer",
                "status",
                "subscription",
                "limit",
                "starting_after",
                "ending_before",
            ),
        )
        sessions = self._listed("checkout.session")
        for key in ("customer", "status", "subscription"):
            if key in params:
                sessions = [s for s in sessions if s[key] == params[key]]
        return self._paginate(sessions, params, "/v1/checkout/sessions")

    def ep_session_get(self, params: Obj, session_id: str) -> Obj:
        return self._one("checkout.session", session_id, params)

    def ep_session_line_items(self, params: Obj, session_id: str) -> Obj:
        _allow(params, ("limit", "starting_after", "ending_before"))
        self._get("checkout.session", session_id)
        return self._expanded(self._session_items(session_id), _expand_paths(params))

    def ep_session_expire(self, params: Obj, session_id: str) -> Obj:
        _allow(params, ())
        session = self._get("checkout.session", session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired.'
                f' This Checkout Session has a status of "{session["status"]}".',
            )
        session.update(status="expired", url=None)
        self._emit("checkout.session.expired", session)
        return self._expanded(session, _expand_paths(params))

    def ep_portal_create(self, params: Obj) -> Obj:
        _allow(
            params,
            ("customer", "return_url", "configuration", "locale", "on_behalf_of"),
        )
        if "customer" not in params:
            raise _missing("customer")
        self._get("customer", params["customer"], "customer")
        portal_id = _new_id("bps", 24)
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "configuration": params.get("configuration") or "bpc_fake_default",
            "created": _now(),
            "customer": params["customer"],
            "flow": None,
            "livemode": False,
            "locale": params.get("locale"),
            "on_behalf_of": None,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/portal/{portal_id}",
        }
        self._store(portal)
        self._emit("billing_portal.session.created", portal)
        return self._expanded(portal, _expand_paths(params))

    def ep_subscription_list(self, params: Obj) -> Obj:
        _allow(
            params,
            ("customer", "price", "status", "limit", "starting_after", "ending_before"),
        )
        subscriptions = self._listed("subscription")
        status = params.get("status")
        if status is None:
            subscriptions = [s for s in subscriptions if s["status"] != "canceled"]
        elif status == "ended":
            subscriptions = [
                s
                for s in subscriptions
                if s["status"] in ("canceled", "incomplete_expired")
            ]
        elif status != "all":
            subscriptions = [s for s in subscriptions if s["status"] == status]
        if "customer" in params:
            subscriptions = [
                s for s in subscriptions if s["customer"] == params["customer"]
            ]
        if "price" in params:
            subscriptions = [
                s
                for s in subscriptions
                if any(i["price"] == params["price"] for i in self._items(s))
            ]
        return self._paginate(subscriptions, params, "/v1/subscriptions")

    def ep_subscription_get(self, params: Obj, subscription_id: str) -> Obj:
        return self._one("subscription", subscription_id, params)

    def ep_subscription_update(self, params: Obj, subscription_id: str) -> Obj:
        _allow(
            params,
            (
                "cancel_at_period_end",
                "description",
                "items",
                "metadata",
                "payment_behavior",
                "proration_behavior",
                "proration_date",
            ),
        )
        subscription = self._live_subscription(subscription_id)
        self._update_subscription(subscription, params)
        return self._expanded(subscription, _expand_paths(params))

    def ep_subscription_cancel(self, params: Obj, subscription_id: str) -> Obj:
        _allow(params, ("cancellation_details", "invoice_now", "prorate"))
        subscription = self._get("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise _no_such("subscription", subscription_id)
        self._cancel(subscription)
        return self._expanded(subscription, _expand_paths(params))

    def ep_item_list(self, params: Obj) -> Obj:
        _allow(params, ("subscription", "limit", "starting_after", "ending_before"))
        if "subscription" not in params:
            raise _missing("subscription")
        subscription = self._get("subscription", params["subscription"], "subscription")
        return self._paginate(
            self._items(subscription), params, "/v1/subscription_items"
        )

    def ep_item_get(self, params: Obj, item_id: str) -> Obj:
        return self._one("subscription_item", item_id, params)

    def ep_invoice_list(self, params: Obj) -> Obj:
        _allow(
            params,
            (
                "customer",
                "status",
                "subscription",
                "limit",
                "starting_after",
                "ending_before",
            ),
        )
        invoices = self._listed("invoice")
        for key in ("customer", "status"):
            if key in params:
                invoices = [i for i in invoices if i[key] == params[key]]
        if "subscription" in params:
            invoices = [
                i
                for i in invoices
                if i["parent"]["subscription_details"]["subscription"]
                == params["subscription"]
            ]
        return self._paginate(invoices, params, "/v1/invoices")

    def ep_invoice_get(self, params: Obj, invoice_id: str) -> Obj:
        return self._one("invoice", invoice_id, params)

    def ep_invoice_lines(self, params: Obj, invoice_id: str) -> Obj:
        _allow(params, ("limit", "starting_after", "ending_before"))
        lines = self._get("invoice", invoice_id)["lines"]
        return self._expanded(copy.deepcopy(lines), _expand_paths(params))

    def ep_event_list(self, params: Obj) -> Obj:
        _allow(params, ("type", "types", "limit", "starting_after", "ending_before"))
        events = self._listed("event")
        wanted = params.get("types") or ([params["type"]] if "type" in params else None)
        if wanted:
            events = [
                e
                for e in events
                if any(
                    e["type"] == w
                    or (w.endswith(".*") and e["type"].startswith(w[:-1]))
                    for w in wanted
                )
            ]
        return self._paginate(events, params, "/v1/events")

    def ep_event_get(self, params: Obj, event_id: str) -> Obj:
        return self._one("event", event_id, params)

    # --- Hosted pages -------------------------------------------------------------

    async def _hosted(self, method: str, path: str, body: str) -> _Answer:
        form = dict(parse_qsl(body))
        kind, _, rest = path.strip("/").partition("/")
        id_, _, action = rest.partition("/")
        try:
            if kind == "checkout" and id_:
                return await self._checkout_page(method, id_, action, form)
            if kind == "portal" and id_:
                return await self._portal_page(method, id_, action, form)
            if kind == "invoice" and id_ and not action and method == "GET":
                return self._invoice_page(id_)
        except StripeError as error:
            return _html(error.status, "Not found", html.escape(str(error)))
        return _html(404, "Not found", "<p>No such page.</p>")

    async def _checkout_page(
        self, method: str, session_id: str, action: str, form: dict[str, str]
    ) -> _Answer:
        with self._lock:
            session = copy.deepcopy(self._get("checkout.session", session_id))
        if action == "pay" and method == "POST":
            if session["status"] == "open":
                email = form.get("email") or None
                events = self.complete_checkout(session_id, email=email)
                await asyncio.to_thread(self._deliver_or_queue, events)
            page = session["success_url"] or f"{self.base_url}/checkout/{session_id}"
            return _see_other(page.replace("{CHECKOUT_SESSION_ID}", session_id))
        if action not in ("", "decline"):
            return _html(404, "Not found", "<p>No such page.</p>")
        with self._lock:
            body = self._checkout_html(session, declined=action == "decline")
        return _html(200, "Checkout", body)

    def _checkout_html(self, session: Obj, *, declined: bool) -> str:
        rows = []
        for item in self._session_items(session["id"])["data"]:
            price = item["price"]
            every = price["recurring"]["interval"] if price["recurring"] else "once"
            amount = _money(price["unit_amount"], price["currency"])
            times = f"{_TIMES}{item['quantity']}" if item["quantity"] > 1 else ""
            name = html.escape(item["description"])
            rows.append(f"<p>{name}: <strong>{amount} / {every}</strong>{times}</p>")
        listing = "".join(rows)
        if session["status"] != "open":
            status = html.escape(session["status"])
            return f"{listing}<p>This Checkout Session is {status}.</p>"
        sid = html.escape(session["id"])
        email = html.escape(session["customer_email"] or "")
        field = (
            ""
            if session["customer"]
            else f'<label>Email <input type="email" name="email" value="{email}"'
            ' autocomplete="email"></label>'
        )
        total = _money(session["amount_total"], session["currency"])
        return "".join(
            [
                listing,
                '<p role="alert">Your card was declined.</p>' if declined else "",
                f'<form method="post" action="/checkout/{sid}/pay">{field}',
                f"<button>Pay {total}</button></form>",
                _form(f"/checkout/{sid}/decline", "Pay with a declined card"),
                _back(session["cancel_url"]),
            ]
        )

    async def _portal_page(
        self, method: str, portal_id: str, action: str, form: dict[str, str]
    ) -> _Answer:
        with self._lock:
            portal = copy.deepcopy(self._get("billing_portal.session", portal_id))
        acts = {
            "cancel": lambda sub_id: self.cancel_at_period_end(sub_id),
            "keep": lambda sub_id: self.keep_subscription(sub_id),
            "switch": lambda sub_id: self.change_price(sub_id, form.get("price", "")),
        }
        if method == "POST" and action in acts:
            with self._lock:
                subscription = self._get("subscription", form.get("subscription"))
                if subscription["customer"] != portal["customer"]:
                    raise _no_such("subscription", subscription["id"])
            events = acts[action](subscription["id"])
            await asyncio.to_thread(self._deliver_or_queue, events)
            return _see_other(
                portal["return_url"] or f"{self.base_url}/portal/{portal_id}"
            )
        if action:
            return _html(404, "Not found", "<p>No such page.</p>")
        with self._lock:
            blocks = [
                self._portal_block(portal_id, subscription)
                for subscription in self._listed("subscription")
                if subscription["customer"] == portal["customer"]
                and subscription["status"] != "canceled"
            ]
        listing = "".join(blocks) or "<p>No active subscription.</p>"
        return _html(200, "Your subscription", listing + _back(portal["return_url"]))

    def _portal_block(self, portal_id: str, subscription: Obj) -> str:
        """One subscription on the portal page, with its buttons."""
        item = self._items(subscription)[0]
        price = self._objects[item["price"]]
        ends = datetime.fromtimestamp(item["current_period_end"], UTC)
        on = ends.strftime("%d %b %Y")
        sid, base = subscription["id"], f"/portal/{portal_id}"
        amount = _money(price["unit_amount"], price["currency"])
        status = html.escape(subscription["status"])
        lines = [
            f"<h2>{html.escape(self._price_name(price))}</h2>",
            f"<p>{amount} / {price['recurring']['interval']} · {status}</p>",
        ]
        if subscription["cancel_at_period_end"]:
            lines.append(f"<p>Ends on {on}.</p>")
            lines.append(_form(f"{base}/keep", "Keep subscription", subscription=sid))
        else:
            lines.append(f"<p>Renews on {on}.</p>")
            lines.append(
                _form(f"{base}/cancel", "Cancel at period end", subscription=sid)
            )
        for other in self._listed("price"):
            if (
                other["active"]
                and other["type"] == "recurring"
                and other["id"] != price["id"]
                and other["currency"] == price["currency"]
            ):
                name = self._price_name(other)
                label = f"Switch to {name} ({other['recurring']['interval']})"
                fields = {"subscription": sid, "price": other["id"]}
                lines.append(_form(f"{base}/switch", label, **fields))
        return "".join(lines)

    def _price_name(self, price: Obj) -> str:
        return str(price["nickname"] or self._objects[price["product"]]["name"])

    def _invoice_page(self, invoice_id: str) -> _Answer:
        with self._lock:
            invoice = copy.deepcopy(self._get("invoice", invoice_id))
        total = _money(invoice["total"], invoice["currency"])
        number, status = html.escape(invoice["number"]), html.escape(invoice["status"])
        return _html(200, "Invoice", f"<p>Invoice {number}: {total}, {status}.</p>")


class _InjectedError(Exception):
    """A failure `fail_next` queued, being answered."""

    def __init__(self, error: StripeError, should_retry: bool | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.should_retry = should_retry


_CUSTOMER_PARAMS = (
    "address",
    "description",
    "email",
    "invoice_settings",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)
_PRODUCT_PARAMS = (
    "active",
    "description",
    "metadata",
    "name",
    "statement_descriptor",
    "unit_label",
    "url",
)
_PRICE_PARAMS = ("active", "lookup_key", "metadata", "nickname")
_SESSION_PARAMS = (
    "allow_promotion_codes",
    "billing_address_collection",
    "cancel_url",
    "client_reference_id",
    "customer",
    "customer_email",
    "line_items",
    "locale",
    "metadata",
    "mode",
    "payment_method_types",
    "subscription_data",
    "success_url",
)

_ID = r"([A-Za-z0-9_]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern.replace("{id}", _ID)), name)
    for method, pattern, name in [
        ("GET", "/v1/account", "ep_account"),
        ("POST", "/v1/customers", "ep_customer_create"),
        ("GET", "/v1/customers", "ep_customer_list"),
        ("GET", "/v1/customers/{id}", "ep_customer_get"),
        ("POST", "/v1/customers/{id}", "ep_customer_update"),
        ("DELETE", "/v1/customers/{id}", "ep_customer_delete"),
        ("POST", "/v1/products", "ep_product_create"),
        ("GET", "/v1/products", "ep_product_list"),
        ("GET", "/v1/products/{id}", "ep_product_get"),
        ("POST", "/v1/products/{id}", "ep_product_update"),
        ("GET", "/v1/products/{id}/features", "ep_product_features"),
        ("POST", "/v1/prices", "ep_price_create"),
        ("GET", "/v1/prices", "ep_price_list"),
        ("GET", "/v1/prices/{id}", "ep_price_get"),
        ("POST", "/v1/prices/{id}", "ep_price_update"),
        ("POST", "/v1/checkout/sessions", "ep_session_create"),
        ("GET", "/v1/checkout/sessions", "ep_session_list"),
        ("GET", "/v1/checkout/sessions/{id}", "ep_session_get"),
        ("GET", "/v1/checkout/sessions/{id}/line_items", "ep_session_line_items"),
        ("POST", "/v1/checkout/sessions/{id}/expire", "ep_session_expire"),
        ("POST", "/v1/billing_portal/sessions", "ep_portal_create"),
        ("GET", "/v1/subscriptions", "ep_subscription_list"),
        ("GET", "/v1/subscriptions/{id}", "ep_subscription_get"),
        ("POST", "/v1/subscriptions/{id}", "ep_subscription_update"),
        ("DELETE", "/v1/subscriptions/{id}", "ep_subscription_cancel"),
        ("GET", "/v1/subscription_items", "ep_item_list"),
        ("GET", "/v1/subscription_items/{id}", "ep_item_get"),
        ("GET", "/v1/invoices", "ep_invoice_list"),
        ("GET", "/v1/invoices/{id}", "ep_invoice_get"),
        ("GET", "/v1/invoices/{id}/lines", "ep_invoice_lines"),
        ("GET", "/v1/events", "ep_event_list"),
        ("GET", "/v1/events/{id}", "ep_event_get"),
    ]
]
ROUTES = [(method, pattern.pattern, name) for method, pattern, name in _ROUTES]
"""Every (method, path pattern, handler) the API serves."""

__all__ = ["ROUTES", "FakeStripe", "StripeError", "parse_form"]
