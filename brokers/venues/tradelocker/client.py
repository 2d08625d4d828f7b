"""TradeLocker's public REST API, over httpx (reference/brokers.md §2).

`/auth/*` answers plainly; `/trade/*` answers `{"s": "ok", "d": ...}` or
`{"s": "error", "errmsg": ...}` (`TradeLockerRefusedError`), needs the account's
`accNum` header beside the bearer token, and gives its lists (positions, orders,
executions, the account's state) as bare arrays whose columns `/trade/config`
names: they are read by name (`mapping.rows_by_name`), never by a guessed index.
401 is an unknown or expired token (sign in again, once); 5xx and timeouts are
`VenueError(transient=True)` — whether a retry is safe is the caller's to judge
(an order is looked up by its `strategyId` first).

Sessions: `auth/jwt/token` with the e-mail, password and the broker's server
name gives an access and a refresh token; the access token is refreshed
(`auth/jwt/refresh`, both rotate) 5 minutes before it ends. One session serves
every account of the login, kept once per login in the cache, encrypted.

Rate limits: each route has its own, as `/trade/config` lists them (placing, for
one, 2 a second). The client counts its own calls per login and route in Redis
across processes and waits for the next window rather than be refused; a 429 is
waited out with jittered backoff, three times — except for a placement, which is
never sent twice by the client: its 429 is a transient error, and the retry
looks the order up first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.venues.sessions import (
    TokenStore,
    UnauthorizedError,
    jwt_expiry,
    send,
    with_session,
)
from common.ratelimit import rate_hit

from .mapping import rows_by_name

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(minutes=5)
RETRIES_429 = 3
CONFIG_SECONDS = 3600
# Which of /trade/config's rate limits a request counts against.
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/trade/accounts/\d+/orders$"), "PLACE_ORDER"),
    ("PATCH", re.compile(r"^/trade/orders/"), "MODIFY_ORDER"),
    ("PATCH", re.compile(r"^/trade/positions/"), "MODIFY_POSITION"),
    ("GET", re.compile(r"^/trade/accounts/\d+/positions$"), "GET_POSITIONS"),
    ("GET", re.compile(r"^/trade/accounts/\d+/orders$"), "GET_ORDERS"),
    ("GET", re.compile(r"^/trade/accounts/\d+/ordersHistory$"), "GET_ORDERS_HISTORY"),
    ("GET", re.compile(r"^/trade/accounts/\d+/executions$"), "GET_EXECUTIONS"),
    ("GET", re.compile(r"^/trade/accounts/\d+/state$"), "GET_ACCOUNTS_STATE"),
    ("GET", re.compile(r"^/trade/accounts/\d+/instruments$"), "GET_INSTRUMENTS"),
    ("GET", re.compile(r"^/trade/instruments/"), "GET_INSTRUMENT_DETAILS"),
    ("GET", re.compile(r"^/trade/quotes$"), "QUOTES"),
    ("GET", re.compile(r"^/trade/accounts$"), "GET_ACCOUNTS"),
    ("DELETE", re.compile(r"^/trade/orders/"), "MODIFY_ORDER"),
    ("DELETE", re.compile(r"^/trade/accounts/\d+/orders$"), "MODIFY_ORDER"),
    ("DELETE", re.compile(r"^/trade/positions/"), "MODIFY_POSITION"),
    ("DELETE", re.compile(r"^/trade/accounts/\d+/positions$"), "MODIFY_POSITION"),
]
WINDOWS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600}


class TradeLockerRefusedError(VenueError):
    """`s: error`: TradeLocker answered and said no, in a sentence of its own."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            "venue-refused", f"TradeLocker refused it: {reason or 'no reason given'}."
        )
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Login:
    base_url: str  # https://demo.tradelocker.com/backend-api, or live
    email: str
    password: str = field(repr=False)
    server: str  # the broker's server name at the TradeLocker sign-in

    @property
    def key(self) -> str:
        raw = f"{self.base_url}|{self.email}|{self.server}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


