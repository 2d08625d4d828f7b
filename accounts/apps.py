from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and workspaces"

    def ready(self) -> None:
        from accounts import mfa, receivers  # noqa: F401  (connect allauth's signals)
