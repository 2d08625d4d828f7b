"""Clients logged in as a user: Django's for pages, DRF's for the JSON API; and
an httpx transport into the test's own Django."""

from __future__ import annotations

import httpx
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


class InProcess(httpx.BaseTransport):
    """An httpx transport into this process's Django, through its test client:
    a program that speaks HTTP (a fake Expert Advisor) talks to the server on the
    test's own transaction, one request at a time, in the test's thread."""

    def __init__(self) -> None:
        self.client = Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in {"host", "content-length", "content-type"}
        }
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query.decode()
        answer = self.client.generic(
            request.method,
            path,
            data=request.read(),
            content_type=request.headers.get("content-type", "application/json"),
            headers=headers,
        )
        return httpx.Response(
            answer.status_code,
            headers=dict(answer.items()),
            content=answer.content,
            request=request,
        )
