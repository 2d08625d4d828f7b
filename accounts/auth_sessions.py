"""Signed-in devices: JWT refresh families for API clients, and the browser
sessions beside them, listed and ended one by one.

    tokens = session_open(user=user, request=request, device=device)
    tokens = session_refresh(raw=refresh_token)      # rotates; a reuse ends the family
    session_end(user=user, session_id=sid, reason=AuthSession.Ended.LOGOUT)

An access token names its session (`sid`) and the password it was issued under
(`pwd`); the authentication class checks both on every request, so a logout, a
terminate or a password change ends the session's tokens at once, not at expiry.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ApiToken, AuthSession, Membership, User
from accounts.permissions import ROLE_PERMISSIONS
from common.http import client_ip

log = logging.getLogger(__name__)


class AuthRefused(Exception):  # noqa: N818 - a refusal, not a failure
    """A token or session that cannot be used: `code` says which way."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


@dataclass(frozen=True)
class Device:
    """What a client says about itself at login (seed 004's `device_info`)."""

    ip_address: str = ""
    user_agent: str = ""
    device_type: str = ""


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str
    expires_in: int
    session: AuthSession


def auth_hash(user: User) -> str:
    """A fingerprint of the user's password: it changes when the password does."""
    return user.get_session_auth_hash()[:16]


def user_context(user: User) -> dict[str, Any]:
    """Seed 004's `user_context`: the role where the user works (their first
    workspace) and what it allows, with every workspace and its role beside it."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("workspace")
        .order_by("workspace_id")
    )
    role = memberships[0].role if memberships else ""
    permissions = sorted(ROLE_PERMISSIONS.get(role, frozenset()))
    return {
        "user_id": str(user.pk),
        "username": user.email,
        "role": role,
        "permissions": permissions,
        "is_staff": user.is_staff,
        "workspaces": [
            {"id": str(m.workspace_id), "name": m.workspace.name, "role": m.role}
            for m in memberships
        ],
    }


def _issue(session: AuthSession, user: User) -> tuple[str, str, datetime]:
    refresh = RefreshToken.for_user(user)
    refresh["sid"] = session.id
    refresh["pwd"] = session.auth_hash
    expires = datetime.fromtimestamp(int(refresh["exp"]), tz=UTC)
    session.refresh_jti = str(refresh[jwt_settings.JTI_CLAIM])
    return str(refresh.access_token), str(refresh), expires


def _tokens(session: AuthSession, access: str, refresh: str) -> Tokens:
    lifetime = jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()
    return Tokens(access, refresh, int(lifetime), session)


def session_open(*, user: User, request: HttpRequest, device: Device) -> Tokens:
    """A new JWT session for `user` (their password already checked), with the
    address the request came from beside the one the client claims."""
    now = timezone.now()
    session = AuthSession(
        id=secrets.token_hex(16),
        user=user,
        kind=AuthSession.Kind.API,
        auth_hash=auth_hash(user),
        ip_address=client_ip(request) or None,
        claimed_ip=device.ip_address[:45],
        user_agent=(device.user_agent or request.META.get("HTTP_USER_AGENT", ""))[:300],
        device_type=device.device_type[:40],
        created_at=now,
        last_used_at=now,
    )
    access, refresh, session.expires_at = _issue(session, user)
    session.save(force_insert=True)
    User.objects.filter(pk=user.pk).update(last_login=now)
    log.info("jwt session %s opened for user %s", session.id[:8], user.pk)
    return _tokens(session, access, refresh)


def session_refresh(*, raw: str) -> Tokens:
    """New tokens for a refresh token, rotating it: the one presented is spent.

    Presenting a spent refresh token again means two parties hold it (a copy was
    taken): the whole family ends, and both must sign in again. The rotation is
    a guarded update, so of two refreshes racing with one token exactly one wins
    and the other counts as the reuse it is."""
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError:
        raise AuthRefused(
            "token-invalid", "This refresh token is invalid or has expired."
        ) from None
    sid, jti = str(token.get("sid", "")), str(token.get(jwt_settings.JTI_CLAIM, ""))
    session = AuthSession.objects.select_related("user").filter(pk=sid).first()
    if session is None or session.ended_at is not None:
        raise AuthRefused("session-ended", "This session has ended: sign in again.")
    user = session.user
    if not user.is_active or token.get("pwd") != auth_hash(user):
        _end(session, AuthSession.Ended.PASSWORD)
        raise AuthRefused("session-ended", "This session has ended: sign in again.")
    spent = session.refresh_jti
    access, refresh, expires = _issue(session, user)
    rotated = AuthSession.objects.filter(pk=sid, refresh_jti=jti, ended_at=None).update(
        refresh_jti=session.refresh_jti, last_used_at=timezone.now(), expires_at=expires
    )
    if not rotated:
        session.refresh_jti = spent
        _end(session, AuthSession.Ended.REUSE)
        log.warning("jwt session %s: a spent refresh token came back", sid[:8])
        raise AuthRefused(
            "refresh-reused",
            "This refresh token was already used: the session is ended for safety. "
            "Sign in again.",
        )
    session.expires_at = expires
    return _tokens(session, access, refresh)


def _end(session: AuthSession, reason: str) -> bool:
    ended = AuthSession.objects.filter(pk=session.pk, ended_at=None).update(
        ended_at=timezone.now(), ended_reason=reason
    )
    if session.session_key:
        Session.objects.filter(session_key=session.session_key).delete()
    return bool(ended)


def session_end(*, user: User, session_id: str, reason: str) -> bool:
    """End one of `user`'s sessions (a browser one is logged out too). False if
    it had already ended; AuthSession.DoesNotExist for anyone else's."""
    session = AuthSession.objects.get(pk=session_id, user=user)
    ended = _end(session, reason)
    if ended:
        log.info("session %s of user %s ended: %s", session_id[:8], user.pk, reason)
    return ended


