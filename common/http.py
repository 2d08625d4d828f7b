"""Small request helpers shared by views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def origin(request: HttpRequest) -> str:
    """The origin the request came to (scheme, host, port), no slash."""
    return request.build_absolute_uri("/").rstrip("/")


def site(request: HttpRequest) -> str:
    """This instance's public origin (SITE_URL, else the request's), no slash."""
    return settings.SITE_URL or origin(request)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting only the configured number of proxies."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            p.strip()
            for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if p.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# Ids in paths and parameters: 1 to 18 digits always fits a BIGINT column, so an
# id from a client can be looked up without the database refusing the number.
ID_DIGITS = 18


def parse_id(text: object) -> int | None:
    """The id `text` spells (ASCII digits, at most 18), else None."""
    value = str(text)
    if 0 < len(value) <= ID_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None


class IdConverter:
    """`<id:pk>` in a route: like `<int:…>`, but no more digits than an id has
    (a longer number is a 404, not a database error)."""

    regex = f"[0-9]{{1,{ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
