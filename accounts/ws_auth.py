"""Websocket sign-in with a JWT, for API clients (seed 004's `/ws/{user_id}`).

Browsers bring their session cookie (Channels' AuthMiddleware). Programs bring
the access token from `/api/v1/auth/login`, as `?token=<jwt>` or as the
subprotocol pair `Sec-WebSocket-Protocol: bearer, <jwt>` (which keeps it out of
access logs). A token that does not check out leaves the connection anonymous,
and the consumer refuses it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.auth_sessions import AuthRefused, session_for_access


def _token(scope: dict[str, Any]) -> str | None:
    protocols = scope.get("subprotocols") or []
    if len(protocols) == 2 and protocols[0].lower() == "bearer":
        return str(protocols[1])
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token") or query.get("access_token")
    return values[0] if values else None


@database_sync_to_async
def _user(raw: str) -> Any:
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]
        return session_for_access(token).user
    except (TokenError, AuthRefused):
        return AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    """After Channels' AuthMiddleware: a JWT, when given, decides the user."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        raw = _token(scope)
        if raw is not None and len(raw) < 4096:
            scope = {**scope, "user": await _user(raw), "jwt": True}
        return await super().__call__(scope, receive, send)
