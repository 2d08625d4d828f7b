"""Fixed-window rate limits in Redis, shared by every web process."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    retry_after: int


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5)


def _key(bucket: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    window_start = now - now % window
    return f"rl:{bucket}:{window_start}", window_start + window - now


def rate_peek(bucket: str, limit: int, window: int = 60) -> RateResult:
    """Whether `bucket` is still under `limit`, without counting a hit."""
    key, left = _key(bucket, window)
    try:
        count = int(_client().get(key) or 0)
    except redis.RedisError:
        return RateResult(True, 0)
    return RateResult(count < limit, 0 if count < limit else left)


def rate_hit(bucket: str, limit: int, window: int = 60) -> RateResult:
    """Count one hit in `bucket`; refuse past `limit` per `window` seconds.

    Fails open when Redis is unreachable: a lost rate limit beats a lost alert.
    """
    now = int(time.time())
    window_start = now - now % window
    key = f"rl:{bucket}:{window_start}"
    try:
        pipe = _client().pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        log.warning("rate limiter unavailable; allowing %s", bucket)
        return RateResult(True, 0)
    if count > limit:
        return RateResult(False, window_start + window - now)
    return RateResult(True, 0)


@dataclass(frozen=True)
class Window:
    """One bucket's window as it counts now."""

    bucket: str
    started: int  # epoch seconds
    count: int
    ttl: int  # seconds Redis still keeps it


def rate_windows() -> list[Window]:
    """Every window counting in Redis now, whatever its bucket (the metrics
    page): read only; empty when Redis does not answer. Marks that are not
    windows (`first_within`'s, a venue breaker's hash) are left out."""
    try:
        client = _client()
        keys = [
            key
            for key in client.scan_iter("rl:*", count=1000)
            if not key.startswith(b"rl:once:")
        ]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        answers = pipe.execute(raise_on_error=False) if keys else []
    except redis.RedisError:
        log.warning("rate limiter unavailable; no windows read")
        return []
    found = []
    for key, count, ttl in zip(keys, answers[::2], answers[1::2], strict=True):
        bucket, _, started = key.decode()[3:].rpartition(":")
        if started.isdigit() and isinstance(count, bytes) and count.isdigit():
            found.append(Window(bucket, int(started), int(count), int(ttl)))
    return found


class StoreUnavailable(Exception):  # noqa: N818 - a condition, not a failure
    """Redis did not answer: the caller decides without it."""


def first_within(bucket: str, seconds: int) -> str | None:
    """Mark `bucket` seen for `seconds`; None the first time, else what was noted.

    Atomic (SET NX), so of many concurrent callers exactly one sees None; SET and
    GET go in one round trip. Raises StoreUnavailable when Redis does not answer.
    """
    key = f"rl:once:{bucket}"
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.set(key, "", nx=True, ex=seconds)
        pipe.get(key)
        first, seen = pipe.execute()
    except redis.RedisError:
        log.warning("dedupe store unavailable; the database decides %s", bucket)
        raise StoreUnavailable from None
    if first:
        return None
    return (
        ""
        if seen is None
        else str(seen, "utf-8")
        if isinstance(seen, bytes)
        else str(seen)
    )


def note_within(bucket: str, value: str) -> None:
    """Attach `value` to a `first_within` mark, keeping its expiry."""
    try:
        _client().set(f"rl:once:{bucket}", value, xx=True, keepttl=True)
    except redis.RedisError:
        log.warning("dedupe store unavailable; %s not noted", bucket)
