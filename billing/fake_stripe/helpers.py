"""The fake Stripe's knobs, webhook delivery, and the test helpers that act
as Stripe does on its own (a buyer pays, a renewal fails, a period ends)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

import httpx

from .subscriptions import _Subscriptions
from .wire import _RETRY_SECONDS, Obj, StripeError, _Failure, _now


class _Helpers(_Subscriptions):
    """`fail_next`, signing and delivery, and the test helpers."""

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
