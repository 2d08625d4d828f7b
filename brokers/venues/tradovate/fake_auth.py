"""The fake Tradovate's `auth/*` endpoints: sign-in, renewal and `auth/me`.

A login with a user's name and password (and, where the user has an API key, its
`cid` and `sec`) is given an access token and a market-data token; renewing gives
fresh ones. The OAuth pages (fake_oauth.py) issue their tokens here too.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from .fake_market import FakeMarket
from .fake_world import FakeUser, _int, _iso, _now

WRONG_LOGIN = "Incorrect username or password. Please try again."
PASSWORD_DAYS = 90


class AuthEndpoints(FakeMarket):
    """`auth/accesstokenrequest`, `auth/renewaccesstoken` and `auth/me`."""

    def _issue(self, user: FakeUser) -> dict[str, Any]:
        now = _now()
        expires = now + timedelta(seconds=self.knobs.token_seconds)
        token = secrets.token_urlsafe(48)
        md_token = secrets.token_urlsafe(48)
        self.tokens[token] = (user.name, expires)
        self.md_tokens.add(md_token)
        return {
            "accessToken": token,
            "mdAccessToken": md_token,
            "expirationTime": _iso(expires),
            "passwordExpirationTime": _iso(now + timedelta(days=PASSWORD_DAYS)),
            "userStatus": "Active",
            "userId": user.id,
            "name": user.name,
            "hasLive": False,
        }

    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self.users.get(str(body.get("name") or ""))
            if user is None or body.get("password") != user.password:
                return {"errorText": WRONG_LOGIN}
            if user.sec and (
                str(body.get("sec") or "") != user.sec
                or _int(body.get("cid")) != user.cid
            ):
                return {"errorText": WRONG_LOGIN}
            return self._issue(user)

    def ep_renew(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        return self._issue(user)

    def ep_me(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        return {
            "userId": user.id,
            "name": user.name,
            "fullName": user.name,
            "email": f"{user.name}@example.com",
            "emailVerified": True,
            "isTrial": False,
        }
