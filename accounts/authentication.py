"""HTTP Basic for API clients (curl, scripts), with limits on wrong passwords.

Sessions serve the browser; Basic lets the seed's curl workflows run with
`-u email:password`. Wrong passwords are counted per address and per account, so
the API is no faster a way to guess a password than the login form, and a
limited client is told when to come back (401 with `Retry-After`). Basic comes
first among the authenticators, so an anonymous API request is a 401 with a
`WWW-Authenticate` challenge, not a 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from common.http import client_ip
from common.ratelimit import rate_hit, rate_peek


class SignInsLimited(AuthenticationFailed):
    """Too many wrong passwords: a 401 that says when to try again."""

    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(f"Too many failed sign-ins {who}: try again later.")
        self.retry_after = max(retry_after, 1)


class ThrottledBasicAuthentication(BasicAuthentication):
    def authenticate(self, request: Request) -> Any:
        limit = settings.API_BASIC_AUTH_FAILURES_PER_MINUTE
        buckets = {
            f"basic-fail:{client_ip(request._request)}": "from this address",
        }
        email = _basic_email(request)
        if email:
            buckets[f"basic-fail-user:{email.lower()[:254]}"] = "for this account"
        for bucket, who in buckets.items():
            peek = rate_peek(bucket, limit)
            if not peek.allowed:
                raise SignInsLimited(peek.retry_after, who)
        try:
            found = super().authenticate(request)
        except AuthenticationFailed:
            for bucket in buckets:
                rate_hit(bucket, limit)
            raise
        if found is not None:
            from accounts.mfa import mfa_required

            if mfa_required(found[0]):
                # A password alone must not open an account that has a second
                # factor: such accounts use a JWT login or an API token.
                raise TokenRefused(
                    "mfa-required",
                    "This account signs in with two factors: use POST "
                    "/api/v1/auth/login or an API token instead of a password.",
                )
        return found


def _basic_email(request: Request) -> str | None:
    """The user name of a Basic header, read without checking anything."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.partition(":")[0] or None


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema says the API takes HTTP Basic (defining it registers it)."""

    target_class = "accounts.authentication.ThrottledBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tft_…` (or `Token tft_…`): a script's scoped token.

    Other bearer values (the webhook keys, `tfk_…`) are not ours: left alone."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from accounts.tokens import PREFIX, token_check

        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        value = value.strip()
        if scheme.lower() not in ("bearer", "token") or not value.startswith(PREFIX):
            return None
        token = token_check(value)
        if token is None:
            raise AuthenticationFailed("This API token is unknown, expired or revoked.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A scoped API token (tft_…) from the API tokens page.",
        }


class SessionJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <JWT>` from `/api/v1/auth/login`: the token must
    belong to a live session (not logged out, terminated or reused) and to the
    user's current password. Bearer values that are not JWTs (`tft_` API tokens,
    `tfk_` webhook keys) are left to their own authenticators."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from accounts.auth_sessions import AuthRefused, session_for_access

        header = self.get_header(request)
        raw = self.get_raw_token(header) if header is not None else None
        if raw is None or raw.count(b".") != 2 or raw.startswith((b"tft_", b"tfk_")):
            return None
        try:
            token = self.get_validated_token(raw)
        except InvalidToken:
            raise TokenRefused(
                "token-invalid", "This access token is invalid or has expired."
            ) from None
        try:
            session = session_for_access(token)
        except AuthRefused as exc:
            raise TokenRefused(exc.code, exc.message) from None
        return session.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenRefused(AuthenticationFailed):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.tradeflow_code = code


class SessionJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/login.",
        }
