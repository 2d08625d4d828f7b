"""The fake Stripe's subscriptions and invoices: made on checkout, renewed,
updated (items, prices, cancellation) and canceled."""

from __future__ import annotations

from typing import Any

from .catalog import _Catalog
from .wire import (
    _PRORATIONS,
    _RETRY_SECONDS,
    _TIMES,
    Obj,
    StripeError,
    _add_interval,
    _allow,
    _bool,
    _choice,
    _int,
    _list_of,
    _metadata,
    _missing,
    _money,
    _new_id,
    _no_such,
    _now,
    _nulls,
    _shape,
    _text,
)


class _Subscriptions(_Catalog):
    """Subscriptions, their items and their invoices."""

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
