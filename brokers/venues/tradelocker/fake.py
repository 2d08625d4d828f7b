"""A faithful fake TradeLocker REST API: real HTTP on loopback, for tests and benches.

It serves the documented surface (`reference/brokers.md` §2 and its 2026-12
corrections §1.3) under `/backend-api`, the base URL a client is given (`url`).
`/auth/*` answers are bare JSON; `/trade/*` answers are `{"s": "ok", "d": ...}`
(only `{"s": "ok"}` for actions that return nothing: modify, cancel, close) and a
refusal is `{"s": "error", "errmsg": ...}` with HTTP 400. Every `/trade/*` call
needs `Authorization: Bearer <accessToken>` (missing, unknown or expired: HTTP
401) and the header `accNum` naming one of the user's accounts — the same one as
the `accountId` in the path, and the account that owns the order or position an
`/trade/orders/{id}` or `/trade/positions/{id}` call names (missing or not
matching: HTTP 400). Unknown query parameters (the vendor client's `ref`, `v`,
`locale`) are ignored; JSON numbers and numeric strings are both accepted.

Endpoints: POST /auth/jwt/token (201), POST /auth/jwt/refresh (201, both tokens
rotate, the old refresh token stops working), GET /auth/jwt/all-accounts, GET
/trade/config, GET /trade/accounts, GET /trade/accounts/{id}/instruments, GET
/trade/instruments/{tradableInstrumentId}?routeId=<INFO>, GET
/trade/quotes?tradableInstrumentId&routeId=<INFO>, GET /trade/history (always
`{"s": "no_data"}`: the fake keeps no bars), GET /trade/accounts/{id}/state,
/orders (GET working, POST place, DELETE cancel all [?tradableInstrumentId]),
/ordersHistory, /executions, /positions (GET, DELETE close all
[?tradableInstrumentId]), PATCH and DELETE /trade/orders/{id}, PATCH and DELETE
/trade/positions/{id} (DELETE body `{"qty": "0"}`: 0 closes it all, else the lots
to close). Not served (404): dailyBar, depth, sessions, sessionStatuses, streams.

Behind it a matching engine simple enough to trust: `price()` sets the bid and ask
of an instrument. Market orders fill at once, buys at the ask and sells at the
bid (none yet: refused "No quotes"); limit and stop orders rest (`Accepted`)
until the quote crosses them, then fill at that quote. Positions are
hedging-style: every filled order opens its own position, with an id of its own
(not the order's: the order row's `positionId` names it), and an order of the
opposite side opens an opposite position rather than closing one — netting is an
account option we do not model, so an adapter closes positions explicitly (DELETE
/trade/positions/{id}). A position's stop loss and take profit (absolute prices;
`offset` and `trailingOffset` are distances in price units, turned into prices
from the fill price; a trailing stop follows the best close price) close it when
the closing side of the quote (bid for a buy, ask for a sell) reaches them, at
that quote. A close books its P&L, `(exit - entry) * qty * lotSize` (negated for
a sell), into the balance in the account currency: as is when the instrument is
quoted in it, divided by the exit price when it is the base currency (USDJPY),
as is otherwise (no cross rates); rounded to the cent. No commission, no margin.

Ids: accounts from 712345; order, position, execution and protective-order ids
are 19-digit numbers from one counter, so an order id is never a position id.
Row values are strings (`null` where there is none; `stopLossId`/`takeProfitId`
"0" when there is none), timestamps epoch milliseconds from
`django.utils.timezone.now()` (a frozen test clock moves them).

Knobs a test turns (`FakeTradeLocker.knobs`): `latency` (seconds before each
answer), `fail` (HTTP statuses the next calls answer with, empty body),
`drop_after_place` (the next N placements are booked, then answered 500),
`drop_after_close` (the same for the next N closes of a position by id),
`hang` + `hang_seconds` (the next N calls answer late), `token_seconds` (access
token life, 3600) and `refresh_seconds` (7 days), `rate_limits_enforced`,
`shuffle_columns` (serve the /trade/config columns, and the rows with them, in
reverse: only a client that reads by name keeps working) and `gather` /
`gather_seconds` (each placement waits until this many are in flight at once, or
`gather_seconds` pass; `placements.peak` says how many were). `calls` records every
request as "METHOD /path" without `/backend-api` and without the query string.

Rate limits are per access token and route type, as `/trade/config` advertises
them (`RATE_LIMITS`: PLACE_ORDER 2 a second, GET_* and QUOTES 10 a second,
MODIFY_ORDER / MODIFY_POSITION 5 a second, ...); a call past one is HTTP 429
`{"s": "error", "errmsg": "Rate limit exceeded"}` and does not count against the
window. Windows run on `time.monotonic()`, so a frozen clock does not hold them.
Tests that place more than two orders a second turn `rate_limits_enforced` off.

Where it lives: this module routes a request, checks its token and `accNum`,
turns the knobs and the rate limits, and runs the fake on loopback
(`FakeTradeLocker`); the endpoints are `fake_auth.py`, `fake_reading.py` (with
`RATE_LIMITS`) and `fake_trading.py` (with the validation); beneath them
`fake_market.py` holds the state, setting it up and the matching engine, and
`fake_world.py` the dataclasses, `Knobs` and `CATALOGUE`.

    with FakeTradeLocker.running() as fake:
        fake.user("trader@example.com", "secret", "OSP-DEMO")
        account = fake.account("trader@example.com", "OSP#712345")
        eurusd = fake.instrument("EURUSD")
        fake.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
        ...  # a TradeLocker client on fake.url (".../backend-api")

Confirmed (docs corpus, read 2026-12):
- Base URLs `https://demo.tradelocker.com/backend-api` and live; the JWT is sent
  as `Authorization: Bearer`; /auth/jwt/token takes email, password, server:
  https://public-api.tradelocker.com/
- POST /auth/jwt/token answers 201 Created with `JWTTokensResponse`
  (accessToken, refreshToken), 400 Bad Request otherwise (OpenAPI "Trading API"
  2.11.0): https://public-api.tradelocker.com/reference/getjwttokens.md
- A filled order leaves /orders for /ordersHistory and a new position gets "its
  own positionId (different than the original orderId)", found through the
  `positionId` of the ordersHistory row:
  https://public-api.tradelocker.com/docs/difference-between-orderid-and-positionid
- From the vendor's Python client (TradeLocker/tradelocker-python,
  `src/tradelocker/tradelocker_api.py`, `types.py`; read as reference): the
  column sets and config keys (executions are read with `filledOrdersConfig`),
  the rate-limit shape {rateLimitType, measure SECONDS|MINUTES, intervalNum,
  limit} and route names, `limits` [{limitType: QUOTES_HISTORY_BARS, limit}],
  the INFO route for quotes and instrument details and the TRADE route for
  orders, `{"qty": str}` as the body of DELETE /trade/positions/{id}, the order
  body (qty, routeId and tradableInstrumentId sent as strings), `d.orderId` a
  string, /trade/accounts answering a list, the final statuses.

Assumed (not in any source we have):
- `expireDate` (ISO-8601 UTC, milliseconds, Z) as the expiry field of the token
  answers; JWT-shaped tokens whose payload carries `exp` (the vendor client
  reads it unverified); the fake checks tokens by lookup, not by signature.
- Wrong credentials: HTTP 400 `{"s": "error", "errmsg": "Invalid credentials"}`;
  emails compared case-insensitively; the server name must match exactly. An
  unknown or spent refresh token: HTTP 401. A bad token on /trade/*: 401
  `{"s": "error", "errmsg": "Unauthorized"}`.
- The accNum refusals' wording; every business refusal is HTTP 400 and its
  `errmsg` wording is ours ("No quotes", "Invalid routeId", ...).
- ids and balances as strings in all-accounts (as brokers.md §2.2 infers).
- Working statuses `Accepted` (resting); `executionsConfig` is served as an
  alias of `filledOrdersConfig` (no source shows it: read `filledOrdersConfig`).
- Which route type each action counts against: cancels count as MODIFY_ORDER,
  closes as MODIFY_POSITION; /trade/config and /auth/* are not limited.
- Validation: qty at least minLot (0.01), at most maxLot (100) and a multiple of
  lotStep (0.01); prices, stop prices and absolute SL/TP on the tick grid; an
  absolute stop loss on the losing side and take profit on the winning side of
  the order's price (for a market order, the closing side of the quote: the
  bid for a buy); a 0 SL/TP means none; a stop order already crossed fills at once;
  strategyId at most 31 characters; refused placements book nothing.
- SL/TP are kept on the position (`stop_loss`, `take_profit`), not listed as
  orders; their ids (`stopLossId`/`takeProfitId`) are real enough that DELETE
  /trade/orders/{that id} removes the protection and PATCH it with `stopPrice`
  (SL) or `price` (TP) moves it; the closing order an SL/TP fill leaves in
  ordersHistory has that id. A manual close leaves a filled market order there.
- PATCH /trade/positions/{id}: `stopLoss`/`takeProfit` with an optional type
  (absolute by default; an offset from the position's price, a trailingOffset
  from the current close price); null removes; a key left out is unchanged.
- Quote sizes (`as`, `bs`) are a constant 100; instrument types FOREX/CFD.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from brokers.venues.fakes import Placements, answer_http, serve_on_loopback

from .fake_auth import AuthEndpoints
from .fake_reading import RATE_LIMITS, ReadingEndpoints, _NoData
from .fake_trading import TradingEndpoints
from .fake_world import _Context, _int, _RefusedError

PREFIX = "/backend-api"
UNAUTHORIZED = "Unauthorized"
ACC_NUM_REQUIRED = "accNum header is required"
ACC_NUM_MISMATCH = "accNum header does not match the account"
RATE_LIMITED = "Rate limit exceeded"


def _num(value: Decimal) -> int | float:
    """A Decimal as a JSON number (an int when whole; the float's shortest repr is
    the decimal itself for any price or size under 15 significant digits)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: str
    limit: str | None  # the rate-limit type it counts against


