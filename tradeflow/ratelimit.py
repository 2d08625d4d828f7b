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
