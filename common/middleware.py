"""Request checks that come before any view."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
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


# --- Content-Security-Policy --------------------------------------------------------
# Our pages load only their own scripts and styles (htmx vendored, no inline script,
# no inline style); the websocket goes back to the same host. Images may come from
# any https origin: a white-label workspace's logo is its own URL. The admin keeps
# Django's own inline styles.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_CSP_ADMIN = _CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def policy_with_form_action(origin: str) -> str:
    """The policy, letting a form of the page lead to `origin` too (a venue's
    OAuth sign-in, Stripe's Checkout: form-action also governs where a form's
    redirect may go). `origin` may name several, space-separated."""
    return _CSP.replace("form-action 'self'", f"form-action 'self' {origin}")


def _with_policy(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if "Content-Security-Policy" not in response:
        admin = request.path.startswith("/admin/")
        response["Content-Security-Policy"] = _CSP_ADMIN if admin else _CSP
    return response


@sync_and_async_middleware
def content_security_policy(get_response: Handler) -> Handler:
    """Every answer carries the policy: an injected script has nowhere to run."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(request, await get_response(request))

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        return _with_policy(request, get_response(request))

    return sync_middleware


# --- Idle sessions --------------------------------------------------------------------
_SEEN = "_seen_at"


def _idle_check(request: HttpRequest) -> None:
    """Log out a browser session left alone longer than SESSION_IDLE_SECONDS.

    The last-seen time is written at most once a minute, so the dashboard's
    fragment refreshes do not write a session row each."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return
    now = time.time()
    seen = request.session.get(_SEEN)
    if isinstance(seen, int | float) and now - seen > settings.SESSION_IDLE_SECONDS:
        logout(request)
        return
    if not isinstance(seen, int | float) or now - seen >= 60:
        request.session[_SEEN] = int(now)


def idle_sessions(get_response: Handler) -> Handler:
    """After AuthenticationMiddleware: an idle session is a logged-out one."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        _idle_check(request)
        response: HttpResponseBase = get_response(request)
        return response

    return middleware
