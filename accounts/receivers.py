"""Signal receivers: a new user gets a workspace of their own."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.services import user_ensure_workspace


@receiver(user_signed_up)
def create_workspace_on_signup(
    sender: Any, request: HttpRequest, user: User, **kwargs: Any
) -> None:
    user_ensure_workspace(user=user)
