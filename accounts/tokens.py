"""API tokens for scripts: issue, check, revoke.

A token is `tft_` + 43 URL-safe characters (256 bits). It is shown once; the
database keeps its SHA-256 and its first characters."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import ApiToken, TokenScope, User

log = logging.getLogger(__name__)

PREFIX = "tft_"
# What each scope includes.
SCOPES_INCLUDED = {
    TokenScope.READ: {TokenScope.READ},
    TokenScope.TRADE: {TokenScope.READ, TokenScope.TRADE},
    TokenScope.ADMIN: {TokenScope.READ, TokenScope.TRADE, TokenScope.ADMIN},
}
EXPIRY_CHOICES = (7, 30, 90, 365)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(
    *, user: User, name: str, scope: str, days: int
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token, which is not kept."""
    if scope not in TokenScope.values:
        raise ValueError(f"unknown scope {scope!r}")
    active = ApiToken.objects.filter(
        user=user, revoked_at=None, expires_at__gt=timezone.now()
    ).count()
    if active >= settings.API_TOKENS_PER_USER:
        raise TooManyTokensError(settings.API_TOKENS_PER_USER)
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:80] or "Script",
        scope=scope,
        prefix=plain[:10],
        token_hash=token_hash(plain),
        expires_at=timezone.now() + timedelta(days=days),
    )
    log.info("api token %s issued to user %s (%s)", token.prefix, user.pk, scope)
    return token, plain


def token_check(plain: str) -> ApiToken | None:
    """The active token `plain` names, or None (unknown, revoked, expired)."""
    if not plain.startswith(PREFIX) or len(plain) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(plain))
        .first()
    )
    if token is None or not token.is_active() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s tokens (ApiToken.DoesNotExist for anyone else's)."""
    token = ApiToken.objects.get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        log.info("api token %s revoked by user %s", token.prefix, user.pk)
    return token


def scope_allows(scope: str, needed: str) -> bool:
    return needed in SCOPES_INCLUDED.get(TokenScope(scope), set())


class TooManyTokensError(Exception):
    def __init__(self, limit: int) -> None:
        self.message = f"You have {limit} active tokens, the most: revoke one first."
        super().__init__(self.message)
