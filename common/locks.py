"""Session-level advisory locks: held by a live process, gone when it dies.

A worker killed mid-execution leaves its rows in a non-final state but releases
its PostgreSQL session, so whoever takes the lock next knows the work is abandoned
and can resume it at once, without waiting for a timeout. On SQLite (`make run`
without PostgreSQL) there is no such lock: callers fall back to a staleness rule.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Held:
    acquired: bool
    exclusive: bool  # False: no advisory locks on this database; only `acquired`


def _key(namespace: str, ident: int) -> tuple[int, int]:
    return zlib.crc32(namespace.encode()) - 2**31, ident % 2**31


@contextmanager
def advisory_lock(namespace: str, ident: int, *, wait: float = 0) -> Iterator[Held]:
    """Hold ("namespace", ident) for the block; wait up to `wait` seconds for it."""
    if connection.vendor != "postgresql":
        yield Held(acquired=True, exclusive=False)
        return
    first, second = _key(namespace, ident)
    deadline = time.monotonic() + wait
    delay = 0.002
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [first, second])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                yield Held(acquired=False, exclusive=True)
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    try:
        yield Held(acquired=True, exclusive=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [first, second])


def advisory_lock_free(namespace: str, ident: int) -> bool:
    """Whether nobody holds the lock now (True on databases without them)."""
    with advisory_lock(namespace, ident) as held:
        return held.acquired
