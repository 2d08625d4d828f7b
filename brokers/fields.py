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


class EncryptedTextField(models.TextField):
    """Stores Fernet tokens; Python code sees plain text. Never rendered by the API."""

    def from_db_value(self, value: str | None, *args: Any) -> str | None:
        return decrypt(value) if value else None

    def get_prep_value(self, value: Any) -> str | None:
        if value in (None, ""):
            return value
        return encrypt(str(value))


class MoneyField(models.DecimalField):
    """Money and prices: 20 digits, 6 after the point."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 6)
        super().__init__(*args, **kwargs)


class QuantityField(models.DecimalField):
    """Quantities (contracts, lots, coins): 20 digits, 8 after the point."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 8)
        super().__init__(*args, **kwargs)
