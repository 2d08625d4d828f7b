"""The fake Stripe's state: the object store, all-or-nothing calls, and how
objects are rendered, expanded, listed and announced as events."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from djstripe.settings import djstripe_settings

from .wire import (
    _UPDATED,
    Deliver,
    Obj,
    StripeError,
    _Answer,
    _expand_paths,
    _Failure,
    _int,
    _list_of,
    _new_id,
    _no_such,
    _now,
    _nulls,
    _Request,
    _shape,
)


class _Store:
    """What the fake holds, guarded by one re-entrant lock, and the reads and
    writes every other part builds on."""

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

    def _items(self, subscription: Obj) -> list[Obj]:
        return [self._objects[item_id] for item_id in subscription["items"]["data"]]

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
