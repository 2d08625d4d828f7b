"""An encrypted text field for broker credentials (MultiFernet, rotatable keys)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "Stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS."
        ) from None


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Stores Fernet tokens; Python code sees plain text. Never rendered by the API."""

    def from_db_value(self, value: str | None, *args: Any) -> str | None:
        return None if value in (None, "") else decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value in (None, ""):
            return value
        return encrypt(str(value))