def session_for_access(payload: Any) -> AuthSession:
    """The live session an access token belongs to, or AuthRefused."""
    session = (
        AuthSession.objects.select_related("user")
        .filter(pk=str(payload.get("sid", "")), ended_at=None)
        .first()
    )
    if session is None or session.expires_at <= timezone.now():
        raise AuthRefused("session-ended", "This session has ended: sign in again.")
    user = session.user
    if not user.is_active or payload.get("pwd") != auth_hash(user):
        raise AuthRefused("session-ended", "This session has ended: sign in again.")
    now = timezone.now()
    if (now - session.last_used_at).total_seconds() > 60:
        AuthSession.objects.filter(pk=session.pk).update(last_used_at=now)
    return session


def sessions_active(user: User) -> QuerySet[AuthSession]:
    """The user's sessions that can still be used: not ended, not expired, and
    (browser ones) still known to Django under the current password."""
    now = timezone.now()
    live_keys = Session.objects.filter(expire_date__gt=now).values("session_key")
    return AuthSession.objects.filter(
        Q(kind=AuthSession.Kind.API)
        | Q(kind=AuthSession.Kind.BROWSER, session_key__in=live_keys),
        user=user,
        ended_at=None,
        expires_at__gt=now,
        auth_hash=auth_hash(user),
    ).order_by("-created_at")


def browser_session_note(*, user: User, request: HttpRequest) -> None:
    """Record a browser sign-in so it is listed beside the API sessions."""
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key or ""
    now = timezone.now()
    AuthSession.objects.create(
        id=secrets.token_hex(16),
        user=user,
        kind=AuthSession.Kind.BROWSER,
        session_key=key,
        auth_hash=auth_hash(user),
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        device_type="",
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )


def browser_session_forget(*, session_key: str) -> None:
    AuthSession.objects.filter(session_key=session_key, ended_at=None).update(
        ended_at=timezone.now(), ended_reason=AuthSession.Ended.LOGOUT
    )


@transaction.atomic
def credentials_revoke(*, user: User) -> None:
    """After a password change: every JWT session and every API token of the
    user ends (whoever learnt the old password may have made them). Browser
    sessions end by Django's own check of the same fingerprint."""
    now = timezone.now()
    sessions = AuthSession.objects.filter(user=user, ended_at=None).exclude(
        auth_hash=auth_hash(user)
    )
    ended = sessions.update(ended_at=now, ended_reason=AuthSession.Ended.PASSWORD)
    revoked = ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=now)
    if ended or revoked:
        log.info(
            "password of user %s changed: %s sessions ended, %s API tokens revoked",
            user.pk,
            ended,
            revoked,
        )
