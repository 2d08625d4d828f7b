"""Tradovate's OAuth: how a trader connects without an API key of their own.

The trader signs in at Tradovate (`TRADOVATE_OAUTH_URL`, trader.tradovate.com's
`/oauth`) and approves TradeFlow, registered there as an OAuth app
(`TRADOVATE_OAUTH_CLIENT_ID` / `_SECRET`); Tradovate sends them back to our
callback with a one-time `code`, exchanged here (`auth/oauthtoken`,
`TRADOVATE_OAUTH_TOKEN_URL`) for an access token — an ordinary Tradovate token,
renewed like any other (`auth/renewaccesstoken`) — and a refresh token, kept
encrypted with the account, for when the access token is gone.

Source: reference/brokers.md, 2026-12 corrections §1.2 item 2 (the vendor's
example-api-oauth README and the o-auth-token page): the authorize URL's
`response_type=code&client_id&redirect_uri`, the exchange's
`{grant_type, client_id, client_secret, redirect_uri, code}` ->
`{access_token, expires_in}` or `{error, error_description}`, and the schema's
`refresh_token`, `refresh_token_expires_in`. A refresh grant
(`grant_type=refresh_token`) is the OAuth standard's; the docs name the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils import timezone

from brokers.adapters.base import VenueError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grant:
    """What an exchange gives: a token for the API and one to get the next."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str = field(default="", repr=False)


def configured() -> bool:
    """Whether this server is registered at Tradovate as an OAuth app."""
    return bool(
        settings.TRADOVATE_OAUTH_CLIENT_ID and settings.TRADOVATE_OAUTH_CLIENT_SECRET
    )


def authorize_url(*, state: str, redirect_uri: str) -> str:
    query = {
        "response_type": "code",
        "client_id": settings.TRADOVATE_OAUTH_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{settings.TRADOVATE_OAUTH_URL}?{urlencode(query)}"


def exchange_code(*, code: str, redirect_uri: str) -> Grant:
    """The `code` Tradovate sent the trader back with, for a grant."""
    return _token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    )


def refresh(refresh_token: str) -> Grant:
    """A new grant from a refresh token (which may rotate)."""
    if not refresh_token:
        raise _reconnect()
    grant = _token({"grant_type": "refresh_token", "refresh_token": refresh_token})
    if not grant.refresh_token:  # not rotated: the old one still serves
        return Grant(grant.access_token, grant.expires_at, refresh_token)
    return grant


def user_name(api_base: str, access_token: str) -> str:
    """Who a grant is for: the user's name, from `auth/me` at the environment."""
    try:
        response = httpx.get(
            api_base.rstrip("/") + "/auth/me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.TRADOVATE_TIMEOUT_SECONDS,
        )
        me = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        me = {}
    name = str(me.get("name") or "") if isinstance(me, dict) else ""
    if not name:
        raise VenueError(
            "login-failed", "Tradovate's sign-in did not say whose it is; try again."
        )
    return name


def _token(body: dict[str, str]) -> Grant:
    body = {
        **body,
        "client_id": str(settings.TRADOVATE_OAUTH_CLIENT_ID),
        "client_secret": str(settings.TRADOVATE_OAUTH_CLIENT_SECRET),
    }
    try:
        response = httpx.post(
            settings.TRADOVATE_OAUTH_TOKEN_URL,
            json=body,
            timeout=settings.TRADOVATE_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise VenueError(
            "venue-timeout",
            "Tradovate did not answer the sign-in in time; try again.",
            transient=True,
        ) from exc
    if response.status_code >= 500:
        raise VenueError(
            "venue-error",
            f"Tradovate failed on the sign-in ({response.status_code}).",
            transient=True,
        )
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if answer.get("error") or "access_token" not in answer:
        reason = str(answer.get("error_description") or answer.get("error") or "")
        log.info("tradovate oauth %s refused: %s", body["grant_type"], reason)
        if body["grant_type"] == "refresh_token":
            raise _reconnect()
        raise VenueError(
            "login-failed",
            f"Tradovate refused the sign-in: {reason or 'no reason given'}.",
        )
    seconds = int(answer.get("expires_in") or settings.TRADOVATE_TOKEN_MINUTES * 60)
    return Grant(
        str(answer["access_token"]),
        timezone.now() + timedelta(seconds=seconds),
        str(answer.get("refresh_token") or ""),
    )


def _reconnect() -> VenueError:
    return VenueError(
        "reconnect-needed",
        "Tradovate's sign-in for this account has ended: connect it again with "
        "Tradovate (Accounts > Connect Tradovate).",
    )
