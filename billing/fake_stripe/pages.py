"""The fake Stripe's hosted pages, the ones a browser goes through: Checkout
(Pay, Decline, Back), the billing portal and an invoice."""

from __future__ import annotations

import asyncio
import copy
import html
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from .helpers import _Helpers
from .wire import _TIMES, Obj, StripeError, _Answer, _money, _no_such


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


class _Pages(_Helpers):
    """`/checkout/{id}`, `/portal/{id}` and `/invoice/{id}`."""

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