class TradeLockerClient:
    """One login at one TradeLocker environment; `acc_num` picks the account."""

    def __init__(
        self, login: Login, acc_num: int | None = None, *, timeout: float | None = None
    ) -> None:
        self.login = login
        self.acc_num = acc_num
        self.timeout = timeout or settings.TRADELOCKER_TIMEOUT_SECONDS
        self._http = httpx.Client(
            base_url=login.base_url.rstrip("/"),
            timeout=self.timeout,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenStore("tradelocker", login.key)

    def close(self) -> None:
        self._http.close()

    # --- Session ------------------------------------------------------------------

    def sign_in(self) -> str:
        body = {
            "email": self.login.email,
            "password": self.login.password,
            "server": self.login.server,
        }
        try:
            answer = self._exchange("POST", "/auth/jwt/token", body, token=None)
        except TradeLockerRefusedError as exc:
            raise VenueError(
                "login-failed", f"TradeLocker refused the sign-in: {exc.reason}."
            ) from None
        except VenueError as exc:
            if exc.transient:
                raise
            # /auth answers are not wrapped: a plain 400 or 401 is a refusal too.
            raise VenueError(
                "login-failed",
                "TradeLocker refused the e-mail, password or server name.",
            ) from None
        return self._keep(answer, "sign-in")

    def token(self) -> str:
        """An access token good for 5 minutes more: the stored one, refreshed, or
        a new session."""
        stored = self.tokens.get()
        if stored is None:
            return self.sign_in()
        kept, _ = stored
        access, refresh, until = json.loads(kept)
        if datetime.fromisoformat(until) - timezone.now() > RENEW_BEFORE:
            return str(access)
        try:
            answer = self._exchange(
                "POST", "/auth/jwt/refresh", {"refreshToken": refresh}, token=None
            )
            return self._keep(answer, "refresh")
        except VenueError:
            return self.sign_in()

    def _keep(self, answer: Any, how: str) -> str:
        if not isinstance(answer, dict) or not answer.get("accessToken"):
            raise VenueError("login-failed", "TradeLocker gave no session token.")
        access, refresh = str(answer["accessToken"]), str(answer["refreshToken"])
        expires = _expiry(answer.get("expireDate"), access)
        # Kept while the refresh token lives, so a session is renewed, not redone.
        kept_until = max(jwt_expiry(refresh) or expires, expires)
        self.tokens.put(json.dumps([access, refresh, expires.isoformat()]), kept_until)
        log.info("tradelocker login %s: %s", self.login.key[:8], how)
        return access

    # --- Transport ----------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """An authenticated call; on 401 the session is renewed once and retried."""
        return with_session(
            "TradeLocker",
            self.tokens,
            self.token,
            self.sign_in,
            lambda token: self._exchange(method, path, body, token, params),
        )

    def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        token: str | None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        trading = path.startswith("/trade/")
        if trading:
            if self.acc_num is None:
                raise VenueError(
                    "credentials-missing", "This TradeLocker account has no accNum."
                )
            headers["accNum"] = str(self.acc_num)
        for attempt in range(RETRIES_429 + 1):
            if trading and path != "/trade/config":
                self._throttle(method, path)
            response = send(
                self._http,
                "TradeLocker",
                method,
                path,
                json=body,
                params=params,
                headers=headers,
            )
            placing = method == "POST" and path.endswith("/orders")
            if response.status_code == 429 and attempt < RETRIES_429 and not placing:
                base = settings.TRADELOCKER_BACKOFF_SECONDS
                pause = base * 2**attempt * random.uniform(0.5, 1.5)  # noqa: S311
                log.warning("tradelocker %s: 429, waiting %.2f s", path, pause)
                time.sleep(pause)
                continue
            return self._read(path, response, authenticated=token is not None)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _throttle(self, method: str, path: str) -> None:
        """Wait for this login's allowance on the route rather than be refused."""
        kind = next(
            (
                name
                for verb, pattern, name in ROUTES
                if verb == method and pattern.match(path)
            ),
            None,
        )
        limit = self._rate_limits().get(kind or "")
        if limit is None:
            return
        allowed, window = limit
        waited = 0.0
        while True:
            result = rate_hit(f"tradelocker:{self.login.key}:{kind}", allowed, window)
            if result.allowed:
                return
            if waited + result.retry_after > settings.TRADELOCKER_MAX_WAIT_SECONDS:
                raise VenueError(
                    "rate-limited",
                    "TradeFlow has used this TradeLocker login's allowance for the "
                    "moment; it tries again shortly.",
                    transient=True,
                )
            pause = result.retry_after + random.uniform(0, 0.05)  # noqa: S311
            time.sleep(pause)
            waited += pause

    def _read(self, path: str, response: httpx.Response, *, authenticated: bool) -> Any:
        status = response.status_code
        if status == 401 and authenticated:
            raise UnauthorizedError(path)
        if status == 401:
            raise VenueError("login-failed", "TradeLocker refused the session (401).")
        if status == 429:
            raise VenueError(
                "rate-limited",
                "TradeLocker is refusing requests for now (429).",
                transient=True,
            )
        if status >= 500:
            raise VenueError(
                "venue-error",
                f"TradeLocker failed on {path} ({status}).",
                transient=True,
            )
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            if status >= 400:
                raise VenueError(
                    "venue-refused", f"TradeLocker answered {path} with {status}."
                ) from exc
            raise VenueError(
                "venue-error",
                f"TradeLocker answered {path} with something not JSON.",
                transient=True,
            ) from exc
        if isinstance(payload, dict) and payload.get("s") == "error":
            raise TradeLockerRefusedError(path, str(payload.get("errmsg") or ""))
        if status >= 400:
            raise VenueError(
                "venue-refused", f"TradeLocker answered {path} with {status}."
            )
        if path.startswith("/trade/") and isinstance(payload, dict):
            if payload.get("s") == "no_data":
                return {}
            return payload.get("d", {})
        return payload

    # --- Configuration ------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """/trade/config, cached per login: the column names of every list and
        the routes' rate limits."""
        key = self._config_key()
        cached = cache.get(key)
        if cached:
            return dict(json.loads(cached))
        found = dict(self.call("GET", "/trade/config"))
        cache.set(key, json.dumps(found, default=str), CONFIG_SECONDS)
        return found

    def _config_key(self) -> str:
        return f"tradelocker:config:{self.login.key}"

    def _rate_limits(self) -> dict[str, tuple[int, int]]:
        limits = {}
        for row in self.config().get("rateLimits") or []:
            window = WINDOWS.get(str(row.get("measure")), 1) * int(
                row.get("intervalNum") or 1
            )
            limits[str(row.get("rateLimitType"))] = (int(row.get("limit") or 1), window)
        return limits

    def _columns(self, config_name: str) -> list[str]:
        section = self.config().get(config_name) or {}
        return [str(column["id"]) for column in section.get("columns") or []]

    def _rows(self, path: str, key: str, config_name: str) -> list[dict[str, Any]]:
        rows = list((self.call("GET", path) or {}).get(key) or [])
        try:
            return rows_by_name(self._columns(config_name), rows)
        except ValueError:
            cache.delete(self._config_key())  # the columns changed: read them again
        try:
            return rows_by_name(self._columns(config_name), rows)
        except ValueError:
            raise VenueError(
                "venue-error",
                f"TradeLocker's {key} no longer match the columns its config names.",
                transient=True,
            ) from None

    # --- Endpoints ----------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "/auth/jwt/all-accounts")
        return list(answer.get("accounts") or [])

    def instruments(self, account_id: int) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/trade/accounts/{account_id}/instruments")
        return list(answer.get("instruments") or [])

    def instrument(self, tradable_id: int, route_id: int) -> dict[str, Any]:
        return dict(
            self.call(
                "GET",
                f"/trade/instruments/{tradable_id}",
                params={"routeId": route_id, "locale": "en"},
            )
        )

    def quotes(self, tradable_id: int, route_id: int) -> dict[str, Any]:
        return dict(
            self.call(
                "GET",
                "/trade/quotes",
                params={"tradableInstrumentId": tradable_id, "routeId": route_id},
            )
        )

    def state(self, account_id: int) -> dict[str, Any]:
        answer = self.call("GET", f"/trade/accounts/{account_id}/state") or {}
        rows = rows_by_name(
            self._columns("accountDetailsConfig"),
            [list(answer.get("accountDetailsData") or [])],
        )
        return rows[0] if rows else {}

    def positions(self, account_id: int) -> list[dict[str, Any]]:
        return self._rows(
            f"/trade/accounts/{account_id}/positions", "positions", "positionsConfig"
        )

    def orders(self, account_id: int) -> list[dict[str, Any]]:
        return self._rows(
            f"/trade/accounts/{account_id}/orders", "orders", "ordersConfig"
        )

    def orders_history(self, account_id: int) -> list[dict[str, Any]]:
        return self._rows(
            f"/trade/accounts/{account_id}/ordersHistory",
            "ordersHistory",
            "ordersHistoryConfig",
        )

    def executions(self, account_id: int) -> list[dict[str, Any]]:
        return self._rows(
            f"/trade/accounts/{account_id}/executions",
            "executions",
            "filledOrdersConfig",
        )

    def place(self, account_id: int, order: dict[str, Any]) -> str:
        """Place an order; its id. A refusal raises `TradeLockerRefusedError`."""
        answer = self.call("POST", f"/trade/accounts/{account_id}/orders", order)
        return str(answer["orderId"])

    def modify_order(self, order_id: str, **changes: Any) -> None:
        """Change a working order: `price`, `stopPrice`, `qty`, `validity`,
        `stopLoss`/`stopLossType`, `takeProfit`/`takeProfitType` (as the API
        names them; Decimals go as strings)."""
        self.call("PATCH", f"/trade/orders/{order_id}", _wire(changes))

    def modify_position(
        self,
        position_id: str,
        *,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
    ) -> None:
        """Move a position's stop loss and take profit (absolute prices); a level
        left out is unchanged."""
        changes: dict[str, Any] = {}
        if stop_loss is not None:
            changes |= {"stopLoss": stop_loss, "stopLossType": "absolute"}
        if take_profit is not None:
            changes |= {"takeProfit": take_profit, "takeProfitType": "absolute"}
        self.call("PATCH", f"/trade/positions/{position_id}", _wire(changes))

    def cancel(self, order_id: str) -> None:
        self.call("DELETE", f"/trade/orders/{order_id}")

    def cancel_all(self, account_id: int) -> None:
        self.call("DELETE", f"/trade/accounts/{account_id}/orders")

    def close_position(self, position_id: str, quantity: Decimal = Decimal(0)) -> None:
        """Close a position whole (0) or by `quantity` lots."""
        self.call("DELETE", f"/trade/positions/{position_id}", {"qty": str(quantity)})

    def close_all(self, account_id: int) -> None:
        self.call("DELETE", f"/trade/accounts/{account_id}/positions")


def _wire(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: str(value) if isinstance(value, Decimal) else value
        for key, value in changes.items()
    }


def _expiry(value: object, token: str) -> datetime:
    """`expireDate` when it is given, else the JWT's `exp`, else an hour."""
    if isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            pass
    return jwt_expiry(token) or timezone.now() + timedelta(hours=1)
