"""Clients logged in as a user: Django's for pages, DRF's for the JSON API."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User


def client_for(user: User) -> Client:
    """A browser session of `user`: pages, HTMX fragments, form posts."""
    client = Client()
    client.force_login(user)
    return client


def api_client_for(user: User) -> APIClient:
    """A session of `user` for the JSON API (`.post(url, data, format="json")`)."""
    client = APIClient()
    client.force_login(user)
    return client
