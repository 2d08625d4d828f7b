"""Helpers the webhooks pages share: HTMX fragments, the site's address, the user."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control

from accounts.models import User
from billing.whitelabel import webhook_origin
from brokers.fields import decrypt, encrypt
from common.http import site


def page(request: HttpRequest, template: str, fragment: str) -> str:
    """The template, or only its fragment when HTMX asks for a part of the page."""
    return f"{template}#{fragment}" if htmx(request) else template


def htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def webhook_site(request: HttpRequest, workspace_id: int) -> str:
    """Where the workspace's webhook URLs point: its white-label domain, if its
    plan shows one, else this site."""
    return webhook_origin(workspace_id) or site(request)


def tradingview_url(request: HttpRequest, key: str, workspace_id: int) -> str:
    path = reverse("webhook-tradingview-token", kwargs={"token": key})
    return webhook_site(request, workspace_id) + path


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def key_to_show(request: HttpRequest, route: str, pk: int, plain: str) -> HttpResponse:
    """Post/redirect/get for a new key: it waits, encrypted, in the session for
    the one page that shows it (`route`), so a refresh never creates another
    account or key, and shows the key no more."""
    request.session[f"new-key:{route}:{pk}"] = encrypt(plain)
    return redirect(route, pk=pk)


def key_shown(request: HttpRequest, route: str, pk: int) -> str | None:
    """The new key waiting for this page, taken out of the session; None after
    the first look."""
    token = request.session.pop(f"new-key:{route}:{pk}", None)
    return decrypt(token) if token else None


def no_store(response: HttpResponse) -> HttpResponse:
    """A page with a secret on it: no cache keeps it."""
    patch_cache_control(response, no_store=True, private=True)
    return response
