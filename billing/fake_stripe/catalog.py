"""Builders for the fake Stripe's catalog and checkout: customers, products,
prices and Checkout Sessions, from the parameters an API call sends."""

from __future__ import annotations

import secrets
import string
from typing import Any

from .store import _Store
from .wire import (
    _DAY,
    _INTERVALS,
    Obj,
    StripeError,
    _allow,
    _bool,
    _choice,
    _int,
    _metadata,
    _missing,
    _new_id,
    _now,
    _nulls,
    _shape,
    _text,
)


class _Catalog(_Store):
    """Customers, products, prices and Checkout Sessions: made and updated."""

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
