"""Helpers the webhooks pages share: HTMX fragments, the site's address, the user."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User


def page(request: HttpRequest, template: str, fragment: str) -> str:
    """The template, or only its fragment when HTMX asks for a part of the page."""
    return f"{template}#{fragment}" if htmx(request) else template


def htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def site(request: HttpRequest) -> str:
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def tradingview_url(request: HttpRequest, key: str) -> str:
    path = reverse("webhook-tradingview-token", kwargs={"token": key})
    return site(request) + path


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user
