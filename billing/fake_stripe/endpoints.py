"""The fake Stripe's API endpoints, one method per route, and the route
table that names them."""

from __future__ import annotations

import copy
import re

from .subscriptions import _Subscriptions
from .wire import (
    Obj,
    StripeError,
    _allow,
    _bool,
    _expand_paths,
    _list_of,
    _missing,
    _new_id,
    _no_such,
    _now,
)


class _Endpoints(_Subscriptions):
    """The handlers `_ROUTES` names: each takes the parsed parameters and the
    ids in the path, and returns the object to answer."""

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
