"""The ProjectX Gateway API (TopstepX and the other firms on it), over httpx.

Every call is a `POST /api/<Endpoint>` with a JSON body and a bearer token, and
every answer an envelope `{success, errorCode, errorMessage, ...}`: a business
refusal is HTTP 200 with `success: false` (`ProjectXRefusedError`, carrying the
payload: a rejected order still has its `orderId`), 401 an expired or unknown
token (log in again, once), 429 the rate limit (wait with jitter, a few times),
5xx and timeouts a `VenueError(transient=True)` — whether a retry is safe is the
caller's to judge (an order is looked up by its tag first).

Sessions: `Auth/loginKey` with the user name and API key gives a token valid
24 h; `Auth/validate` renews it. One token serves every account of the login, so
it is kept once per login (base URL + user name) in the cache, encrypted, for
every process to share; it is renewed 5 minutes before it ends.

Rate limits: ProjectX allows 200 requests a minute (History/retrieveBars 50 per
30 s) per login. The client counts its own calls per login in Redis across
processes and waits for the next window rather than be refused; one login's
burst never spends another's allowance.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
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

from .mapping import Problem, problem

log = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(hours=24)
RENEW_BEFORE = timedelta(minutes=5)
RETRIES_429 = 3


class ProjectXRefusedError(VenueError):
    """`success: false`: the venue answered and said no, for a reason it coded."""

    def __init__(self, endpoint: str, found: Problem, payload: dict[str, Any]) -> None:
        super().__init__(found.code, found.sentence, transient=found.transient)
        self.endpoint = endpoint
        self.payload = payload
        self.error_code = int(payload.get("errorCode") or 0)


@dataclass(frozen=True)
class Login:
    base_url: str  # https://api.topstepx.com, or another firm's
    user_name: str
    api_key: str = field(repr=False)

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.base_url}|{self.user_name}".encode())
        return digest.hexdigest()[:32]


def _expiry(token: str) -> datetime:
    """When a token ends: its JWT `exp` when it has one, else 24 h from now."""
    return jwt_expiry(token) or timezone.now() + TOKEN_LIFETIME


class ProjectXClient:
    """One login at one ProjectX host. Cheap to make: the session is shared."""

    def __init__(self, login: Login, *, timeout: float | None = None) -> None:
        self.login = login
        self.timeout = timeout or settings.PROJECTX_TIMEOUT_SECONDS
        self._http = httpx.Client(
            base_url=login.base_url.rstrip("/"),
            timeout=self.timeout,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenStore("projectx", login.key)

    def close(self) -> None:
        self._http.close()

    # --- Session ------------------------------------------------------------------

    def _store_token(self, token: str) -> str:
        return self.tokens.put(token, _expiry(token))

    def forget_token(self) -> None:
        self.tokens.forget()

    def sign_in(self) -> str:
        """Log in with the API key; the token is stored for every process."""
        body = {"userName": self.login.user_name, "apiKey": self.login.api_key}
        answer = self._send("Auth/loginKey", body, token=None)
        token = answer.get("token")
        if not token:
            raise VenueError("login-failed", "ProjectX gave no session token.")
        log.info("projectx login %s: signed in", self.login.key[:8])
        return self._store_token(str(token))

    def token(self) -> str:
        """A token good for 5 minutes more: the stored one, renewed, or a new login."""
        stored = self.tokens.get()
        if stored is None:
            return self.sign_in()
        token, expires = stored
        if expires - timezone.now() > RENEW_BEFORE:
            return token
        try:
            answer = self._send("Auth/validate", {}, token=token)
        except VenueError:
            return self.sign_in()
        renewed = answer.get("newToken")
        return self._store_token(str(renewed)) if renewed else self.sign_in()

    # --- Transport ----------------------------------------------------------------

    def call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authenticated call; on 401 the session is renewed once and retried."""
        return with_session(
            "ProjectX",
            self.tokens,
            self.token,
            self.sign_in,
            lambda token: self._send(endpoint, body, token=token),
        )

    def _throttle(self, endpoint: str) -> None:
        """Wait for this login's allowance rather than be refused by the venue."""
        bars = endpoint == "History/retrieveBars"
        limit = (
            settings.PROJECTX_BARS_PER_30S
            if bars
            else settings.PROJECTX_CALLS_PER_MINUTE
        )
        window = 30 if bars else 60
        bucket = f"projectx:{self.login.key}:{'bars' if bars else 'calls'}"
        waited = 0.0
        while True:
            result = rate_hit(bucket, limit, window)
            if result.allowed:
                return
            if waited + result.retry_after > settings.PROJECTX_MAX_WAIT_SECONDS:
                raise VenueError(
                    "rate-limited",
                    "TradeFlow has used this ProjectX login's request allowance for "
                    "the minute; it tries again shortly.",
                    transient=True,
                )
            pause = result.retry_after + random.uniform(0, 0.25)  # noqa: S311
            time.sleep(pause)
            waited += pause

    def _send(
        self, endpoint: str, body: dict[str, Any], *, token: str | None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for attempt in range(RETRIES_429 + 1):
            self._throttle(endpoint)
            response = send(
                self._http,
                "ProjectX",
                "POST",
                f"/api/{endpoint}",
                json=body,
                headers=headers,
            )
            if response.status_code == 429 and attempt < RETRIES_429:
                base = settings.PROJECTX_BACKOFF_SECONDS
                pause = base * 2**attempt * random.uniform(0.5, 1.5)  # noqa: S311
                log.warning("projectx %s: 429, waiting %.2f s", endpoint, pause)
                time.sleep(pause)
                continue
            return self._read(endpoint, response, authenticated=token is not None)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _read(
        self, endpoint: str, response: httpx.Response, *, authenticated: bool
    ) -> dict[str, Any]:
        status = response.status_code
        if status == 401 and authenticated:
            raise UnauthorizedError(endpoint)
        if status == 429:
            raise VenueError(
                "rate-limited",
                "ProjectX is refusing requests for now (429).",
                transient=True,
            )
        if status >= 500:
            raise VenueError(
                "venue-error",
                f"ProjectX failed on {endpoint} ({status}).",
                transient=True,
            )
        if status != 200:
            raise VenueError(
                "venue-refused", f"ProjectX answered {endpoint} with {status}."
            )
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise VenueError(
                "venue-error",
                f"ProjectX answered {endpoint} with something not JSON.",
                transient=True,
            ) from exc
        if not isinstance(payload, dict):
            raise VenueError("venue-error", f"ProjectX answered {endpoint} oddly.")
        if not payload.get("success", False):
            found = problem(
                endpoint,
                int(payload.get("errorCode") or 0),
                payload.get("errorMessage"),
            )
            raise ProjectXRefusedError(endpoint, found, payload)
        return payload

    # --- Endpoints ----------------------------------------------------------------

    def accounts(self, *, only_active: bool = True) -> list[dict[str, Any]]:
        answer = self.call("Account/search", {"onlyActiveAccounts": only_active})
        return list(answer.get("accounts") or [])

    def contracts(self, text: str, *, live: bool = False) -> list[dict[str, Any]]:
        answer = self.call("Contract/search", {"searchText": text, "live": live})
        return list(answer.get("contracts") or [])

    def contract(self, contract_id: str) -> dict[str, Any]:
        answer = self.call("Contract/searchById", {"contractId": contract_id})
        found = answer.get("contract") or (answer.get("contracts") or [None])[0]
        if not found:
            raise VenueError(
                "contract-not-found", "ProjectX does not list this contract."
            )
        return dict(found)

    def place(self, order: dict[str, Any]) -> int:
        """Place an order; its id. A refusal raises `ProjectXRefusedError`, whose
        payload may still hold the id of the rejected order."""
        return int(self.call("Order/place", order)["orderId"])

    def modify(self, account_id: int, order_id: int, **changes: Any) -> None:
        self.call(
            "Order/modify", {"accountId": account_id, "orderId": order_id, **changes}
        )

    def cancel(self, account_id: int, order_id: int) -> None:
        self.call("Order/cancel", {"accountId": account_id, "orderId": order_id})

    def orders(
        self, account_id: int, since: datetime, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"accountId": account_id, "startTimestamp": _iso(since)}
        if until is not None:
            body["endTimestamp"] = _iso(until)
        return list(self.call("Order/search", body).get("orders") or [])

    def open_orders(self, account_id: int) -> list[dict[str, Any]]:
        answer = self.call("Order/searchOpen", {"accountId": account_id})
        return list(answer.get("orders") or [])

    def positions(self, account_id: int) -> list[dict[str, Any]]:
        answer = self.call("Position/searchOpen", {"accountId": account_id})
        return list(answer.get("positions") or [])

    def close_position(self, account_id: int, contract_id: str) -> None:
        self.call(
            "Position/closeContract",
            {"accountId": account_id, "contractId": contract_id},
        )

    def close_position_part(self, account_id: int, contract_id: str, size: int) -> None:
        self.call(
            "Position/partialCloseContract",
            {"accountId": account_id, "contractId": contract_id, "size": size},
        )

    def last_price(self, contract_id: str) -> Decimal | None:
        """The close of the latest one-minute bar, partial included: REST's last
        price (the market hub's quotes are fresher; this is the fallback)."""
        now = timezone.now()
        answer = self.call(
            "History/retrieveBars",
            {
                "contractId": contract_id,
                "live": False,
                "startTime": _iso(now - timedelta(minutes=30)),
                "endTime": _iso(now),
                "unit": 2,  # minute
                "unitNumber": 1,
                "limit": 1,
                "includePartialBar": True,
            },
        )
        bars = answer.get("bars") or []
        if not bars:
            return None
        newest = max(bars, key=lambda bar: str(bar["t"]))
        return Decimal(str(newest["c"]))

    def trades(
        self, account_id: int, since: datetime, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"accountId": account_id, "startTimestamp": _iso(since)}
        if until is not None:
            body["endTimestamp"] = _iso(until)
        return list(self.call("Trade/search", body).get("trades") or [])


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
