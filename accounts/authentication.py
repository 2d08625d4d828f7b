"""HTTP Basic for API clients (curl, scripts), with a limit on wrong passwords.

Sessions serve the browser; Basic lets the seed's curl workflows run with
`-u email:password`. Failed attempts are counted per address, so the API is no
faster a way to guess passwords than the login form.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from common.http import client_ip
from common.ratelimit import rate_hit, rate_peek


class ThrottledBasicAuthentication(BasicAuthentication):
    def authenticate(self, request: Request) -> Any:
        bucket = f"basic-fail:{client_ip(request._request)}"
        limit = settings.API_BASIC_AUTH_FAILURES_PER_MINUTE
        if not rate_peek(bucket, limit).allowed:
            raise Throttled(detail="Too many failed sign-ins from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            rate_hit(bucket, limit)
            raise


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema says the API takes HTTP Basic (defining it registers it)."""

    target_class = "accounts.authentication.ThrottledBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}
