"""Request checks that come before any view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from common.api import error_response

Handler = Callable[[HttpRequest], Any]


def _has_nul(request: HttpRequest) -> bool:
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )


def _refusal() -> HttpResponseBase:
    return error_response(
        "invalid-parameter",
        "The address holds a NUL character (%00), which no route takes.",
        400,
    )


@sync_and_async_middleware
def refuse_nul(get_response: Handler) -> Handler:
    """A NUL in the path or a query parameter is a 400 before any view: no route
    takes one, and PostgreSQL text cannot hold one (it was a 500 in filters)."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            if _has_nul(request):
                return _refusal()
            response: Awaitable[HttpResponseBase] = get_response(request)
            return await response

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        if _has_nul(request):
            return _refusal()
        response: HttpResponseBase = get_response(request)
        return response

    return sync_middleware
