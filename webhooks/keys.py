"""Ingest key format: `tfk_` + 43 url-safe characters (256 bits)."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "tfk_"


def key_generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_looks_valid(key: str) -> bool:
    return key.startswith(PREFIX) and 20 <= len(key) <= 80
