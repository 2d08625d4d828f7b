"""What every real venue's REST client shares: a session token kept once per
login for every process (encrypted in the cache), the transport failures said
the same way, and a circuit breaker per venue host (breaker.py).

    store = TokenStore("tradovate", login_key)
    store.put(token, expires)        # kept until it expires
    store.get()                      # (token, expires) or None
    response = send(http, "Tradovate", "POST", "/order/placeorder", json=body)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from django.core.cache import cache
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.fields import decrypt, encrypt
from brokers.venues.breaker import Breaker

T = TypeVar("T")


class TokenStore:
    """One login's session token, shared by every process through the cache and
    encrypted there (a token trades the account)."""

    def __init__(self, venue: str, login_key: str) -> None:
        self.cache_key = f"{venue}:token:{login_key}"

    def get(self) -> tuple[str, datetime] | None:
        raw = cache.get(self.cache_key)
        if not raw:
            return None
        try:
            token, expires = json.loads(decrypt(raw))
            return str(token), datetime.fromisoformat(expires)
        except Exception:  # a key rotated away or a damaged entry: log in again
            return None

    def put(self, token: str, expires: datetime) -> str:
        seconds = int((expires - timezone.now()).total_seconds())
        if seconds > 0:
            value = encrypt(json.dumps([token, expires.isoformat()]))
            cache.set(self.cache_key, value, timeout=seconds)
        return token

    def forget(self) -> None:
        cache.delete(self.cache_key)

    def forget_if_holding(self, token: str) -> None:
        """Forget the session if it is still the one the venue refused: one
        another process has just signed in is kept (every process signing in
        again at once is how a login gets locked out)."""
        stored = self.get()
        if stored is not None and token in stored[0]:
            self.forget()


def jwt_expiry(token: str) -> datetime | None:
    """When a JWT says it ends (its `exp`, read unverified), or None."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def send(
    http: httpx.Client, venue: str, method: str, path: str, **request: Any
) -> httpx.Response:
    """One HTTP exchange; a timeout or a connection failure is a transient
    VenueError naming the venue (whether to retry is the caller's to judge: an
    order is looked up before it is placed again).

    Every exchange passes the host's circuit breaker (breaker.py): while the
    venue keeps failing, the call fails at once with a transient
    `venue-circuit-open`, nothing sent; one that takes risk off (inside
    `breaker.exits()`: an exit, a flatten, a cancel) is sent all the same."""
    breaker = Breaker(venue, _host(http, path))
    breaker.admit()
    try:
        response = http.request(method, path, **request)
    except httpx.TimeoutException as exc:
        breaker.record(ok=False)
        timeout = http.timeout.read or 0
        raise VenueError(
            "venue-timeout",
            f"{venue} did not answer {path} within {timeout:g} s.",
            transient=True,
        ) from exc
    except httpx.HTTPError as exc:
        breaker.record(ok=False)
        raise VenueError(
            "venue-unreachable", f"{venue} could not be reached: {exc}.", transient=True
        ) from exc
    breaker.record(ok=response.status_code < 500)
    return response


def _host(http: httpx.Client, path: str) -> str:
    """The host (and port) the exchange goes to: the client's, or the path's
    own when it is a whole URL."""
    url = httpx.URL(path) if "://" in path else http.base_url
    return url.netloc.decode() or "-"


class UnauthorizedError(Exception):
    """401: the venue does not know the token, or it has expired."""


def with_session(
    venue: str,
    tokens: TokenStore,
    token: Callable[[], str],
    sign_in: Callable[[], str],
    exchange: Callable[[str], T],
    *,
    why: str = "",
) -> T:
    """`exchange(token)`; on a 401 the stored session is dropped and a new one
    signed in, once. A new session refused too is a transient `session-expired`
    (`why` says what may cause it at this venue)."""
    refused = token()
    try:
        return exchange(refused)
    except UnauthorizedError:
        tokens.forget_if_holding(refused)
    try:
        return exchange(sign_in())
    except UnauthorizedError:
        raise VenueError(
            "session-expired",
            f"{venue} refused a session it had just given{why}: try again shortly.",
            transient=True,
        ) from None
