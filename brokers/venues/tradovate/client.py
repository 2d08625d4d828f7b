"""Tradovate's REST API, over httpx (reference/brokers.md §3 and its 2026-12 notes).

Queries are `GET /<entity>/<list|item|find|suggest>`, actions `POST` with JSON,
all with a bearer token. Tradovate answers most refusals with HTTP 200: an
`errorText`, or an order's `failureReason` + `failureText` (`TradovateRefusedError`
either way); 401 is an unknown or expired token (sign in again, once); 5xx and
timeouts are `VenueError(transient=True)` — whether a retry is safe is the
caller's to judge (an order is looked up by its `clOrdId` first).

Sessions: `auth/accesstokenrequest` with the trader's name and password and the
app's id and secret (`cid`, `sec`) and a device id that stays the same for the
account, gives a token for 80 minutes (the docs also say 90: TRADOVATE_TOKEN_MINUTES);
`auth/renewaccesstoken` extends it without a new session (which would sign out
the trader's other sessions on the token). One token serves every account of the
login, kept once per login in the cache, encrypted, for every process.

Limits: Tradovate publishes limits it says it varies on purpose, so the client
reacts instead of counting: a penalty ticket (HTTP 200 `{"p-ticket", "p-time",
"p-captcha"}`) is waited out as told and the same request sent again with the
ticket; one that asks for a captcha cannot be solved by a server and is the
trader's to clear (`captcha-required`); a 429 locks the login out for an hour,
which the client then remembers (no call is sent into it); a 423 says one is
near. Nothing is retried blindly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.venues.sessions import TokenStore, UnauthorizedError, send, with_session

from . import oauth

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(minutes=10)
LOCKOUT_SECONDS = 3600  # "Users must wait 1 hour" after a 429

# What an order's failureReason (mapping.FailureReason) means for the trader, and
# whether it may pass (transient).
FAILURES: dict[str, tuple[str, str, bool]] = {
    "AccountClosed": (
        "account-closed",
        "Tradovate says this account is closed.",
        False,
    ),
    "AnotherCommandPending": (
        "venue-busy",
        "Tradovate is still working on another command for this order.",
        True,
    ),
    "ExecutionProviderUnavailable": (
        "venue-unavailable",
        "Tradovate's execution provider is unavailable for now.",
        True,
    ),
    "InvalidContract": (
        "contract-not-found",
        "Tradovate does not know this contract.",
        False,
    ),
    "InvalidPrice": (
        "invalid-price",
        "Tradovate refused the order's price (off the tick grid, or on the wrong "
        "side of the market).",
        False,
    ),
    "LiquidationOnly": (
        "liquidation-only",
        "This account may only reduce positions now (liquidation only).",
        False,
    ),
    "LiquidationOnlyBeforeExpiration": (
        "liquidation-only",
        "This contract is about to expire: Tradovate only lets positions in it "
        "be reduced.",
        False,
    ),
    "MaxOrderQtyLimitReached": (
        "order-too-large",
        "The order is larger than this account may place at once.",
        False,
    ),
    "MaxPosLimitReached": (
        "position-limit",
        "The order would take the position past this account's limit.",
        False,
    ),
    "MaxTotalPosLimitReached": (
        "position-limit",
        "The order would take the account's positions past its total limit.",
        False,
    ),
    "NoQuote": (
        "no-quote",
        "Tradovate has no price for this contract now.",
        True,
    ),
    "NotEnoughLiquidity": (
        "not-enough-liquidity",
        "There was not enough liquidity to fill the order.",
        False,
    ),
    "RiskCheckTimeout": (
        "venue-timeout",
        "Tradovate's risk check timed out.",
        True,
    ),
    "SessionClosed": (
        "market-closed",
        "The market for this contract is closed now.",
        False,
    ),
    "TooLate": (
        "too-late",
        "Too late: the order had already filled or ended.",
        False,
    ),
    "TradingLocked": (
        "trading-locked",
        "Trading is locked on this account (a risk rule at Tradovate).",
        False,
    ),
    "Unauthorized": (
        "not-allowed",
        "Tradovate does not let this login trade this account.",
        False,
    ),
}


def _refused(payload: dict[str, Any]) -> bool:
    """Whether an HTTP 200 answer says no: an `errorText`, a `failureReason` other
    than Success with no order made, `violations`, or `ok: false`."""
    reason = payload.get("failureReason")
    if reason and reason != "Success" and not payload.get("orderId"):
        return True
    return bool(
        payload.get("errorText")
        or payload.get("violations")
        or payload.get("ok") is False
    )


class TradovateRefusedError(VenueError):
    """Tradovate answered and said no: an `errorText` or a `failureReason`."""

    def __init__(
        self, code: str, sentence: str, payload: dict[str, Any], *, transient: bool
    ) -> None:
        super().__init__(code, sentence, transient=transient)
        self.payload = payload


def refusal(path: str, payload: dict[str, Any]) -> TradovateRefusedError:
    reason = str(payload.get("failureReason") or "")
    text = str(payload.get("failureText") or payload.get("errorText") or "").strip()
    if not text and payload.get("violations"):
        text = "; ".join(
            str(v.get("description") or v.get("constraint") or v)
            for v in payload["violations"]
            if isinstance(v, dict)
        )
    if reason:
        code, sentence, transient = FAILURES.get(
            reason, ("venue-refused", f"Tradovate refused {path}.", False)
        )
        if text:
            sentence = f"{sentence} Tradovate: {text}"
        return TradovateRefusedError(code, sentence, payload, transient=transient)
    return TradovateRefusedError(
        "venue-refused", f"Tradovate refused {path}: {text}.", payload, transient=False
    )


@dataclass(frozen=True)
class Login:
    """A trader's Tradovate login, as the API takes it (`cid`/`sec`: the API key),
    or one connected through OAuth (no password, no key: a refresh token)."""

    base_url: str  # https://demo.tradovateapi.com/v1, or live
    user_name: str
    password: str = field(repr=False)
    cid: int
    sec: str = field(repr=False)
    device_id: str  # stable for the account: Tradovate ties sessions to devices
    refresh_token: str = field(default="", repr=False)

    @property
    def oauth(self) -> bool:
        return not self.password

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.base_url}|{self.user_name}".encode())
        return digest.hexdigest()[:32]


class TradovateClient:
    """One login at one Tradovate environment. Cheap to make: the session is shared."""

    def __init__(
        self,
        login: Login,
        *,
        timeout: float | None = None,
        on_refresh: Callable[[str], None] | None = None,
    ) -> None:
        self.login = login
        self.on_refresh = on_refresh  # keeps a rotated OAuth refresh token
        self.timeout = timeout or settings.TRADOVATE_TIMEOUT_SECONDS
        self._http = httpx.Client(
            base_url=login.base_url.rstrip("/"),
            timeout=self.timeout,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenStore("tradovate", login.key)
        self.refresh_tokens = TokenStore("tradovate-refresh", login.key)

    def close(self) -> None:
        self._http.close()

    # --- Session ------------------------------------------------------------------

    def sign_in(self) -> str:
        """A new session from the login; stored for every process. An OAuth
        login has no password to sign in with: its refresh token gets one."""
        if self.login.oauth:
            return self._refresh_oauth()
        body = {
            "name": self.login.user_name,
            "password": self.login.password,
            "appId": settings.TRADOVATE_APP_ID,
            "appVersion": settings.TRADOVATE_APP_VERSION,
            # The published schema types cid a string; its own example, the
            # vendor's examples and the conformance page send a number.
            "cid": self.login.cid,
            "sec": self.login.sec,
            "deviceId": self.login.device_id,
        }
        try:
            answer = self._exchange(
                "POST", "/auth/accesstokenrequest", body, token=None
            )
        except TradovateRefusedError as exc:
            text = exc.payload.get("errorText") or "no reason given"
            raise VenueError(
                "login-failed", f"Tradovate refused the sign-in: {text}"
            ) from None
        return self._keep(answer, "sign-in")

    def token(self) -> str:
        """A token good for 10 minutes more: the stored one, renewed, or a new one."""
        stored = self.tokens.get()
        if stored is None:
            return self.sign_in()
        token, expires = stored
        if expires - timezone.now() > RENEW_BEFORE:
            return token
        try:
            answer = self._exchange("GET", "/auth/renewaccesstoken", None, token=token)
            return self._keep(answer, "renew")
        except (VenueError, UnauthorizedError):  # an ended session: a new one
            return self.sign_in()

    def _refresh_oauth(self) -> str:
        stored = self.refresh_tokens.get()
        current = stored[0] if stored else self.login.refresh_token
        grant = oauth.refresh(current)
        if grant.refresh_token != current:
            kept_for = timedelta(days=settings.TRADOVATE_OAUTH_REFRESH_DAYS)
            self.refresh_tokens.put(grant.refresh_token, timezone.now() + kept_for)
            if self.on_refresh is not None:
                self.on_refresh(grant.refresh_token)
        log.info("tradovate login %s: oauth refresh", self.login.key[:8])
        return self.tokens.put(grant.access_token, grant.expires_at)

    def _keep(self, answer: dict[str, Any], how: str) -> str:
        token = answer.get("accessToken")
        if not token:
            raise VenueError("login-failed", "Tradovate gave no session token.")
        expires = _expiry(answer.get("expirationTime"))
        log.info("tradovate login %s: %s", self.login.key[:8], how)
        return self.tokens.put(str(token), expires)

    # --- Transport ----------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, None, params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body, None)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> Any:
        """An authenticated call; on 401 the session is renewed once and retried."""
        return with_session(
            "Tradovate",
            self.tokens,
            self.token,
            self.sign_in,
            lambda token: self._exchange(method, path, body, token, params),
            why=" (a wrong device id, or a live order awaiting its e-mail approval)",
        )

    def _exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        token: str | None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        self._refuse_while_locked_out()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        waited = 0.0
        while True:
            response = send(
                self._http,
                "Tradovate",
                method,
                path,
                json=body,
                params=params,
                headers=headers,
            )
            payload = self._read(path, response, authenticated=token is not None)
            ticket = payload.get("p-ticket") if isinstance(payload, dict) else None
            if not ticket:
                if isinstance(payload, dict) and _refused(payload):
                    raise refusal(path, payload)
                return payload
            if payload.get("p-captcha"):
                raise VenueError(
                    "captcha-required",
                    "Tradovate wants a captcha solved for this login before it "
                    "takes more requests: sign in once at trader.tradovate.com, "
                    "or wait an hour.",
                )
            pause = float(payload.get("p-time") or 1)
            if waited + pause > settings.TRADOVATE_MAX_WAIT_SECONDS:
                raise VenueError(
                    "rate-limited",
                    f"Tradovate asked TradeFlow to wait {pause:g} s before {path}; "
                    "it tries again later.",
                    transient=True,
                )
            log.warning("tradovate %s: penalty ticket, waiting %.1f s", path, pause)
            time.sleep(pause)
            waited += pause
            # The same request again, ticketed: a GET carries it in its query.
            if method == "GET":
                params = {**(params or {}), "p-ticket": ticket}
            else:
                body = {**(body or {}), "p-ticket": ticket}

    def _lockout_key(self) -> str:
        return f"tradovate:lockout:{self.login.key}"

    def _refuse_while_locked_out(self) -> None:
        if cache.get(self._lockout_key()):
            raise VenueError(
                "rate-limited",
                "Tradovate locked this login out for an hour (too many requests); "
                "TradeFlow sends nothing until it ends.",
                transient=True,
            )

    def _read(self, path: str, response: httpx.Response, *, authenticated: bool) -> Any:
        status = response.status_code
        if status == 404 and path.endswith(("/item", "/find")):
            return None  # no such entity (yet): the caller decides what that means
        if status == 401 and authenticated:
            raise UnauthorizedError(path)
        if status == 429:
            cache.set(self._lockout_key(), "1", LOCKOUT_SECONDS)
            log.error("tradovate login %s: 429, locked out", self.login.key[:8])
            self._refuse_while_locked_out()
        if status == 423:
            raise VenueError(
                "rate-limited",
                "Tradovate warns this login is about to be locked out: TradeFlow "
                "slows down.",
                transient=True,
            )
        if status >= 500:
            raise VenueError(
                "venue-error", f"Tradovate failed on {path} ({status}).", transient=True
            )
        if status == 401:
            raise VenueError("login-failed", "Tradovate refused the sign-in (401).")
        if status != 200:
            raise VenueError(
                "venue-refused", f"Tradovate answered {path} with {status}."
            )
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise VenueError(
                "venue-error",
                f"Tradovate answered {path} with something not JSON.",
                transient=True,
            ) from exc

    # --- Endpoints ----------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        return list(self.get("/account/list") or [])

    def cash_snapshot(self, account_id: int) -> dict[str, Any]:
        answer = self.post(
            "/cashBalance/getcashbalancesnapshot", {"accountId": account_id}
        )
        return dict(answer)

    def contract_named(self, name: str) -> dict[str, Any] | None:
        """`contract/find?name=MNQZ6`; None when Tradovate lists no such contract."""
        found = self.get("/contract/find", name=name)
        return dict(found) if found else None

    def contract(self, contract_id: int) -> dict[str, Any]:
        found = self.get("/contract/item", id=contract_id)
        if not found:
            raise VenueError(
                "contract-not-found", "Tradovate does not list this contract."
            )
        return dict(found)

    def positions(self) -> list[dict[str, Any]]:
        return list(self.get("/position/list") or [])

    def orders(self) -> list[dict[str, Any]]:
        return list(self.get("/order/list") or [])

    def order(self, order_id: int) -> dict[str, Any] | None:
        found = self.get("/order/item", id=order_id)
        return dict(found) if found else None

    def fills(self) -> list[dict[str, Any]]:
        return list(self.get("/fill/list") or [])

    def commands(self) -> list[dict[str, Any]]:
        return list(self.get("/command/list") or [])

    def place(self, order: dict[str, Any]) -> dict[str, Any]:
        """`order/placeorder`, or `order/placeoso` when it carries brackets; the
        answer's ids. A refusal raises `TradovateRefusedError`."""
        path = "/order/placeoso" if "bracket1" in order else "/order/placeorder"
        return dict(self.post(path, order))

    def modify(
        self, order_id: int, *, order_qty: int, order_type: str, **changes: Any
    ) -> None:
        """`order/modifyorder`: the order's size and type always (the document
        requires both), with the `price`/`stopPrice`/... that change."""
        body = {"orderId": order_id, "orderQty": order_qty, "orderType": order_type}
        self.post("/order/modifyorder", {**body, **changes, "isAutomated": True})

    def cancel(self, order_id: int) -> None:
        self.post("/order/cancelorder", {"orderId": order_id, "isAutomated": True})

    def liquidate(self, account_id: int, contract_id: int) -> int | None:
        """Cancel the contract's working orders and close its position at market."""
        answer = self.post(
            "/order/liquidateposition",
            {
                "accountId": account_id,
                "contractId": contract_id,
                "admin": False,
                "isAutomated": True,
            },
        )
        order_id = answer.get("orderId") if isinstance(answer, dict) else None
        return int(order_id) if order_id else None

    def liquidate_positions(self, position_ids: list[int]) -> None:
        """Close these positions (Tradovate's position ids) in one command; a
        refusal (`ok: false`) raises for all of them."""
        self.post(
            "/order/liquidatepositions",
            {"positions": position_ids, "admin": False, "isAutomated": True},
        )


def _expiry(value: object) -> datetime:
    """The token's `expirationTime`, else the documented lifetime from now."""
    lifetime = timedelta(minutes=settings.TRADOVATE_TOKEN_MINUTES)
    if isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            pass
    return timezone.now() + lifetime
