"""The ingest key's format: `tfk_` + 43 url-safe characters (256 bits). Plain
Python (no Django), so log configuration can redact keys before apps load."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "tfk_"
# A key as it can appear in any text: a URL, a body, a log line.
KEY_PATTERN = re.compile(r"tfk_[A-Za-z0-9_\-]{8,}")
REDACTED = "tfk_…redacted"


def key_generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys_redacted(text: str, keep: int = 0) -> str:
    """`text` with every key in it replaced: by REDACTED, or (keep > 0) by its
    first `keep` characters and an ellipsis, which tells keys apart in a log."""
    if PREFIX not in text:
        return text
    if keep:
        return KEY_PATTERN.sub(lambda m: m.group()[:keep] + "…", text)
    return KEY_PATTERN.sub(REDACTED, text)


def key_looks_valid(key: str) -> bool:
    return key.startswith(PREFIX) and 20 <= len(key) <= 80
