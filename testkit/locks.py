"""Test helpers for signals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

from common.locks import _key


@contextmanager
def held_elsewhere(namespace: str, ident: int) -> Iterator[None]:
    """Hold an advisory lock from another session, as a live worker would."""
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        password=params.get("password"),
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", _key(namespace, ident))
        yield


def someone_waits_on_a_row_lock() -> bool:
    """Another session of this database is blocked on a lock (a worker recording
    a row the test holds FOR UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
        return bool(row and row[0])
