"""A faithful fake Tradovate REST API: real HTTP on loopback, for tests and benches.

It serves the documented REST surface (`reference/brokers.md` §3 and its 2026-12
corrections §1.2) under `/v1`: GET for queries (`entity/list`, `item?id=`,
`find?name=`, `suggest?t=&l=`, `deps?masterid=`), POST with a JSON body for
actions, paths matched case-insensitively (the docs write both `placeOSO` and
`placeoso`). Every call but `auth/accesstokenrequest` needs `Authorization:
Bearer <accessToken>`; a missing, unknown or expired token is an HTTP 401 with an
empty body. Business errors are HTTP 200: `{"errorText": ...}` (auth, cash
snapshot, SimpleResponse with `"ok": false`) or `{"failureReason", "failureText"}`
(order actions). Malformed JSON is a 400, an unknown path a 404, a query for an id
that does not exist a 404 with an empty body.

Behind it a matching engine simple enough to trust: Market orders fill at the
last price (`price()` sets it; none yet: `NoQuote`), Limit, Stop and StopLimit
orders rest until `price()` crosses them (a marketable one fills at once, at the
last price), IOC/FOK orders that cannot fill at once are cancelled. `placeoso`
brackets wait `Suspended` until their entry fills, then work, linked as an OCO
pair (one filling cancels the other); cancelling the entry cancels them.
Positions net per (account, contract) with the average price of the open
position, and a flat position stays listed with `netPos` 0, as Tradovate's do. A
closed trade books its P&L (tick value / tick size of our catalogue) into the
account's cash; no commissions are charged.

Knobs a test turns (`FakeTradovate.knobs`): `latency` (seconds before each
answer), `fail` (HTTP statuses the next calls answer with, e.g. [500, 503]),
`drop_after_place` (the next N placements are booked, then answered 500 — a
disconnect mid-order), `hang` + `hang_seconds` (the next N calls answer late),
`rate_limit` (calls per token per minute; past it HTTP 429 with an empty body and
`Content-Length: 0`, as documented), `penalty` (the next N calls answer HTTP 200
`{"p-ticket", "p-time", "p-captcha"}`; see below), `penalty_seconds`, `captcha`,
`token_seconds` (80 minutes by default, as the API reference says; the partner
quick-setup page says 90) and `gather`/`gather_seconds` (each placement waits
until this many are in flight at once, or `gather_seconds` pass; `placements.peak`
says how many were). `calls` records every request under /v1 (lower-cased,
without the prefix), those answered by an injected failure included.

Penalty tickets: a resend of the identical call (same path, same body or query)
that adds `"p-ticket": "<token>"` is served once `p-time` seconds have passed —
by the (frozen or not) wall clock *or* by real elapsed time, so both a test that
advances its clock and a client that really sleeps get through. A resend sooner
gets another ticket; a captcha ticket (`captcha=True`) is never redeemed, as a
server integration cannot solve a captcha. For GETs the ticket rides in the query.

Where it lives: this module routes a request, checks its token, turns the knobs
and the rate limit, hands out penalty tickets and runs the fake on loopback
(`FakeTradovate`); the endpoints are `fake_auth.py`, `fake_reading.py` and
`fake_trading.py` (with the validation); beneath them `fake_market.py` holds the
state, setting it up and the matching engine, and `fake_world.py` the
dataclasses, `Knobs` and the value helpers. Beside it, on the same port,
`fake_socket.py` serves the WebSocket and `fake_oauth.py` the OAuth pages.

    with FakeTradovate.running() as fake:
        fake.user("trader", "secret", cid=8, sec="api-secret")
        account = fake.account("trader", "DEMO123", balance=Decimal(50_000))
        contract = fake.contract_for("MNQZ26")  # our code -> Tradovate's MNQZ6
        fake.price(contract.id, Decimal("21000"))
        ...  # a TradovateClient on fake.url (".../v1")

What the docs confirm (partner.tradovate.com, read 2026-12). Every request body
and answer below is also checked field for field, in tests/test_openapi.py,
against the published OpenAPI document https://partner.tradovate.com/openapi.json
(tests/openapi_subset.json: its schemas for these endpoints, and where they came
from); fields it does not name are not sent (an Account has no `active`):
- AccessTokenResponse {errorText, accessToken, mdAccessToken, expirationTime,
  passwordExpirationTime, userStatus, userId, name, hasLive}: conformance stage 1,
  https://partner.tradovate.com/overview/conformance-testing/stage-1-authentication
  (the openapi.json schema omits mdAccessToken; its accessTokenRequest text returns
  it). `auth/renewaccesstoken` is a GET there, answering the same schema.
- OAuthMeResponse {userId, name, fullName, email, emailVerified, isTrial, ...}:
  https://partner.tradovate.com/api/rest-api-endpoints/authentication/me.md
- Account {id, name, userId, accountType, clearingHouseId, riskCategoryId,
  autoLiqProfileId, marginAccountType, legalStatus, timestamp, restricted?,
  closed?, ...}: https://partner.tradovate.com/api/rest-api-endpoints/accounting/account-list.md
- CashBalanceSnapshot {errorText, totalCashValue, totalPnL, initialMargin,
  maintenanceMargin, netLiq, openPnL, realizedPnL, weekRealizedPnL}:
  https://partner.tradovate.com/api/rest-api-endpoints/accounting/get-cash-balance-snapshot
- Contract {id, name, contractMaturityId, timestamp} (no tick size: that lives on
  the Product): https://partner.tradovate.com/api/rest-api-endpoints/contract-library/contract-items.md
- Position {id, accountId, contractId, timestamp, tradeDate{year,month,day},
  netPos, netPrice?, bought, boughtValue, sold, soldValue, prevPos, prevPrice?}:
  https://partner.tradovate.com/api/rest-api-endpoints/positions/position-items.md
- Order {id, accountId, contractId, timestamp, action, ordStatus, admin, ocoId?,
  parentId?, linkedId?, ...} — no quantity or price: those live on OrderVersion
  {id, orderId, orderQty, orderType, price?, stopPrice?, timeInForce?, ...},
  served at `orderVersion/deps?masterid=<orderId>`:
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-list.md ,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-version-dependents.md
- Fill {id, orderId, contractId, timestamp, tradeDate, action, qty, price,
  active, finallyPaired}: https://partner.tradovate.com/api/rest-api-endpoints/orders/fill-list.md
- Command {id, orderId, timestamp, clOrdId?, commandType New|Modify|Cancel,
  commandStatus AtExecution|RiskRejected|..., isAutomated?, customTag50?}:
  https://partner.tradovate.com/api/rest-api-endpoints/orders/command-item.md
  (`command/list` is how a client finds the order its clOrdId made)
- placeorder / placeoso bodies, `isAutomated` "must be true if this isn't an
  order made directly by a human", `{orderId}` answers, "If you specify both
  bracket1 and bracket2 the two orders will be linked as an OCO":
  https://partner.tradovate.com/api/rest-api-endpoints/orders/place-order.md ,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/place-oso.md
- Answers: placeoso's PlaceOsoResult {failureReason?, failureText?, orderId,
  oso1Id, oso2Id}; placeorder's and liquidateposition's PlaceOrderResult
  {failureReason?, failureText?, orderId}; modifyorder's and cancelorder's
  CommandResult {failureReason?, failureText?, commandId}; liquidatepositions'
  SimpleResponse {ok, errorText?}; every failureReason is one of the document's
  enum: https://partner.tradovate.com/openapi.json (components.schemas)
- p-ticket / 429 shapes: brokers.md §3.6 and its §1.2 sources.

What is our assumption, not documented:
- The wording of every `errorText`/`failureText` (but the wrong-password one,
  which brokers.md also marks [I]); wrong `cid`/`sec` answers the same errorText.
- A `clOrdId` already used on the account is refused with failureReason
  `UnknownReason`, failureText "Duplicate clOrdId"; `isAutomated` not true is
  refused with `UnknownReason`. Refused placements book nothing.
- Bracket legs are `Suspended` until the entry fills; their Order rows carry
  `parentId` and each other's id as `linkedId`.
- modifyorder without `orderQty`/`orderType` (the document requires both) keeps
  the order's own.
- `accountSpec` may be the account's name or the user's name (the docs' examples
  use both); anything else is `Unauthorized`.
- Prices off the tick grid are refused `InvalidPrice`; order types other than
  Market, Limit, Stop and StopLimit are refused `Unsupported`.
- Command statuses: an accepted command is `AtExecution`.
- modify/cancel of an order no longer open: `TooLate`; of an unknown order or
  another user's: `UnknownReason` "Unknown order".
- liquidateposition on a flat position cancels the working orders and answers
  failureReason `UnknownReason`, "No position to liquidate"; with no last price
  it answers `NoQuote`. liquidatepositions answers `{"ok": true}` or
  `{"ok": false, "errorText": ...}` having done nothing.
- An unknown id on `item?id=` / `find?name=` is a 404 with an empty body.
- `tradeDate` is the CME trade date (a new one from 17:00 Chicago, weekends
  skipped); `realizedPnL`/`weekRealizedPnL` are everything booked since start.
- Timestamps are ISO-8601 UTC with milliseconds and a `Z`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from brokers.venues.fakes import Placements, answer_http, serve_on_loopback

from .fake_auth import AuthEndpoints
from .fake_oauth import FakeOAuth
from .fake_reading import ReadingEndpoints
from .fake_socket import FakeSocket
from .fake_trading import TradingEndpoints
from .fake_world import (
    FakeUser,
    _json_default,
    _NotFoundError,
    _now,
    _RefusedError,
    _Ticket,
)

PLACEMENTS = frozenset({"order/placeorder", "order/placeoso"})


@dataclass(frozen=True)
class _Route:
    method: str  # "GET", "POST" or "ANY"
    handler: str


class FakeTradovate(AuthEndpoints, ReadingEndpoints, TradingEndpoints):
    """The fake: its state and endpoints (the classes it is made of) and its ASGI
    app. Thread-safe: the server runs in a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []  # lower-cased paths without /v1, in order
        self.hits: dict[str, list[float]] = {}  # token -> call times (rate limit)
        self.tickets: dict[str, _Ticket] = {}
        self.placements = Placements()  # Order placements in flight
        self.oauth = FakeOAuth(self)  # /oauth and /auth/oauthtoken (fake_oauth.py)
        self.socket = FakeSocket(self)  # /v1/websocket (fake_socket.py)
        self.url = ""

    # --- HTTP -----------------------------------------------------------------------

    def _token_user(self, headers: dict[str, str]) -> tuple[str, FakeUser] | None:
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        token = value[len("bearer ") :].strip()
        with self.lock:
            found = self.tokens.get(token)
            if found is None or found[1] <= _now():
                return None
            user = self.users.get(found[0])
            return (token, user) if user is not None else None

    def _limited(self, token: str) -> bool:
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.hits.get(token, []) if now - t < 60]
            recent.append(now)
            self.hits[token] = recent
            return len(recent) > self.knobs.rate_limit

    def _penalized(
        self, endpoint: str, body: dict[str, Any], query: dict[str, str]
    ) -> dict[str, Any] | None:
        """A p-ticket to answer with instead of serving the call, or None."""
        ticket = body.pop("p-ticket", None) or query.pop("p-ticket", None)
        signature = json.dumps([endpoint, body, query], sort_keys=True, default=str)
        with self.lock:
            held = self.tickets.get(str(ticket)) if ticket else None
            if held is not None and held.signature == signature:
                del self.tickets[str(ticket)]
                if held.captcha or not held.waited():
                    return self._ticket(signature, captcha=held.captcha)
                return None
            if self.knobs.penalty > 0:
                self.knobs.penalty -= 1
                return self._ticket(signature, captcha=self.knobs.captcha)
            return None

    def _ticket(self, signature: str, *, captcha: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        seconds = self.knobs.penalty_seconds
        self.tickets[token] = _Ticket(
            signature, _now(), time.monotonic(), seconds, captcha
        )
        return {"p-ticket": token, "p-time": seconds, "p-captcha": captcha}

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in ("/oauth", "/auth/oauthtoken"):
            await self.oauth.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.socket.serve(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        await answer_http(
            receive,
            send,
            lambda raw: self._respond(scope, raw),
            default=_json_default,
        )

    async def _respond(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        path: str = scope["path"]
        method: str = scope["method"].upper()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        if not path.lower().startswith("/v1/"):
            return 404, b""
        endpoint = path[len("/v1/") :].strip("/").lower()
        with self.lock:
            self.calls.append(endpoint)
            hang = self.knobs.hang > 0
            if hang:
                self.knobs.hang -= 1
            failing = self.knobs.fail.pop(0) if self.knobs.fail else None
        if hang:
            await asyncio.sleep(self.knobs.hang_seconds)
        if failing is not None:
            return failing, b""
        route = ROUTES.get(endpoint)
        if route is None:
            return 404, b""
        if route.method != "ANY" and method != route.method:
            return 405, b""
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        body: dict[str, Any] = {}
        if method == "POST" and raw.strip():
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                return 400, b"Malformed JSON"
            if not isinstance(parsed, dict):
                return 400, b"Malformed JSON"
            body = parsed
        ticket = self._penalized(endpoint, body, query)
        if ticket is not None:
            return 200, ticket
        if endpoint == "auth/accesstokenrequest":
            return 200, self.login(body)
        found = self._token_user(headers)
        if found is None:
            return 401, b""
        token, user = found
        if self._limited(token):
            return 429, b""
        placing = endpoint in PLACEMENTS
        if placing:
            await self.placements.placing(self.knobs.gather, self.knobs.gather_seconds)
        handler: Callable[[FakeUser, dict[str, Any], dict[str, str]], Any] = getattr(
            self, route.handler
        )
        try:
            with self.lock:
                answer = handler(user, body, query)
        except _RefusedError as refused:
            answer = refused.body()
        except _NotFoundError:
            return 404, b""
        if method == "POST":
            self.notify()
        if placing and isinstance(answer, dict) and "orderId" in answer:
            with self.lock:
                if self.knobs.drop_after_place:
                    self.knobs.drop_after_place -= 1
                    return 500, b""
        return 200, answer

    # --- Running --------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeTradovate]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls()
        with serve_on_loopback(fake.app, "the fake Tradovate") as base:
            fake.url = f"{base}/v1"
            yield fake


# Lower-cased path (without /v1) -> method and handler. accesstokenrequest is
# served before the token check; renewaccesstoken is a GET in the docs, and a
# POST is accepted too.
ROUTES: dict[str, _Route] = {
    "auth/accesstokenrequest": _Route("POST", "login"),
    "auth/renewaccesstoken": _Route("ANY", "ep_renew"),
    "auth/me": _Route("GET", "ep_me"),
    "account/list": _Route("GET", "ep_account_list"),
    "account/item": _Route("GET", "ep_account_item"),
    "cashbalance/getcashbalancesnapshot": _Route("POST", "ep_cash_snapshot"),
    "contract/find": _Route("GET", "ep_contract_find"),
    "contract/item": _Route("GET", "ep_contract_item"),
    "contract/items": _Route("GET", "ep_contract_items"),
    "contract/suggest": _Route("GET", "ep_contract_suggest"),
    "position/list": _Route("GET", "ep_position_list"),
    "position/item": _Route("GET", "ep_position_item"),
    "order/list": _Route("GET", "ep_order_list"),
    "order/item": _Route("GET", "ep_order_item"),
    "orderversion/list": _Route("GET", "ep_version_list"),
    "orderversion/deps": _Route("GET", "ep_version_deps"),
    "fill/list": _Route("GET", "ep_fill_list"),
    "fill/deps": _Route("GET", "ep_fill_deps"),
    "command/list": _Route("GET", "ep_command_list"),
    "command/item": _Route("GET", "ep_command_item"),
    "command/deps": _Route("GET", "ep_command_deps"),
    "order/placeorder": _Route("POST", "ep_place_order"),
    "order/placeoso": _Route("POST", "ep_place_oso"),
    "order/modifyorder": _Route("POST", "ep_modify_order"),
    "order/cancelorder": _Route("POST", "ep_cancel_order"),
    "order/liquidateposition": _Route("POST", "ep_liquidate_position"),
    "order/liquidatepositions": _Route("POST", "ep_liquidate_positions"),
}
