from __future__ import annotations

from cryptography.fernet import Fernet
from django.db import connection

from brokers.fields import _fernet
from brokers.models import BrokerAccount


def test_credentials_are_encrypted_at_rest_and_keys_rotate(world, settings):
    account = world.account
    account.credentials = "apikey-123-very-secret"
    account.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "select credentials from brokers_brokeraccount where id = %s", [account.pk]
        )
        stored = cursor.fetchone()[0]
    assert "very-secret" not in stored
    assert (
        BrokerAccount.objects.get(pk=account.pk).credentials == "apikey-123-very-secret"
    )

    # Rotation: a new key goes first; rows written with the old one still decrypt.
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    _fernet.cache_clear()
    try:
        assert (
            BrokerAccount.objects.get(pk=account.pk).credentials
            == "apikey-123-very-secret"
        )
    finally:
        _fernet.cache_clear()