class FakeTradeLocker(AuthEndpoints, ReadingEndpoints, TradingEndpoints):
    """The fake: its state and endpoints (the classes it is made of) and its ASGI
    app. Thread-safe: the server runs in a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.hits: dict[tuple[str, str], list[float]] = {}  # (token, type) -> times
        self.placements = Placements()  # placements in flight
        self.url = ""

    # --- HTTP -----------------------------------------------------------------------

    def _context(
        self, headers: dict[str, str], path: dict[str, str]
    ) -> tuple[_Context | None, tuple[int, Any] | None]:
        found = self._token_user(headers)
        if found is None:
            return None, (401, {"s": "error", "errmsg": UNAUTHORIZED})
        token, user = found
        raw = headers.get("accnum", "").strip()
        if not raw:
            return None, (400, {"s": "error", "errmsg": ACC_NUM_REQUIRED})
        with self.lock:
            acc_num = _int(raw)
            account = next((a for a in self._mine(user) if a.acc_num == acc_num), None)
            if account is None or (
                "account" in path and _int(path["account"]) != account.id
            ):
                return None, (400, {"s": "error", "errmsg": ACC_NUM_MISMATCH})
            return _Context(token, user, account), None

    def _limited(self, token: str, kind: str | None) -> bool:
        if kind is None or not self.knobs.rate_limits_enforced:
            return False
        measure, interval, limit = RATE_LIMITS[kind]
        window = interval * (60 if measure == "MINUTES" else 1)
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.hits.get((token, kind), []) if now - t < window]
            if len(recent) >= limit:
                self.hits[(token, kind)] = recent
                return True
            recent.append(now)
            self.hits[(token, kind)] = recent
            return False

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await answer_http(
            receive,
            send,
            lambda raw: self._respond(scope, raw),
            default=_json_default,
        )

    async def _respond(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        full: str = scope["path"]
        method: str = scope["method"].upper()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        path = full[len(PREFIX) :] if full.startswith(PREFIX + "/") else None
        with self.lock:
            self.calls.append(f"{method} {path if path is not None else full}")
            hang = self.knobs.hang > 0
            if hang:
                self.knobs.hang -= 1
            failing = self.knobs.fail.pop(0) if self.knobs.fail else None
        if hang:
            await asyncio.sleep(self.knobs.hang_seconds)
        if failing is not None:
            return failing, b""
        if path is None:
            return 404, {"s": "error", "errmsg": "Not found"}
        path = path.rstrip("/") or "/"
        matched = [(r, m) for r in ROUTES if (m := r.pattern.fullmatch(path))]
        if not matched:
            return 404, {"s": "error", "errmsg": "Not found"}
        chosen = next(((r, m) for r, m in matched if r.method == method), None)
        if chosen is None:
            return 405, {"s": "error", "errmsg": "Method not allowed"}
        route, match = chosen
        params = match.groupdict()
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        body: dict[str, Any] = {}
        if raw.strip():
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                return 400, {"s": "error", "errmsg": "Malformed JSON"}
            if not isinstance(parsed, dict):
                return 400, {"s": "error", "errmsg": "Malformed JSON"}
            body = parsed
        if route.handler == "login":
            return self.login(body)
        if route.handler == "refresh":
            return self.refresh(body)
        if route.handler == "all_accounts":
            found = self._token_user(headers)
            if found is None:
                return 401, {"s": "error", "errmsg": UNAUTHORIZED}
            return 200, self.all_accounts(found[1])
        ctx, refusal = self._context(headers, params)
        if refusal is not None:
            return refusal
        assert ctx is not None
        if self._limited(ctx.token, route.limit):
            return 429, {"s": "error", "errmsg": RATE_LIMITED}
        placing = route.handler == "ep_place"
        if placing:
            await self.placements.placing(self.knobs.gather, self.knobs.gather_seconds)
        handler: Callable[
            [_Context, dict[str, Any], dict[str, str], dict[str, str]], Any
        ]
        handler = getattr(self, route.handler)
        try:
            with self.lock:
                answer = handler(ctx, body, query, params)
        except _RefusedError as refused:
            return refused.status, {"s": "error", "errmsg": refused.text}
        if placing or route.handler == "ep_close_position":
            knob = "drop_after_place" if placing else "drop_after_close"
            with self.lock:
                if getattr(self.knobs, knob):
                    setattr(self.knobs, knob, getattr(self.knobs, knob) - 1)
                    return 500, b"Internal Server Error"
        if isinstance(answer, _NoData):
            return 200, {"s": "no_data"}
        if answer is None:
            return 200, {"s": "ok"}
        return 200, {"s": "ok", "d": answer}

    # --- Running --------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeTradeLocker]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls()
        with serve_on_loopback(fake.app, "the fake TradeLocker") as base:
            fake.url = f"{base}{PREFIX}"
            yield fake


def _route(method: str, path: str, handler: str, limit: str | None = None) -> _Route:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>\\d+)", path)
    return _Route(method, re.compile(pattern), handler, limit)


ACCOUNT = "/trade/accounts/{account}"
ROUTES: list[_Route] = [
    _route("POST", "/auth/jwt/token", "login"),
    _route("POST", "/auth/jwt/refresh", "refresh"),
    _route("GET", "/auth/jwt/all-accounts", "all_accounts"),
    _route("GET", "/trade/config", "ep_config"),
    _route("GET", "/trade/accounts", "ep_trade_accounts", "GET_ACCOUNTS"),
    _route("GET", ACCOUNT + "/instruments", "ep_instruments", "GET_INSTRUMENTS"),
    _route(
        "GET",
        "/trade/instruments/{instrument}",
        "ep_instrument",
        "GET_INSTRUMENT_DETAILS",
    ),
    _route("GET", "/trade/quotes", "ep_quotes", "QUOTES"),
    _route("GET", "/trade/history", "ep_history", "QUOTES_HISTORY"),
    _route("GET", ACCOUNT + "/state", "ep_state", "GET_ACCOUNTS_STATE"),
    _route("GET", ACCOUNT + "/orders", "ep_orders", "GET_ORDERS"),
    _route("POST", ACCOUNT + "/orders", "ep_place", "PLACE_ORDER"),
    _route("DELETE", ACCOUNT + "/orders", "ep_cancel_all", "MODIFY_ORDER"),
    _route(
        "GET", ACCOUNT + "/ordersHistory", "ep_orders_history", "GET_ORDERS_HISTORY"
    ),
    _route("GET", ACCOUNT + "/executions", "ep_executions", "GET_EXECUTIONS"),
    _route("GET", ACCOUNT + "/positions", "ep_positions", "GET_POSITIONS"),
    _route("DELETE", ACCOUNT + "/positions", "ep_close_all", "MODIFY_POSITION"),
    _route("PATCH", "/trade/orders/{order}", "ep_modify_order", "MODIFY_ORDER"),
    _route("DELETE", "/trade/orders/{order}", "ep_cancel_order", "MODIFY_ORDER"),
    _route(
        "PATCH", "/trade/positions/{position}", "ep_modify_position", "MODIFY_POSITION"
    ),
    _route(
        "DELETE", "/trade/positions/{position}", "ep_close_position", "MODIFY_POSITION"
    ),
]
