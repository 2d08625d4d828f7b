"""Signal receivers: a new user gets a workspace of their own; browser sign-ins
are listed beside the API sessions."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.auth_sessions import (
    browser_session_forget,
    browser_session_note,
    credentials_revoke,
)
from accounts.models import User, password_changed
from accounts.services import user_ensure_workspace


@receiver(user_signed_up)
def create_workspace_on_signup(
    sender: Any, request: HttpRequest, user: User, **kwargs: Any
) -> None:
    user_ensure_workspace(user=user)


@receiver(user_logged_in)
def note_browser_session(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    if request is not None and hasattr(request, "session"):
        browser_session_note(user=user, request=request)


@receiver(user_logged_out)
def forget_browser_session(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        browser_session_forget(session_key=key)


@receiver(password_changed)
def revoke_old_credentials(sender: Any, user: User, **kwargs: Any) -> None:
    credentials_revoke(user=user)
