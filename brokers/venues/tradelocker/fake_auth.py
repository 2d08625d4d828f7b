"""The fake TradeLocker's `/auth/jwt/*` endpoints, and whose a bearer token is.

Sign-in with e-mail, password and server; refresh (both tokens rotate, the old
refresh token stops working); the user's accounts. Tokens are JWT-shaped and
checked by lookup, not by signature (fake.py's "Assumed" list).
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from .fake_market import FakeMarket
from .fake_world import FakeAccount, FakeUser, _now, _Token

INVALID_CREDENTIALS = "Invalid credentials"


def _iso(at: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(email: str, expires: datetime, kind: str) -> str:
    """A JWT-shaped token: a client may read `exp` from it, unverified."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "sub": email,
        "type": kind,
        "iat": int(_now().timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return ".".join(
        (
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(payload).encode()),
            _b64(secrets.token_bytes(32)),
        )
    )


class AuthEndpoints(FakeMarket):
    """/auth/jwt/*, and the user behind the bearer token of a /trade/* call."""

    def _issue(self, user: FakeUser) -> dict[str, Any]:
        now = _now()
        expires = now + timedelta(seconds=self.knobs.token_seconds)
        refresh_expires = now + timedelta(seconds=self.knobs.refresh_seconds)
        key = user.email.strip().lower()
        access = _jwt(key, expires, "access")
        refresh = _jwt(key, refresh_expires, "refresh")
        self.access_tokens[access] = _Token(key, expires)
        self.refresh_tokens[refresh] = _Token(key, refresh_expires)
        return {
            "accessToken": access,
            "refreshToken": refresh,
            "expireDate": _iso(expires),
        }

    def login(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            user = self.users.get(str(body.get("email") or "").strip().lower())
            if (
                user is None
                or str(body.get("password") or "") != user.password
                or str(body.get("server") or "") != user.server
            ):
                return 400, {"s": "error", "errmsg": INVALID_CREDENTIALS}
            return 201, self._issue(user)

    def refresh(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            held = self.refresh_tokens.pop(str(body.get("refreshToken") or ""), None)
            user = self.users.get(held.email) if held else None
            if held is None or held.expires <= _now() or user is None:
                return 401, {"s": "error", "errmsg": "Invalid refresh token"}
            return 201, self._issue(user)

    def _token_user(self, headers: dict[str, str]) -> tuple[str, FakeUser] | None:
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            return None
        token = value[len("bearer ") :].strip()
        with self.lock:
            held = self.access_tokens.get(token)
            if held is None or held.expires <= _now():
                return None
            user = self.users.get(held.email)
            return (token, user) if user is not None else None

    def _mine(self, user: FakeUser) -> list[FakeAccount]:
        key = user.email.strip().lower()
        return [a for a in self.accounts.values() if a.email == key]

    def all_accounts(self, user: FakeUser) -> dict[str, Any]:
        with self.lock:
            return {"accounts": [a.listed() for a in self._mine(user)]}
