"""What every real venue's REST client shares: a session token kept once per
login for every process (encrypted in the cache), and the transport failures
said the same way.

    store = TokenStore("tradovate", login_key)
    store.put(token, expires)        # kept until it expires
    store.get()                      # (token, expires) or None
    response = send(http, "Tradovate", "POST", "/order/placeorder", json=body)
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from django.core.cache import cache
from django.utils import timezone

from brokers.adapters.base import VenueError
from brokers.fields import decrypt, encrypt


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


def send(
    http: httpx.Client, venue: str, method: str, path: str, **request: Any
) -> httpx.Response:
    """One HTTP exchange; a timeout or a connection failure is a transient
    VenueError naming the venue (whether to retry is the caller's to judge: an
    order is looked up before it is placed again)."""
    try:
        return http.request(method, path, **request)
    except httpx.TimeoutException as exc:
        timeout = http.timeout.read or 0
        raise VenueError(
            "venue-timeout",
            f"{venue} did not answer {path} within {timeout:g} s.",
            transient=True,
        ) from exc
    except httpx.HTTPError as exc:
        raise VenueError(
            "venue-unreachable", f"{venue} could not be reached: {exc}.", transient=True
        ) from exc
